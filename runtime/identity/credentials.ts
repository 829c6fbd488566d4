/**
 * Who holds which access key: sessions the runtime's STS issued, users from a configuration
 * file, and the default for every other key (the account's root user, as LocalStack-style
 * setups with `AWS_ACCESS_KEY_ID=test` expect). Sessions live in memory and end with the
 * process, like all state of the runtime.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { compilePolicy, principalOf, PolicyParseError, type CompiledPolicy, type RequestPrincipal } from '../../iam';
import type { Principal } from '../stream';

/** Prefix of the access key of temporary credentials, as STS issues them. */
export const SESSION_KEY_PREFIX = 'ASIA';

/** A caller as the runtime knows it: the principal policies see, and the one the event stream shows. */
export interface Identity {
  /** What the evaluator matches against policies. */
  readonly principal: RequestPrincipal;
  /** What events and CloudTrail records show. */
  readonly view: Principal;
  /** Secret to check signatures with; undefined for the default identity of unknown keys. */
  readonly secretAccessKey?: string;
  /** Set for issued sessions. */
  readonly session?: Session;
  /** Identity policies a configured user carries (in addition to the assembly's for its role). */
  readonly policies?: readonly CompiledPolicy[];
}

export interface Session {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  /** Clock time (epoch ms) it expires; undefined for the credentials the runtime gives its functions. */
  readonly expiresAt: number | undefined;
  /** Session policies passed to AssumeRole. */
  readonly sessionPolicies: readonly CompiledPolicy[];
  /** Whether the session was made by a role session assuming a role (role chaining). */
  readonly chained: boolean;
}

/** One entry of a `--users` file. */
export interface UserConfig {
  /** The access key the user signs with. */
  accessKeyId: string;
  /** Its secret, for `--verify-signatures`. */
  secretAccessKey: string;
  /**
   * Who the key is: a user (`arn:aws:iam::<account>:user/<name>`), an account's root user
   * (`arn:aws:iam::<account>:root`), or a role session (`arn:aws:sts::<account>:assumed-role/<role>/<session>`),
   * e.g. a deployment role the app trusts but does not define.
   */
  arn: string;
  /** Identity policies of this principal, beyond those the assembly gives its role. @default - none */
  policies?: unknown[];
  /**
   * Tags of the user (`aws:PrincipalTag/<key>` in conditions), e.g. `{ "event-router:publisher": "loan-intake" }`,
   * which the app's publisher roles trust by default. @default - none
   */
  tags?: Record<string, string>;
}

/** IAM's limits on a principal's tags. */
const MAX_TAGS = 50;
const MAX_TAG_KEY = 128;
const MAX_TAG_VALUE = 256;

function checkTags(value: unknown, at: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new Error(`${at}.tags must be an object of tag keys to values`);
  const entries = Object.entries(value);
  if (entries.length > MAX_TAGS) throw new Error(`${at}.tags has ${entries.length} tags; IAM allows at most ${MAX_TAGS}`);
  const tags: Record<string, string> = Object.create(null);
  for (const [key, tag] of entries) {
    if (key.length === 0 || key.length > MAX_TAG_KEY) throw new Error(`${at}.tags: a key must be 1 to ${MAX_TAG_KEY} characters`);
    if (typeof tag !== 'string' || tag.length > MAX_TAG_VALUE)
      throw new Error(`${at}.tags.${key.slice(0, MAX_TAG_KEY)} must be a string of at most ${MAX_TAG_VALUE} characters`);
    tags[key] = tag;
  }
  return tags;
}

/** The file `--users` names: `{ "users": [UserConfig, ...] }`. */
export interface UsersFile {
  users: UserConfig[];
}

const ACCESS_KEY = /^[\w.@+=-]{1,128}$/;

/** Sessions kept at most; past it, expired sessions go first, then the oldest that can expire. */
export const MAX_SESSIONS = 10_000;

/** Base32 of random bytes (16 of them), upper case: the alphabet of AWS access key ids. */
function keyId(prefix: string, bytes: Uint8Array = randomBytes(16)): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let out = prefix;
  for (let i = 0; out.length < 20; i++) out += alphabet[(bytes[i] ?? 0) % 32];
  return out;
}

/** Unique ids already derived, by prefix and ARN: a session of a role needs its role's id each time one is issued. */
const uniqueIds = new Map<string, string>();
/** Bound of `uniqueIds`, which callers' ARNs fill: past it, it starts again. */
const MAX_UNIQUE_IDS = 1024;

