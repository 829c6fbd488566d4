/**
 * Who is calling, and whether the app's policies let them: the runtime's identity layer.
 *
 * - `identify` maps a request's SigV4 access key to an identity (an issued session, a configured
 *   user, or the default: the account's root user; an unsigned request is the root user too
 *   until `authenticate` decides).
 * - `authenticate` refuses what AWS refuses before any policy is read: an unsigned request,
 *   a malformed signature, an unknown or expired session, and, with `verifySignatures`, a
 *   signature the key's secret does not give.
 * - `authorize` evaluates the operation's checks (authorization.ts) with the project's evaluator
 *   against the assembly's policies.
 * - STS actions are answered here (sts.ts).
 *
 * The mode decides what a refusal does: `off` nothing is checked, `warn` the call goes on and an
 * `access.denied` / `identity.refused` event (and a log line) says what AWS would have done,
 * `enforce` the call is refused as AWS refuses it.
 */
import type { IncomingMessage } from 'node:http';
import {
  denialMessage,
  evaluationInput,
  resourceAllow,
  PolicyEvaluator,
  principalOf,
  statementLabel,
  type AccessRequest,
  type CompiledPolicy,
  type ContextValue,
  type RequestPrincipal,
} from '../../iam';
import { partitionOf } from '../../assembly/arn';
import { AwsError } from '../errors';
import type { Clock } from '../clock';
import type { IamMode } from '../iam-mode';
import type { EventStream } from '../stream';
import { checksFor, type CheckEnv } from './authorization';
import { CredentialStore, type Identity, type UserConfig } from './credentials';
import type { AppPolicies } from './policies';
import { readSignature, signatureMatches, type SignedRequest } from './sigv4';
import {
  assumeRoleInput,
  assumeRoleXml,
  callerIdentityXml,
  durationParam,
  MAX_CHAINED_SESSION_SECONDS,
  MAX_ROOT_SESSION_SECONDS,
  MAX_USER_SESSION_SECONDS,
  MIN_SESSION_SECONDS,
  roleOf,
  sessionTokenXml,
  stsAccessDenied,
  stsErrorXml,
  stsValidation,
  STS_ACTIONS,
} from './sts';

/** The protocol a refusal is answered in: EventBridge JSON, SQS JSON, or the query protocol (SQS, STS). */
export type ErrorProtocol = 'events' | 'sqs' | 'query';

/** A request's caller, as `identify` found it. */
export interface Caller {
  identity: Identity;
  signed?: SignedRequest;
  /** `aws:SourceIp`: the connection's address. */
  sourceIp: string;
  /** Why AWS would refuse these credentials; `authenticate` decides what that does. */
  problem?: { code: string; queryCode: string; message: string };
}

export interface IdentityServiceOptions {
  mode: IamMode;
  clock: Clock;
  stream: EventStream;
  region: string;
  /** The runtime's account: the default identity is its root user. */
  accountId: string;
  users?: readonly UserConfig[];
  /** Check each SigV4 signature with the key's secret. @default false */
  verifySignatures?: boolean;
}

export interface StsAnswer {
  status: number;
  body: string;
}

const TOKEN_INVALID = 'The security token included in the request is invalid.';

/** What AWS answers for credentials it refuses, by problem. */
const PROBLEMS = {
  unsigned: {
    code: 'MissingAuthenticationTokenException',
    queryCode: 'MissingAuthenticationToken',
    message: 'Request is missing Authentication Token',
  },
  'unknown-session': { code: 'UnrecognizedClientException', queryCode: 'InvalidClientTokenId', message: TOKEN_INVALID },
  'missing-token': { code: 'UnrecognizedClientException', queryCode: 'InvalidClientTokenId', message: TOKEN_INVALID },
  'bad-token': { code: 'UnrecognizedClientException', queryCode: 'InvalidClientTokenId', message: TOKEN_INVALID },
  expired: { code: 'ExpiredTokenException', queryCode: 'ExpiredToken', message: 'The security token included in the request is expired' },
  signature: {
    code: 'InvalidSignatureException',
    queryCode: 'SignatureDoesNotMatch',
    message:
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  },
  'no-secret': {
    code: 'UnrecognizedClientException',
    queryCode: 'InvalidClientTokenId',
    message: `${TOKEN_INVALID} With --verify-signatures only keys from --users and sessions the runtime issued are accepted.`,
  },
} as const;

/** The error AWS answers with, in the caller's protocol: JSON code for EventBridge, the query code for SQS and STS. */
export function protocolError(protocol: ErrorProtocol, code: string, queryCode: string, message: string): AwsError {
  if (protocol === 'events') return new AwsError(code, message, 400);
  return new AwsError(queryCode, message, 403, queryCode);
}

