/**
 * The app's policies as the runtime enforces them: every identity, trust, boundary and resource
 * policy of the cloud assembly, resolved under the runtime's naming (so their ARNs are the
 * runtime's resources), compiled once into a policy store. Built once per runtime; the API
 * checks (authorization.ts), STS and the service-to-service checks of deliveries share it.
 */
import { Assembly, CloudAssembly, localNaming, type StackResolver } from '../../assembly';
import { policiesOf, type PolicyModel } from '../../assembly/policies';
import { compilePolicyStore, type CompiledPolicyStore } from '../../iam';

/** Where the runtime runs, as `loadTopology` takes it. */
export interface PolicyContext {
  region: string;
  accountId: string;
  endpoint: string;
}

export interface RoleInfo {
  arn: string;
  name: string;
  /** `MaxSessionDuration` of the role, in seconds. @default 3600 */
  maxSessionDurationSeconds: number;
}

export interface AppPolicies {
  /** The policy model, as `policiesOf(assembly)` reads it. */
  readonly model: PolicyModel;
  /** `compilePolicyStore(model)`: compiled once, looked up per request. */
  readonly store: CompiledPolicyStore;
  /** The assembly's roles by ARN. */
  readonly roles: ReadonlyMap<string, RoleInfo>;
  /** Execution role ARN of each function, by function ARN. */
  readonly functionRoles: ReadonlyMap<string, string>;
}

/** Default and maximum of a role's MaxSessionDuration. */
export const DEFAULT_MAX_SESSION_SECONDS = 3600;

function rolesOf(resolvers: readonly StackResolver[]): Map<string, RoleInfo> {
  const roles = new Map<string, RoleInfo>();
  for (const r of resolvers) {
    for (const id of r.ofType('AWS::IAM::Role')) {
      const arn = r.getAtt(id, 'Arn');
      const max = Number(r.resolve(r.resource(id).Properties?.MaxSessionDuration ?? DEFAULT_MAX_SESSION_SECONDS));
      roles.set(arn, {
        arn,
        name: arn.slice(arn.lastIndexOf('/') + 1),
        maxSessionDurationSeconds: Number.isInteger(max) && max >= 3600 && max <= 43200 ? max : DEFAULT_MAX_SESSION_SECONDS,
      });
    }
  }
  return roles;
}

function functionRolesOf(resolvers: readonly StackResolver[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of resolvers) {
    for (const id of r.ofType('AWS::Lambda::Function')) {
      const role = r.resource(id).Properties?.Role;
      if (role === undefined) continue;
      try {
        out.set(r.arnOf(id), r.str(role));
      } catch {
        // A role the resolver cannot name (an import): the function runs as the account's root.
      }
    }
  }
  return out;
}

/** Reads the assembly at `assemblyDir` under the runtime's naming and compiles its policies. */
export function loadAppPolicies(assemblyDir: string, ctx: PolicyContext): AppPolicies {
  const assembly = new Assembly(CloudAssembly.load(assemblyDir), {
    naming: localNaming(ctx.endpoint),
    defaults: { account: ctx.accountId, region: ctx.region },
  });
  const resolvers = assembly.stacks.map((s) => s.resolver);
  const model = policiesOf(assembly);
  return { model, store: compilePolicyStore(model), roles: rolesOf(resolvers), functionRoles: functionRolesOf(resolvers) };
}
