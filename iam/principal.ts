/**
 * Who makes a request, and whether a policy's `Principal` names them.
 *
 * A `Principal` element names an account (`"123456789012"` or `arn:aws:iam::123456789012:root`),
 * a role, a user, a role session (`arn:aws:sts::...:assumed-role/<role>/<session>`), a service
 * (`{ "Service": "events.amazonaws.com" }`), a federated identity, or everyone (`"*"`,
 * `{ "AWS": "*" }`). A role ARN also names every session of that role. Naming an account
 * delegates to the account: its IAM policies must then allow as well.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
 */
import { PolicyParseError } from './errors';

export type PrincipalType = 'role' | 'assumed-role' | 'user' | 'root' | 'service' | 'federated' | 'anonymous';

export interface RequestPrincipal {
  readonly type: PrincipalType;
  /**
   * The ARN that appears in messages and is matched against policies: role ARN, session ARN,
   * user ARN, root ARN, the service name (`events.amazonaws.com`), or `anonymous`.
   */
  readonly arn: string;
  /** Account of an IAM principal; undefined for services and anonymous callers. */
  readonly account?: string;
  /** For a role or a session of it: the role's ARN (`aws:PrincipalArn` of a session). */
  readonly roleArn?: string;
  /** Principal tags (`aws:PrincipalTag/<key>`). */
  readonly tags?: Readonly<Record<string, string>>;
}

const IAM_ARN = /^arn:([^:]+):(iam|sts)::(\d{12}):(.+)$/;

/**
 * The principal behind an ARN or a service principal name. Throws on anything else, so that a
 * typo cannot become a principal no policy names.
 */
export function principalOf(arnOrService: string, tags?: Record<string, string>): RequestPrincipal {
  const withTags = <T extends object>(p: T) => (tags ? { ...p, tags: { ...tags } } : p);
  if (arnOrService === 'anonymous' || arnOrService === '*') return { type: 'anonymous', arn: 'anonymous' };
  if (/^[a-z0-9.-]+\.amazonaws\.com(\.cn)?$/i.test(arnOrService)) return { type: 'service', arn: arnOrService };
  const m = IAM_ARN.exec(arnOrService);
  if (!m) throw new Error(`'${arnOrService}' is neither an IAM or STS ARN nor a service principal`);
  const [, partition, service, account, rest] = m as unknown as [string, string, string, string, string];
  if (service === 'iam' && rest === 'root') return { type: 'root', arn: arnOrService, account };
  if (service === 'iam' && rest.startsWith('role/')) return withTags({ type: 'role', arn: arnOrService, account, roleArn: arnOrService });
  if (service === 'iam' && rest.startsWith('user/')) return withTags({ type: 'user', arn: arnOrService, account });
  if (service === 'iam' && (rest.startsWith('saml-provider/') || rest.startsWith('oidc-provider/'))) {
    return { type: 'federated', arn: arnOrService, account };
  }
  const session = /^assumed-role\/([^/]+)\/(.+)$/.exec(rest);
  if (service === 'sts' && session) {
    return withTags({ type: 'assumed-role', arn: arnOrService, account, roleArn: `arn:${partition}:iam::${account}:role/${session[1]}` });
  }
  if (service === 'sts' && rest.startsWith('federated-user/')) return withTags({ type: 'federated', arn: arnOrService, account });
  throw new Error(`'${arnOrService}' is not a principal ARN (root, role, user, assumed-role session or federated user)`);
}

/** How a `Principal` element names a request's principal. */
export type PrincipalMatch =
  /** Everyone (`*`). */
  | 'any'
  /** The principal itself, its role, or its service. */
  | 'direct'
  /** The principal's account: a delegation to the account's IAM policies. */
  | 'account';

type Entry =
  | { readonly kind: 'any' }
  | { readonly kind: 'account'; readonly account: string }
  | { readonly kind: 'arn'; readonly arn: string }
  | { readonly kind: 'service'; readonly name: string }
  | { readonly kind: 'federated'; readonly name: string }
  | { readonly kind: 'canonical'; readonly id: string };

export interface CompiledPrincipal {
  /** How the element names `p`, or undefined when it does not. */
  match(p: RequestPrincipal): PrincipalMatch | undefined;
  /** Whether the element lists exactly this ARN (a role session's own ARN, not its role's). */
  listsArn(arn: string): boolean;
}

const ROOT_ARN = /^arn:[^:]+:iam::(\d{12}):root$/;

function entriesOf(raw: unknown, where: string): Entry[] {
  if (raw === '*') return [{ kind: 'any' }];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new PolicyParseError(`${where}: must be "*" or an object with AWS, Service, Federated or CanonicalUser`);
  }
  const out: Entry[] = [];
  for (const [type, value] of Object.entries(raw as Record<string, unknown>)) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      if (typeof v !== 'string') throw new PolicyParseError(`${where}.${type}: must be a string or a list of strings`);
      if (type === 'AWS') {
        if (v === '*') out.push({ kind: 'any' });
        else if (/^\d{12}$/.test(v)) out.push({ kind: 'account', account: v });
        else if (ROOT_ARN.test(v)) out.push({ kind: 'account', account: (ROOT_ARN.exec(v) as RegExpExecArray)[1] as string });
        else out.push({ kind: 'arn', arn: v });
      } else if (type === 'Service') {
        out.push(v === '*' ? { kind: 'any' } : { kind: 'service', name: v.toLowerCase() });
      } else if (type === 'Federated') {
        out.push({ kind: 'federated', name: v });
      } else if (type === 'CanonicalUser') {
        out.push({ kind: 'canonical', id: v });
      } else {
        throw new PolicyParseError(`${where}: unknown principal type '${type}' (expected AWS, Service, Federated or CanonicalUser)`);
      }
    }
  }
  return out;
}

const RANK: Record<PrincipalMatch, number> = { direct: 3, any: 2, account: 1 };

function entryMatch(e: Entry, p: RequestPrincipal): PrincipalMatch | undefined {
  switch (e.kind) {
    case 'any':
      return 'any';
    case 'account':
      if (p.account !== e.account || p.type === 'service' || p.type === 'anonymous') return undefined;
      // The account's root user is the account principal itself.
      return p.type === 'root' ? 'direct' : 'account';
    case 'arn':
      return e.arn === p.arn || (p.roleArn !== undefined && e.arn === p.roleArn) ? 'direct' : undefined;
    case 'service':
      return p.type === 'service' && p.arn.toLowerCase() === e.name ? 'direct' : undefined;
    case 'federated':
      return p.type === 'federated' && p.arn === e.name ? 'direct' : undefined;
    case 'canonical':
      return undefined;
  }
}

/** Compiles a `Principal` or `NotPrincipal` element. */
export function compilePrincipal(raw: unknown, where: string): CompiledPrincipal {
  const entries = entriesOf(raw, where);
  return {
    match(p) {
      let best: PrincipalMatch | undefined;
      for (const e of entries) {
        const m = entryMatch(e, p);
        if (m !== undefined && (best === undefined || RANK[m] > RANK[best])) best = m;
      }
      return best;
    },
    listsArn: (arn) => entries.some((e) => e.kind === 'arn' && e.arn === arn),
  };
}
