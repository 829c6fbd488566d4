/**
 * The matrix's view of the shared intrinsic resolver (`assembly/`): templates resolve in one fixed
 * environment under the cloud naming policy (logical ids as names, regional queue URLs, UUID-shaped
 * key ids, and an error for anything without a rule), so policies reach the simulator as they will
 * exist after deployment, and a guess never decides a case.
 */
import { busNameOf, cloudNaming, CfnResource, CfnTemplate, StackResolver, TemplateError } from '../../../assembly';

export type { CfnResource, CfnTemplate };

/** The account, region and partition the template is resolved for. */
export interface Environment {
  readonly account: string;
  readonly region: string;
  readonly partition: string;
  readonly stackName: string;
}

export const TEST_ENV: Environment = {
  account: '111111111111',
  region: 'us-east-1',
  partition: 'aws',
  stackName: 'LoanEvents',
};

/** What the resolver throws when a value cannot be resolved. */
export const UnresolvableError = TemplateError;

export class Resolver extends StackResolver {
  constructor(template: CfnTemplate, env: Environment = TEST_ENV) {
    super({ stackName: env.stackName, template }, { naming: cloudNaming, defaults: env, imports: 'error' });
  }

  /** Name of a bus given as a name, an ARN or a Ref. */
  public busName(value: unknown): string {
    return busNameOf(this.str(value));
  }
}
