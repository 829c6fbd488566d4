/**
 * STS as the runtime serves it, over the query protocol the SDKs and the AWS CLI use:
 * `AssumeRole` (the role's trust policy evaluated as a resource policy for the caller, plus
 * the caller's own identity policies where AWS needs them), `GetSessionToken` and
 * `GetCallerIdentity`. Credentials expire on the runtime's clock.
 * @see https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html#iam-term-role-chaining
 */
import { compilePolicy, PolicyParseError, principalOf, type CompiledPolicy } from '../../iam';
import { AwsError } from '../errors';
import type { Identity } from './credentials';
import { uniqueIdOf } from './credentials';

export const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

export const STS_ACTIONS: ReadonlySet<string> = new Set(['AssumeRole', 'GetSessionToken', 'GetCallerIdentity']);

/** AssumeRole's DurationSeconds: at least 15 minutes, at most the role's MaxSessionDuration (12 hours at most). */
export const MIN_SESSION_SECONDS = 900;
export const MAX_ROLE_SESSION_SECONDS = 43200;
/** A role session assuming a role (role chaining) gets at most one hour. */
export const MAX_CHAINED_SESSION_SECONDS = 3600;
/** GetSessionToken: 15 minutes to 36 hours for users, one hour at most for the root user. */
export const MAX_USER_SESSION_SECONDS = 129600;
export const MAX_ROOT_SESSION_SECONDS = 3600;
/** Longest inline session policy accepted (packed size aside). */
export const MAX_SESSION_POLICY_CHARS = 2048;

const SESSION_NAME = /^[\w+=,.@-]*$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]*$/;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** An echo of a value in a validation message, bounded so a huge input does not make a huge answer. */
const echo = (v: string) => (v.length > 128 ? `${v.slice(0, 128)}...` : v);

export const stsValidation = (message: string) => new AwsError('ValidationError', message, 400, 'ValidationError');

export const stsAccessDenied = (message: string) => new AwsError('AccessDenied', message, 403, 'AccessDenied');