/** A stable unique id (`AROA...`, `AIDA...`) for an ARN, as IAM gives each role and user one. */
export function uniqueIdOf(prefix: string, arn: string): string {
  const key = `${prefix} ${arn}`;
  const known = uniqueIds.get(key);
  if (known !== undefined) return known;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const digest = createHash('sha256').update(arn).digest();
  let out = prefix;
  for (let i = 0; out.length < 21; i++) out += alphabet[(digest[i] ?? 0) % 32];
  if (uniqueIds.size >= MAX_UNIQUE_IDS) uniqueIds.clear();
  uniqueIds.set(key, out);
  return out;
}

/** The event-stream view of a principal. */
export function viewOf(principal: RequestPrincipal, accessKeyId?: string, sessionCreated?: number): Principal {
  const accountId = principal.account ?? '';
  switch (principal.type) {
    case 'assumed-role': {
      const sessionName = principal.arn.slice(principal.arn.lastIndexOf('/') + 1);
      const roleArn = principal.roleArn ?? '';
      return {
        type: 'AssumedRole',
        arn: principal.arn,
        accountId,
        roleArn,
        sessionName,
        accessKeyId,
        roleId: uniqueIdOf('AROA', roleArn),
        ...(sessionCreated !== undefined ? { sessionCreated } : {}),
      };
    }
    case 'user':
      return {
        type: 'IAMUser',
        arn: principal.arn,
        accountId,
        userName: principal.arn.slice(principal.arn.lastIndexOf('/') + 1),
        accessKeyId,
        principalId: uniqueIdOf('AIDA', principal.arn),
      };
    case 'root':
      return { type: 'Root', arn: principal.arn, accountId, accessKeyId };
    default:
      return { type: 'Unknown', arn: principal.arn, accountId, accessKeyId };
  }
}

/** Reads and checks a `--users` file; errors name the entry and the field. */
export function readUsersFile(file: string): UserConfig[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`--users ${file}: ${(e as Error).message}`, { cause: e });
  }
  return checkUsers(parsed, `--users ${file}`);
}

/** Checks a users configuration; errors name the entry and the field. */
export function checkUsers(value: unknown, where = 'users'): UserConfig[] {
  const users = (value as UsersFile | undefined)?.users;
  if (!Array.isArray(users)) throw new Error(`${where}: expected { "users": [ { "accessKeyId", "secretAccessKey", "arn" }, ... ] }`);
  const seen = new Set<string>();
  return users.map((u: unknown, i) => {
    const at = `${where}: users[${i}]`;
    if (u === null || typeof u !== 'object') throw new Error(`${at} must be an object`);
    const { accessKeyId, secretAccessKey, arn, policies, tags } = u as Record<string, unknown>;
    if (typeof accessKeyId !== 'string' || !ACCESS_KEY.test(accessKeyId))
      throw new Error(`${at}.accessKeyId must be 1 to 128 letters, digits or _.@+=-`);
    if (accessKeyId.startsWith(SESSION_KEY_PREFIX))
      throw new Error(`${at}.accessKeyId must not start with ${SESSION_KEY_PREFIX}: that prefix is for sessions the runtime issues`);
    if (seen.has(accessKeyId)) throw new Error(`${at}.accessKeyId ${accessKeyId} is configured twice`);
    seen.add(accessKeyId);
    if (typeof secretAccessKey !== 'string' || secretAccessKey.length === 0 || secretAccessKey.length > 128)
      throw new Error(`${at}.secretAccessKey must be a string of 1 to 128 characters`);
    if (typeof arn !== 'string') throw new Error(`${at}.arn must be a user, root or assumed-role ARN`);
    let principal: RequestPrincipal;
    try {
      principal = principalOf(arn);
    } catch (e) {
      throw new Error(`${at}.arn: ${(e as Error).message}`, { cause: e });
    }
    if (!['user', 'root', 'assumed-role'].includes(principal.type))
      throw new Error(`${at}.arn must be a user, root or assumed-role ARN (got ${arn})`);
    if (policies !== undefined && !Array.isArray(policies)) throw new Error(`${at}.policies must be a list of policy documents`);
    return { accessKeyId, secretAccessKey, arn, policies: policies as unknown[] | undefined, tags: checkTags(tags, at) };
  });
}

