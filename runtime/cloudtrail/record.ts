/**
 * CloudTrail records, built in one place from a served API call: the runtime reports each call
 * it answered (service, operation, parameters, result or error, caller, time) and this module
 * turns it into a record in AWS's format. Serializing it (LookupEvents' CloudTrailEvent string,
 * a line in the trail's log group) happens at the edge.
 * @see https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
 * @see https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
 */
import { randomUUID } from 'node:crypto';
import { arn, arns, partitionOf } from '../../assembly/arn';

/** The record format version this module writes. */
export const EVENT_VERSION = '1.11';
/** Our bound on the serialized requestParameters/responseElements; larger ones are omitted. */
export const MAX_ELEMENTS_BYTES = 100 * 1024;

/** Who made a call. Until the runtime knows identities, calls carry the account's root. */
export type CallerIdentity =
  | { readonly type: 'Root'; readonly accountId: string; readonly accessKeyId?: string }
  | {
      readonly type: 'IAMUser';
      readonly accountId: string;
      readonly userName: string;
      readonly principalId?: string;
      readonly accessKeyId?: string;
    }
  | {
      readonly type: 'AssumedRole';
      readonly accountId: string;
      readonly roleName: string;
      readonly sessionName: string;
      /** The role's unique id (AROA...). */
      readonly roleId?: string;
      readonly accessKeyId?: string;
      /** Epoch ms the session was created. */
      readonly sessionCreated?: number;
      /** Role path, e.g. `/service-role/`. */
      readonly path?: string;
    }
  | { readonly type: 'AWSService'; readonly invokedBy: string };

/** A call the runtime served, as the runtime's typed events describe it. */
export interface ServedCall {
  /** Endpoint prefix: `events`, `sqs`, `logs`, `monitoring`, `cloudtrail`, `sts`, `dynamodb`, `lambda`, `kms`. */
  readonly service: string;
  readonly operation: string;
  readonly requestParameters?: unknown;
  readonly responseElements?: unknown;
  readonly error?: { readonly code: string; readonly message: string };
  readonly identity?: CallerIdentity;
  readonly sourceIPAddress?: string;
  readonly userAgent?: string;
  readonly requestId: string;
  /** Epoch ms. */
  readonly time: number;
  readonly resources?: readonly { readonly type: string; readonly arn: string }[];
  /** `AwsServiceEvent` for what a service did on its own (a rule delivering, a DLQ move). */
  readonly eventType?: 'AwsApiCall' | 'AwsServiceEvent';
  readonly region: string;
  /** The account whose resources were called. */
  readonly recipientAccountId: string;
}

export interface CloudTrailRecord {
  readonly eventVersion: string;
  readonly userIdentity: Record<string, unknown>;
  readonly eventTime: string;
  readonly eventSource: string;
  readonly eventName: string;
  readonly awsRegion: string;
  readonly sourceIPAddress: string;
  readonly userAgent: string;
  readonly errorCode?: string;
  readonly errorMessage?: string;
  readonly requestParameters: unknown;
  readonly responseElements: unknown;
  readonly requestID: string;
  readonly eventID: string;
  readonly readOnly: boolean;
  readonly resources?: readonly { readonly accountId: string; readonly type: string; readonly ARN: string }[];
  readonly eventType: 'AwsApiCall' | 'AwsServiceEvent';
  readonly managementEvent: boolean;
  readonly recipientAccountId: string;
  readonly eventCategory: 'Management' | 'Data';
}

/**
 * Operations CloudTrail logs as data events, with the resource type the trail selects them by.
 * Everything else a service serves is a management event, except the operations CloudTrail
 * does not log at all (NOT_LOGGED).
 * @see https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-data-events-with-cloudtrail.html
 */
export const DATA_EVENTS: Readonly<Record<string, { readonly resourceType: string; readonly operations: readonly string[] }>> = {
  'events.amazonaws.com': { resourceType: 'AWS::Events::EventBus', operations: ['PutEvents'] },
  'sqs.amazonaws.com': {
    resourceType: 'AWS::SQS::Queue',
    operations: [
      'SendMessage',
      'SendMessageBatch',
      'ReceiveMessage',
      'DeleteMessage',
      'DeleteMessageBatch',
      'ChangeMessageVisibility',
      'ChangeMessageVisibilityBatch',
    ],
  },
  'dynamodb.amazonaws.com': {
    resourceType: 'AWS::DynamoDB::Table',
    operations: [
      'GetItem',
      'PutItem',
      'UpdateItem',
      'DeleteItem',
      'Query',
      'Scan',
      'BatchGetItem',
      'BatchWriteItem',
      'TransactGetItems',
      'TransactWriteItems',
    ],
  },
  'lambda.amazonaws.com': { resourceType: 'AWS::Lambda::Function', operations: ['Invoke'] },
};

/** Calls CloudTrail does not record (CloudWatch Logs' high-volume ingestion, CloudTrail's own reads are management). */
export const NOT_LOGGED: readonly string[] = ['logs.amazonaws.com:PutLogEvents'];

const READ_ONLY = /^(Describe|Get|List|Lookup|Receive|Filter|Test|Query|Scan|BatchGet|TransactGet|Search)/;

export function eventSourceOf(service: string): string {
  return `${service}.amazonaws.com`;
}

export function isDataEvent(eventSource: string, eventName: string): boolean {
  return DATA_EVENTS[eventSource]?.operations.includes(eventName) ?? false;
}

export function isLogged(eventSource: string, eventName: string): boolean {
  return !NOT_LOGGED.includes(`${eventSource}:${eventName}`);
}