export function stsErrorXml(err: AwsError, requestId: string): string {
  return `<ErrorResponse xmlns="${STS_NS}"><Error><Type>${err.fault}</Type><Code>${esc(err.queryCode ?? err.code)}</Code><Message>${esc(err.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
}

function constraint(value: string | null, field: string, rule: string): AwsError {
  const shown = value === null ? 'null' : `'${esc(echo(value))}'`;
  return stsValidation(`1 validation error detected: Value ${shown} at '${field}' failed to satisfy constraint: Member must ${rule}`);
}

/** An integer parameter within [min, max], or undefined when absent. */
export function durationParam(params: URLSearchParams, min: number, max: number): number | undefined {
  const raw = params.get('DurationSeconds');
  if (raw === null) return undefined;
  const n = /^-?\d{1,12}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n)) throw constraint(raw, 'durationSeconds', 'be an integer');
  if (n < min) throw constraint(raw, 'durationSeconds', `have value greater than or equal to ${min}`);
  if (n > max) throw constraint(raw, 'durationSeconds', `have value less than or equal to ${max}`);
  return n;
}

/** The checked parameters of an AssumeRole request. */
export interface AssumeRoleInput {
  roleArn: string;
  roleSessionName: string;
  durationSeconds: number | undefined;
  externalId: string | undefined;
  sessionPolicy: CompiledPolicy | undefined;
}

export function assumeRoleInput(params: URLSearchParams): AssumeRoleInput {
  const roleArn = params.get('RoleArn');
  if (roleArn === null) throw constraint(null, 'roleArn', 'not be null');
  if (roleArn.length < 20 || roleArn.length > 2048) throw constraint(roleArn, 'roleArn', 'have length between 20 and 2048');
  const name = params.get('RoleSessionName');
  if (name === null) throw constraint(null, 'roleSessionName', 'not be null');
  if (name.length < 2) throw constraint(name, 'roleSessionName', 'have length greater than or equal to 2');
  if (name.length > 64) throw constraint(name, 'roleSessionName', 'have length less than or equal to 64');
  if (!SESSION_NAME.test(name)) throw constraint(name, 'roleSessionName', 'satisfy regular expression pattern: [\\w+=,.@-]*');
  const externalId = params.get('ExternalId') ?? undefined;
  if (externalId !== undefined && (externalId.length < 2 || externalId.length > 1224 || !EXTERNAL_ID.test(externalId))) {
    throw constraint(externalId, 'externalId', 'have length between 2 and 1224 and satisfy regular expression pattern: [\\w+=,.@:\\/-]*');
  }
  if ([...params.keys()].some((k) => k.startsWith('PolicyArns.'))) {
    throw stsValidation('PolicyArns (managed session policies) are not supported by the local runtime; pass an inline Policy instead.');
  }
  const policy = params.get('Policy');
  let sessionPolicy: CompiledPolicy | undefined;
  if (policy !== null) {
    if (policy.length > MAX_SESSION_POLICY_CHARS) {
      throw new AwsError(
        'PackedPolicyTooLarge',
        'Packed policy consumes more than 100 percent of the allotted size.',
        400,
        'PackedPolicyTooLarge',
      );
    }
    try {
      sessionPolicy = compilePolicy(JSON.parse(policy), 'session policy');
    } catch (e) {
      const reason = e instanceof PolicyParseError || e instanceof SyntaxError ? e.message : 'not a policy document';
      throw new AwsError(
        'MalformedPolicyDocument',
        `The policy is not in the valid JSON format: ${reason}`,
        400,
        'MalformedPolicyDocument',
      );
    }
  }
  return {
    roleArn,
    roleSessionName: name,
    durationSeconds: durationParam(params, MIN_SESSION_SECONDS, MAX_ROLE_SESSION_SECONDS),
    externalId,
    sessionPolicy,
  };
}

/** A role ARN's parts, or undefined when it is not one. */
export function roleOf(arn: string): { account: string; name: string; partition: string } | undefined {
  try {
    const p = principalOf(arn);
    if (p.type !== 'role' || p.account === undefined) return undefined;
    return { account: p.account, name: arn.slice(arn.lastIndexOf('/') + 1), partition: arn.split(':')[1] ?? 'aws' };
  } catch {
    return undefined;
  }
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function credentialsXml(identity: Identity): string {
  const s = identity.session;
  if (!s) throw new Error('not a session');
  return `<Credentials><AccessKeyId>${s.accessKeyId}</AccessKeyId><SecretAccessKey>${esc(s.secretAccessKey)}</SecretAccessKey><SessionToken>${esc(s.sessionToken)}</SessionToken><Expiration>${s.expiresAt === undefined ? '' : iso(s.expiresAt)}</Expiration></Credentials>`;
}

const metadata = (requestId: string) => `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata>`;

export function assumeRoleXml(identity: Identity, roleArn: string, sessionName: string, requestId: string): string {
  const assumedRoleId = `${uniqueIdOf('AROA', roleArn)}:${sessionName}`;
  return `<AssumeRoleResponse xmlns="${STS_NS}"><AssumeRoleResult>${credentialsXml(identity)}<AssumedRoleUser><AssumedRoleId>${esc(assumedRoleId)}</AssumedRoleId><Arn>${esc(identity.principal.arn)}</Arn></AssumedRoleUser></AssumeRoleResult>${metadata(requestId)}</AssumeRoleResponse>`;
}

export function sessionTokenXml(identity: Identity, requestId: string): string {
  return `<GetSessionTokenResponse xmlns="${STS_NS}"><GetSessionTokenResult>${credentialsXml(identity)}</GetSessionTokenResult>${metadata(requestId)}</GetSessionTokenResponse>`;
}

/** `UserId` as GetCallerIdentity gives it: the account for root, `AIDA...` for a user, `AROA...:<session>` for a session. */
export function userIdOf(identity: Identity): string {
  const p = identity.principal;
  if (p.type === 'root') return p.account ?? '';
  if (p.type === 'user') return uniqueIdOf('AIDA', p.arn);
  if (p.type === 'assumed-role' && p.roleArn) return `${uniqueIdOf('AROA', p.roleArn)}:${p.arn.slice(p.arn.lastIndexOf('/') + 1)}`;
  return p.arn;
}

export function callerIdentityXml(identity: Identity, requestId: string): string {
  const p = identity.principal;
  return `<GetCallerIdentityResponse xmlns="${STS_NS}"><GetCallerIdentityResult><Arn>${esc(p.arn)}</Arn><UserId>${esc(userIdOf(identity))}</UserId><Account>${p.account ?? ''}</Account></GetCallerIdentityResult>${metadata(requestId)}</GetCallerIdentityResponse>`;
}
