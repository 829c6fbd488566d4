/**
 * The synthesized app as the `access` command reads it: every stack of the cloud assembly,
 * resolved with the cloud naming policy (the names and ARNs the IAM tests check), its policies
 * compiled once into the store the runtime enforces, and the resources the surface asks about.
 */
import { Assembly, cloudNaming, policiesOf, TemplateError, type PolicyModel } from '../../assembly';
import { compilePolicyStore, type CompiledPolicyStore } from '../../iam';
import { appPrefix } from '../app-names';
import { UsageError } from '../errors';

/** Account and Region used for stacks synthesized without them, unless --account / --region say otherwise. */
export const DEFAULT_ACCOUNT = '111111111111';
export const DEFAULT_REGION = 'us-east-1';

export interface AppResource {
  /** Physical name (bus name, queue name, rule name, key logical id). */
  readonly name: string;
  readonly arn: string;
  /** `<stack>/<logicalId>`. */
  readonly path: string;
}

export interface AccessApp {
  readonly assembly: Assembly;
  readonly model: PolicyModel;
  readonly store: CompiledPolicyStore;
  /** The stacks' common name prefix (`LoanEvents`). */
  readonly prefix: string | undefined;
  /** Accounts and Regions of the stacks, after defaults. */
  readonly accounts: readonly string[];
  readonly regions: readonly string[];
  /** True when some stack is environment-agnostic and took the defaults. */
  readonly agnostic: boolean;
  readonly buses: readonly AppResource[];
  readonly rules: readonly (AppResource & { readonly busArn: string | undefined; readonly eventPattern: unknown })[];
  readonly queues: readonly AppResource[];
  readonly keys: readonly (AppResource & { readonly keyId: string })[];
}

export interface LoadOptions {
  readonly account?: string;
  readonly region?: string;
}

/** Loads the app from a cloud assembly directory; a missing or broken assembly is a usage error. */
export function loadAccessApp(dir: string, options: LoadOptions = {}): AccessApp {
  const account = options.account ?? DEFAULT_ACCOUNT;
  const region = options.region ?? DEFAULT_REGION;
  try {
    const assembly = Assembly.load(dir, { naming: cloudNaming, defaults: { account, region } });
    const model = policiesOf(assembly);
    const res = <T extends Parameters<Assembly['ofType']>[0]>(type: T) =>
      assembly.ofType(type).map((r) => ({ resource: r, name: r.name, arn: r.arn, path: `${r.stack.name}/${r.logicalId}` }));
    const buses = res('AWS::Events::EventBus').map(({ name, arn, path }) => ({ name, arn, path }));
    const rules = res('AWS::Events::Rule').map(({ resource, name, arn, path }) => {
      const p = resource.properties;
      const busName = p.EventBusName === undefined ? 'default' : p.EventBusName.split('/').pop();
      return {
        name,
        arn,
        path,
        busArn: buses.find((b) => b.name === busName || b.arn === p.EventBusName)?.arn,
        eventPattern: p.EventPattern,
      };
    });
    const queues = res('AWS::SQS::Queue').map(({ name, arn, path }) => ({ name, arn, path }));
    const keys = res('AWS::KMS::Key').map(({ resource, arn, path }) => ({
      name: resource.logicalId,
      arn,
      path,
      keyId: arn.slice(arn.lastIndexOf('/') + 1),
    }));
    const envs = assembly.stacks.map((s) => s.env);
    return {
      assembly,
      model,
      store: compilePolicyStore(model),
      prefix: appPrefix(assembly.stacks.map((s) => s.name)),
      accounts: [...new Set(envs.map((e) => e.account))],
      regions: [...new Set(envs.map((e) => e.region))],
      agnostic: assembly.stacks.some((s) => s.artifact.environment.account === undefined || s.artifact.environment.region === undefined),
      buses,
      rules,
      queues,
      keys,
    };
  } catch (err) {
    if (err instanceof TemplateError) throw new UsageError(err.message);
    throw err;
  }
}

/** The name of a role ARN (`arn:aws:iam::1:role/path/Name` -> `Name`). */
export const roleName = (arn: string): string => arn.slice(arn.lastIndexOf('/') + 1);