/** A request's source address as `aws:SourceIp` wants it (no IPv4-mapped IPv6 prefix). */
const sourceIpOf = (req: IncomingMessage) => (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');

export class IdentityService {
  readonly mode: IamMode;
  readonly credentials: CredentialStore;
  private readonly clock: Clock;
  private readonly stream: EventStream;
  private readonly region: string;
  private readonly verify: boolean;
  private policies: AppPolicies | undefined;
  private evaluator: PolicyEvaluator | undefined;
  private env: CheckEnv | undefined;
  /** Policies per principal object: a configured user's own, and sessions' session policies. */
  private readonly extraPolicies = new WeakMap<RequestPrincipal, readonly CompiledPolicy[]>();
  private readonly sessionPolicies = new WeakMap<RequestPrincipal, readonly CompiledPolicy[]>();
  private readonly functionSessions = new Map<string, Identity>();

  constructor(options: IdentityServiceOptions) {
    this.mode = options.mode;
    this.clock = options.clock;
    this.stream = options.stream;
    this.region = options.region;
    this.verify = options.verifySignatures ?? false;
    this.credentials = new CredentialStore({ accountId: options.accountId, partition: partitionOf(options.region), users: options.users });
    for (const identity of this.credentials.users()) {
      if (identity.policies && identity.policies.length > 0) this.extraPolicies.set(identity.principal, identity.policies);
    }
  }

  /** Takes the app's compiled policies and the brokers the checks resolve names with; issues the functions' credentials. */
  load(policies: AppPolicies, env: CheckEnv): void {
    this.policies = policies;
    this.env = env;
    const store = policies.store;
    this.evaluator = new PolicyEvaluator({
      identityPolicies: (p) => {
        const own = store.identityPolicies?.(p) ?? [];
        const extra = this.extraPolicies.get(p);
        return extra ? [...own, ...extra] : own;
      },
      boundary: (p) => store.boundary?.(p),
      sessionPolicies: (p) => this.sessionPolicies.get(p) ?? [],
      // STS AssumeRole evaluates the role's trust policy as the role's resource policy.
      resourcePolicy: (arn) => (policies.roles.has(arn) ? store.trustPolicy(arn) : store.resourcePolicy?.(arn)),
    });
    for (const [fn, roleArn] of policies.functionRoles) {
      const role = roleOf(roleArn);
      if (!role) continue;
      const name = fn.slice(fn.lastIndexOf(':') + 1).slice(0, 64);
      const principal = principalOf(`arn:${role.partition}:sts::${role.account}:assumed-role/${role.name}/${name}`);
      // Loaded again (a reloaded assembly): a function whose role is unchanged keeps its session.
      if (this.functionSessions.get(fn)?.principal.arn === principal.arn) continue;
      const identity = this.credentials.issue(principal, { now: this.clock.now(), expiresAt: undefined });
      this.functionSessions.set(fn, identity);
      this.stream.publish('session.issued', {
        arn: principal.arn,
        accessKeyId: identity.session?.accessKeyId ?? '',
        roleArn,
        sessionName: name,
      });
    }
  }

  /** The credentials Lambda would give the function: a session of its execution role. */
  functionCredentials(functionArn: string): { accessKeyId: string; secretAccessKey: string; sessionToken: string } | undefined {
    const s = this.functionSessions.get(functionArn)?.session;
    return s && { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey, sessionToken: s.sessionToken };
  }

  /** The caller of a request, from its headers and query string alone (no body needed). */
  identify(req: IncomingMessage): Caller {
    const root = this.credentials.root;
    const sourceIp = sourceIpOf(req);
    let query: URLSearchParams;
    try {
      query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    } catch {
      query = new URLSearchParams();
    }
    const sig = readSignature(req.headers, query);
    if (sig.kind === 'unsigned') return { identity: root, sourceIp, problem: PROBLEMS.unsigned };
    if (sig.kind === 'malformed') {
      return {
        identity: root,
        sourceIp,
        problem: { code: 'IncompleteSignatureException', queryCode: 'IncompleteSignature', message: sig.reason },
      };
    }
    const found = this.credentials.resolve(sig.request.accessKeyId, sig.request.sessionToken, this.clock.now());
    if (typeof found === 'string') return { identity: root, sourceIp, signed: sig.request, problem: PROBLEMS[found] };
    return { identity: found, sourceIp, signed: sig.request };
  }

  /**
   * What to answer instead of serving the request, or undefined to serve it. With signatures
   * checked, this is where the body is hashed.
   */
  authenticate(caller: Caller, req: IncomingMessage, body: Buffer, protocol: ErrorProtocol, operation: string): AwsError | undefined {
    if (this.mode === 'off') return undefined;
    let problem = caller.problem;
    if (!problem && this.verify && caller.signed) {
      const secret = caller.identity.secretAccessKey;
      if (secret === undefined || !this.credentials.knows(caller.signed.accessKeyId)) problem = PROBLEMS['no-secret'];
      else if (!signatureMatches(caller.signed, secret, { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers }, body))
        problem = PROBLEMS.signature;
    }
    if (!problem) return undefined;
    this.stream.publish('identity.refused', {
      mode: this.mode,
      operation,
      code: protocol === 'events' ? problem.code : problem.queryCode,
      message: problem.message,
      accessKeyId: caller.signed?.accessKeyId,
    });
    return this.mode === 'enforce' ? protocolError(protocol, problem.code, problem.queryCode, problem.message) : undefined;
  }

  /** Keys every request carries, from the clock and the connection. */
  private baseContext(caller: Caller): Record<string, ContextValue> {
    const now = this.clock.now();
    const context: Record<string, ContextValue> = {
      'aws:CurrentTime': new Date(now).toISOString(),
      'aws:EpochTime': String(Math.floor(now / 1000)),
      // The local endpoint is plain HTTP standing in for AWS's TLS endpoints, which SDKs always use.
      'aws:SecureTransport': 'true',
      'aws:RequestedRegion': this.region,
    };
    if (caller.sourceIp) context['aws:SourceIp'] = caller.sourceIp;
    return context;
  }

  /** Evaluates one request; reports (and in `enforce`, returns the refusal of) a denial. */
  private decide(
    caller: Caller,
    request: AccessRequest,
    operation: string,
  ): { denied: false } | { denied: true; message: string; decision: 'ExplicitDeny' | 'ImplicitDeny' } {
    const evaluator = this.evaluator;
    if (!evaluator) return { denied: false };
    const d = evaluator.evaluate(request);
    if (d.decision === 'Allow') return { denied: false };
    const message = denialMessage(request, d);
    this.stream.publish('access.denied', {
      mode: this.mode === 'enforce' ? 'enforce' : 'warn',
      operation,
      principalArn: caller.identity.principal.arn,
      action: request.action,
      resource: request.resource,
      decision: d.decision,
      decidedBy: d.decidedBy ? statementLabel(d.decidedBy) : undefined,
      explanation: d.explanation,
      message,
    });
    return { denied: true, message, decision: d.decision };
  }

  /**
   * Checks an EventBridge or SQS operation. Throws the service's access-denied error in
   * `enforce` mode; reports and returns in `warn` mode.
   */
  authorize(
    caller: Caller,
    service: 'events' | 'sqs',
    operation: string,
    input: Record<string, unknown>,
    protocol: ErrorProtocol = service,
  ): void {
    if (this.mode === 'off' || !this.env || !this.evaluator) return;
    const checks = checksFor(service, operation, input, this.env);
    if (checks.length === 0) return;
    const base = this.baseContext(caller);
    const principal = caller.identity.principal;
    for (const c of checks) {
      const request: AccessRequest = {
        principal,
        action: c.action,
        resource: c.resource,
        context: c.context ? { ...base, ...c.context } : base,
      };
      const r = this.decide(caller, request, operation);
      if (!r.denied) continue;
      if (this.mode === 'enforce') {
        throw service === 'events'
          ? new AwsError('AccessDeniedException', r.message, 400)
          : protocolError(protocol, 'AccessDenied', 'AccessDenied', r.message);
      }
      return;
    }
  }

  isSts(action: string): boolean {
    return STS_ACTIONS.has(action);
  }

  /** Answers an STS action (query protocol). */
  sts(caller: Caller, action: string, params: URLSearchParams, requestId: string): StsAnswer {
    try {
      if (action === 'GetCallerIdentity') return { status: 200, body: callerIdentityXml(caller.identity, requestId) };
      if (action === 'GetSessionToken') return { status: 200, body: this.getSessionToken(caller, params, requestId) };
      return { status: 200, body: this.assumeRole(caller, params, requestId) };
    } catch (e) {
      if (!(e instanceof AwsError)) throw e;
      return { status: e.status, body: stsErrorXml(e, requestId) };
    }
  }

  private assumeRole(caller: Caller, params: URLSearchParams, requestId: string): string {
    const input = assumeRoleInput(params);
    const now = this.clock.now();
    const principal = caller.identity.principal;
    const role = roleOf(input.roleArn);
    const info = this.policies?.roles.get(input.roleArn);
    const chained = principal.type === 'assumed-role';
    const head = `User: ${principal.arn} is not authorized to perform: sts:AssumeRole on resource: ${input.roleArn}`;
    if (this.mode !== 'off') {
      if (principal.type === 'root') {
        // AWS refuses this before reading any policy.
        const message = 'Roles may not be assumed by root accounts.';
        this.reportRefusedAssume(caller, input.roleArn, message, 'the root user cannot assume roles');
        if (this.mode === 'enforce') throw stsAccessDenied(message);
      } else if (!role || !info) {
        // A role the app does not define has no trust policy that could allow anyone.
        this.reportRefusedAssume(caller, input.roleArn, head, `the app defines no role ${input.roleArn}, so no trust policy allows it`);
        if (this.mode === 'enforce' || !role) throw stsAccessDenied(head);
      } else {
        const context: Record<string, ContextValue> = { ...this.baseContext(caller), 'sts:RoleSessionName': input.roleSessionName };
        if (input.externalId !== undefined) context['sts:ExternalId'] = input.externalId;
        const request: AccessRequest = { principal, action: 'sts:AssumeRole', resource: input.roleArn, context };
        // The trust policy must name the caller (or its account) whatever the caller's own policies allow.
        if (!this.trusts(request)) {
          this.reportRefusedAssume(
            caller,
            input.roleArn,
            head,
            `no statement of the trust policy of ${input.roleArn} allows ${principal.arn}`,
          );
          if (this.mode === 'enforce') throw stsAccessDenied(head);
        } else {
          const r = this.decide(caller, request, 'AssumeRole');
          if (r.denied && this.mode === 'enforce') throw stsAccessDenied(head);
        }
      }
    }
    if (!role) throw stsAccessDenied(head);
    const max = chained ? MAX_CHAINED_SESSION_SECONDS : (info?.maxSessionDurationSeconds ?? 3600);
    const duration = input.durationSeconds ?? Math.min(3600, max);
    if (duration > max) {
      throw stsValidation(
        chained
          ? 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.'
          : 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
      );
    }
    const session = principalOf(`arn:${role.partition}:sts::${role.account}:assumed-role/${role.name}/${input.roleSessionName}`);
    const identity = this.credentials.issue(session, {
      now,
      expiresAt: now + duration * 1000,
      sessionPolicies: input.sessionPolicy ? [input.sessionPolicy] : [],
      chained,
    });
    if (input.sessionPolicy) this.sessionPolicies.set(session, [input.sessionPolicy]);
    this.stream.publish('session.issued', {
      arn: session.arn,
      accessKeyId: identity.session?.accessKeyId ?? '',
      roleArn: input.roleArn,
      sessionName: input.roleSessionName,
      expiration: new Date(now + duration * 1000).toISOString(),
      callerArn: principal.arn,
    });
    return assumeRoleXml(identity, input.roleArn, input.roleSessionName, requestId);
  }

  /** Whether the role's trust policy has an Allow for the caller, directly or through its account. */
  private trusts(request: AccessRequest): boolean {
    const evaluator = this.evaluator;
    return evaluator !== undefined && resourceAllow(evaluationInput(request, evaluator.policiesFor(request))) !== undefined;
  }

  private reportRefusedAssume(caller: Caller, roleArn: string, message: string, explanation: string): void {
    this.stream.publish('access.denied', {
      mode: this.mode === 'enforce' ? 'enforce' : 'warn',
      operation: 'AssumeRole',
      principalArn: caller.identity.principal.arn,
      action: 'sts:AssumeRole',
      resource: roleArn,
      decision: 'ImplicitDeny',
      explanation,
      message,
    });
  }

  private getSessionToken(caller: Caller, params: URLSearchParams, requestId: string): string {
    const p = caller.identity.principal;
    if (caller.identity.session || (p.type !== 'user' && p.type !== 'root')) {
      throw stsAccessDenied('Cannot call GetSessionToken with session credentials');
    }
    const max = p.type === 'root' ? MAX_ROOT_SESSION_SECONDS : MAX_USER_SESSION_SECONDS;
    const duration = durationParam(params, MIN_SESSION_SECONDS, max) ?? (p.type === 'root' ? MAX_ROOT_SESSION_SECONDS : 43200);
    const now = this.clock.now();
    // The same principal object, so a user's own policies apply to its session too.
    const identity = this.credentials.issue(p, { now, expiresAt: now + duration * 1000, policies: caller.identity.policies });
    this.stream.publish('session.issued', {
      arn: p.arn,
      accessKeyId: identity.session?.accessKeyId ?? '',
      expiration: new Date(now + duration * 1000).toISOString(),
      callerArn: p.arn,
    });
    return sessionTokenXml(identity, requestId);
  }
}