export interface CredentialStoreOptions {
  /** The account of the default identity (the runtime's account). */
  accountId: string;
  partition?: string;
  users?: readonly UserConfig[];
}

/** Why a key does not name a usable identity, in words close to AWS's. */
export type KeyProblem = 'unknown-session' | 'missing-token' | 'bad-token' | 'expired';

/** Access keys to identities. */
export class CredentialStore {
  private readonly sessions = new Map<string, Identity>();
  private readonly userKeys = new Map<string, Identity>();
  readonly root: Identity;

  constructor(options: CredentialStoreOptions) {
    const rootArn = `arn:${options.partition ?? 'aws'}:iam::${options.accountId}:root`;
    const principal = principalOf(rootArn);
    this.root = { principal, view: viewOf(principal) };
    for (const u of options.users ?? []) {
      const p = principalOf(u.arn, u.tags && checkTags(u.tags, `user ${u.accessKeyId}`));
      const policies = (u.policies ?? []).map((doc, i) => {
        try {
          return compilePolicy(doc, `users[${u.accessKeyId}].policies[${i}]`);
        } catch (e) {
          if (e instanceof PolicyParseError) throw new Error(`user ${u.accessKeyId}: ${e.message}`, { cause: e });
          throw e;
        }
      });
      this.userKeys.set(u.accessKeyId, { principal: p, view: viewOf(p, u.accessKeyId), secretAccessKey: u.secretAccessKey, policies });
    }
  }

  /** The identity an access key names at `now`, or why it names none. */
  resolve(accessKeyId: string, sessionToken: string | undefined, now: number): Identity | KeyProblem {
    const session = this.sessions.get(accessKeyId);
    if (session?.session) {
      if (sessionToken === undefined) return 'missing-token';
      if (sessionToken !== session.session.sessionToken) return 'bad-token';
      if (session.session.expiresAt !== undefined && now >= session.session.expiresAt) return 'expired';
      return session;
    }
    if (accessKeyId.startsWith(SESSION_KEY_PREFIX)) return 'unknown-session';
    const user = this.userKeys.get(accessKeyId);
    if (user) return user;
    return { ...this.root, view: viewOf(this.root.principal, accessKeyId) };
  }

  /** The configured users' identities. */
  users(): Identity[] {
    return [...this.userKeys.values()];
  }

  /** Whether the key is configured or issued, so its secret is known. */
  knows(accessKeyId: string): boolean {
    return this.sessions.has(accessKeyId) || this.userKeys.has(accessKeyId);
  }

  /** Issues temporary credentials for `principal`. */
  issue(
    principal: RequestPrincipal,
    options: {
      now: number;
      expiresAt: number | undefined;
      sessionPolicies?: readonly CompiledPolicy[];
      chained?: boolean;
      policies?: readonly CompiledPolicy[];
    },
  ): Identity {
    // The key id's, secret's and token's random bytes in one draw: each draw costs about as much as all three.
    const random = randomBytes(16 + 30 + 96);
    const session: Session = {
      accessKeyId: keyId(SESSION_KEY_PREFIX, random.subarray(0, 16)),
      secretAccessKey: random.subarray(16, 46).toString('base64'),
      sessionToken: `IQoJb3JpZ2luX2VjE${random.subarray(46).toString('base64')}`,
      expiresAt: options.expiresAt,
      sessionPolicies: options.sessionPolicies ?? [],
      chained: options.chained ?? false,
    };
    const identity: Identity = {
      principal,
      view: viewOf(principal, session.accessKeyId, options.now),
      secretAccessKey: session.secretAccessKey,
      session,
      policies: options.policies,
    };
    if (this.sessions.size >= MAX_SESSIONS) this.evict(options.now);
    this.sessions.set(session.accessKeyId, identity);
    return identity;
  }

  /** Makes room: every session expired at `now`, else the oldest one that expires (never a function's). */
  private evict(now: number): void {
    for (const [key, id] of this.sessions) {
      const at = id.session?.expiresAt;
      if (at !== undefined && at <= now) this.sessions.delete(key);
    }
    if (this.sessions.size < MAX_SESSIONS) return;
    for (const [key, id] of this.sessions) {
      if (id.session?.expiresAt !== undefined) {
        this.sessions.delete(key);
        return;
      }
    }
  }

  /** Sessions issued so far (expired ones included until the runtime ends). */
  get sessionCount(): number {
    return this.sessions.size;
  }
}