/** `Entries` -> `entries`, `DetailType` -> `detailType`, recursively: CloudTrail's element casing. */
export function camelCaseKeys(v: unknown, depth = 0): unknown {
  if (depth > 32) return null;
  if (Array.isArray(v)) return v.map((x) => camelCaseKeys(x, depth + 1));
  if (v instanceof Date) return v.toISOString();
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) continue;
      const key = k.length > 0 ? k[0]!.toLowerCase() + k.slice(1) : k;
      if (key === '__proto__') continue;
      out[key] = camelCaseKeys(x, depth + 1);
    }
    return out;
  }
  return v;
}

function bounded(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  const cased = camelCaseKeys(v);
  return JSON.stringify(cased).length > MAX_ELEMENTS_BYTES ? null : cased;
}

export function userIdentityOf(identity: CallerIdentity | undefined, accountId: string, partition = 'aws'): Record<string, unknown> {
  const id = identity ?? { type: 'Root', accountId };
  const env = { partition, account: id.type === 'AWSService' ? accountId : id.accountId };
  switch (id.type) {
    case 'Root':
      return {
        type: 'Root',
        principalId: id.accountId,
        arn: arns.accountRoot(env),
        accountId: id.accountId,
        ...(id.accessKeyId ? { accessKeyId: id.accessKeyId } : {}),
      };
    case 'IAMUser':
      return {
        type: 'IAMUser',
        principalId: id.principalId ?? `AIDA${pseudoId(id.userName)}`,
        arn: arn({ partition, service: 'iam', region: '', account: id.accountId, resource: `user/${id.userName}` }),
        accountId: id.accountId,
        ...(id.accessKeyId ? { accessKeyId: id.accessKeyId } : {}),
        userName: id.userName,
      };
    case 'AssumedRole': {
      const roleId = id.roleId ?? `AROA${pseudoId(id.roleName)}`;
      const roleArn = arns.role(env, id.roleName, id.path ?? '/');
      return {
        type: 'AssumedRole',
        principalId: `${roleId}:${id.sessionName}`,
        arn: arn({
          partition,
          service: 'sts',
          region: '',
          account: id.accountId,
          resource: `assumed-role/${id.roleName}/${id.sessionName}`,
        }),
        accountId: id.accountId,
        ...(id.accessKeyId ? { accessKeyId: id.accessKeyId } : {}),
        sessionContext: {
          sessionIssuer: { type: 'Role', principalId: roleId, arn: roleArn, accountId: id.accountId, userName: id.roleName },
          attributes: { creationDate: new Date(id.sessionCreated ?? 0).toISOString().replace(/\.\d{3}Z$/, 'Z'), mfaAuthenticated: 'false' },
        },
      };
    }
    case 'AWSService':
      return { type: 'AWSService', invokedBy: id.invokedBy };
  }
}

/** A stable 17-character uppercase id from a name, shaped like IAM unique ids. */
function pseudoId(name: string): string {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
  let out = '';
  for (let i = 0; i < 17; i++) {
    h = Math.imul(h ^ i, 2654435761) >>> 0;
    out += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[h % 32];
  }
  return out;
}

/** The name LookupEvents reports as Username for a caller. */
export function usernameOf(userIdentity: Record<string, unknown>): string | undefined {
  switch (userIdentity.type) {
    case 'Root':
      return 'root';
    case 'IAMUser':
      return typeof userIdentity.userName === 'string' ? userIdentity.userName : undefined;
    case 'AssumedRole':
      return typeof userIdentity.arn === 'string' ? userIdentity.arn.split('/').pop() : undefined;
    case 'AWSService':
      return typeof userIdentity.invokedBy === 'string' ? userIdentity.invokedBy : undefined;
  }
  return undefined;
}

/** Builds the record of one served call; `newId` is injectable so tests get stable ids. */
export function buildCloudTrailRecord(call: ServedCall, newId: () => string = randomUUID): CloudTrailRecord | undefined {
  const eventSource = eventSourceOf(call.service);
  if (!isLogged(eventSource, call.operation)) return undefined;
  const data = isDataEvent(eventSource, call.operation);
  const userIdentity = userIdentityOf(call.identity, call.recipientAccountId, partitionOf(call.region));
  const service = call.identity?.type === 'AWSService' ? call.identity.invokedBy : undefined;
  const readOnly = READ_ONLY.test(call.operation);
  return {
    eventVersion: EVENT_VERSION,
    userIdentity,
    eventTime: new Date(call.time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource,
    eventName: call.operation,
    awsRegion: call.region,
    sourceIPAddress: service ?? call.sourceIPAddress ?? '127.0.0.1',
    userAgent: service ?? (call.userAgent ?? '').slice(0, 1024),
    ...(call.error ? { errorCode: call.error.code, errorMessage: call.error.message.slice(0, 1024) } : {}),
    requestParameters: bounded(call.requestParameters),
    // Present for calls that change something; reads (Describe, List, Get...) carry none.
    responseElements: call.error || readOnly ? null : bounded(call.responseElements),
    requestID: call.requestId,
    eventID: newId(),
    readOnly,
    ...(call.resources && call.resources.length > 0
      ? { resources: call.resources.map((r) => ({ accountId: arnAccount(r.arn) ?? call.recipientAccountId, type: r.type, ARN: r.arn })) }
      : {}),
    eventType: call.eventType ?? 'AwsApiCall',
    managementEvent: !data,
    recipientAccountId: call.recipientAccountId,
    eventCategory: data ? 'Data' : 'Management',
  };
}

function arnAccount(arn: string): string | undefined {
  const account = arn.split(':')[4];
  return account && /^\d{12}$/.test(account) ? account : undefined;
}
