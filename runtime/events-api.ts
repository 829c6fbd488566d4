/**
 * EventBridge over HTTP: AWS JSON 1.1, `X-Amz-Target: AWSEvents.<Action>`.
 * Timestamps travel as epoch seconds. https://docs.aws.amazon.com/eventbridge/latest/APIReference/
 */
import { InvalidEventPatternError, InvalidTargetInputError, MalformedEventError, testEventPattern } from '../engine';
import { AwsError, validation } from './errors';
import type { Shape } from './http/shapes';
import { show } from './http/safe-input';
import { Archive, Bus, EventBroker, Replay, Rule } from './events';
import { decodePageToken, encodePageToken } from './paging';
import { targetFromApi, type TargetDef } from './template';

type Input = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Output = Record<string, unknown>;
type Action = (b: EventBroker, i: Input) => Output;

const secs = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

function required(i: Input, name: string, field = name.charAt(0).toLowerCase() + name.slice(1)): string {
  const v = i[name];
  if (typeof v !== 'string' || v.length === 0) {
    throw validation(`1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`);
  }
  return v;
}

/** The API's field name in messages: `eventPattern`, `targets.1.inputPath`. */
const fieldName = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);

/** An optional string member; anything else (a JSON object, a number) is a ValidationException naming it. */
function optionalString(i: Input, name: string, field = fieldName(name)): string | undefined {
  const v = i[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string')
    throw validation(`1 validation error detected: Value '${show(v)}' at '${field}' failed to satisfy constraint: Member must be a string`);
  return v;
}

function optionalObject(i: Input, name: string, field: string): Input | undefined {
  const v = i[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v))
    throw validation(
      `1 validation error detected: Value '${show(v)}' at '${field}' failed to satisfy constraint: Member must be a structure`,
    );
  return v as Input;
}

function optionalInteger(i: Input, name: string, field: string): number | undefined {
  const v = i[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw validation(
      `1 validation error detected: Value '${show(v)}' at '${field}' failed to satisfy constraint: Member must be an integer`,
    );
  return v;
}

/**
 * A PutTargets entry with every member checked for its type, so the target model only ever
 * sees strings where it expects strings; errors name the target.
 */
function apiTarget(raw: unknown, n: number): TargetDef {
  const where = `targets.${n}`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw validation(
      `1 validation error detected: Value '${show(raw)}' at '${where}' failed to satisfy constraint: Member must be a structure`,
    );
  const t = raw as Input;
  const id = optionalString(t, 'Id', `${where}.id`);
  const label = id ?? `#${n}`;
  const named = (f: () => unknown) => {
    try {
      return f();
    } catch (e) {
      if (e instanceof AwsError) throw validation(`${e.message} (target ${label})`);
      throw e;
    }
  };
  named(() => {
    optionalString(t, 'Arn', `${where}.arn`);
    optionalString(t, 'Input', `${where}.input`);
    optionalString(t, 'InputPath', `${where}.inputPath`);
    optionalString(t, 'RoleArn', `${where}.roleArn`);
    const tr = optionalObject(t, 'InputTransformer', `${where}.inputTransformer`);
    if (tr) {
      if (typeof tr.InputTemplate !== 'string')
        throw validation(
          `1 validation error detected: Value null at '${where}.inputTransformer.inputTemplate' failed to satisfy constraint: Member must not be null`,
        );
      const map = optionalObject(tr, 'InputPathsMap', `${where}.inputTransformer.inputPathsMap`);
      for (const k of Object.keys(map ?? {})) optionalString(map!, k, `${where}.inputTransformer.inputPathsMap.${k}`);
    }
    const retry = optionalObject(t, 'RetryPolicy', `${where}.retryPolicy`);
    if (retry) {
      optionalInteger(retry, 'MaximumRetryAttempts', `${where}.retryPolicy.maximumRetryAttempts`);
      optionalInteger(retry, 'MaximumEventAgeInSeconds', `${where}.retryPolicy.maximumEventAgeInSeconds`);
    }
    const dlq = optionalObject(t, 'DeadLetterConfig', `${where}.deadLetterConfig`);
    if (dlq) optionalString(dlq, 'Arn', `${where}.deadLetterConfig.arn`);
    const sqs = optionalObject(t, 'SqsParameters', `${where}.sqsParameters`);
    if (sqs) optionalString(sqs, 'MessageGroupId', `${where}.sqsParameters.messageGroupId`);
  });
  return targetFromApi(t);
}

function timestamp(i: Input, name: string): number {
  const v = i[name];
  if (typeof v === 'number') return v * 1000;
  if (typeof v === 'string' && Number.isFinite(Date.parse(v))) return Date.parse(v);
  throw validation(
    `1 validation error detected: Value null at '${name.charAt(0).toLowerCase() + name.slice(1)}' failed to satisfy constraint: Member must not be null`,
  );
}

function page<T>(items: T[], i: Input): { items: T[]; NextToken?: string } {
  const limit = i.Limit === undefined ? 100 : Number(i.Limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw validation(
      `1 validation error detected: Value '${show(i.Limit)}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100`,
    );
  const start = decodePageToken('events', i.NextToken);
  if (start === undefined) throw validation('The NextToken provided is invalid.');
  const end = start + limit;
  return { items: items.slice(start, end), NextToken: end < items.length ? encodePageToken('events', end) : undefined };
}

const busOut = (b: Bus) => ({
  Name: b.name,
  Arn: b.arn,
  Description: b.description,
  CreationTime: secs(b.created),
  LastModifiedTime: secs(b.created),
});

const ruleOut = (r: Rule) => ({
  Name: r.name,
  Arn: r.arn,
  EventPattern: r.pattern,
  ScheduleExpression: r.scheduleExpression,
  State: r.state,
  Description: r.description,
  EventBusName: r.bus.name,
});

const targetOut = (t: TargetDef) => ({
  Id: t.id,
  Arn: t.arn,
  Input: t.input,
  InputPath: t.inputPath,
  InputTransformer: t.inputTransformer
    ? { InputPathsMap: t.inputTransformer.inputPathsMap, InputTemplate: t.inputTransformer.inputTemplate }
    : undefined,
  RetryPolicy: t.retryPolicy
    ? { MaximumRetryAttempts: t.retryPolicy.maximumRetryAttempts, MaximumEventAgeInSeconds: t.retryPolicy.maximumEventAgeInSeconds }
    : undefined,
  DeadLetterConfig: t.deadLetterArn ? { Arn: t.deadLetterArn } : undefined,
  SqsParameters: t.sqsMessageGroupId ? { MessageGroupId: t.sqsMessageGroupId } : undefined,
  RoleArn: t.roleArn,
});

const archiveState = (a: Archive) => ({ ArchiveArn: a.arn, State: 'ENABLED', CreationTime: secs(a.created) });

const archiveOut = (a: Archive) => ({
  ArchiveName: a.name,
  ArchiveArn: a.arn,
  EventSourceArn: a.sourceArn,
  Description: a.description,
  EventPattern: a.pattern,
  State: 'ENABLED',
  RetentionDays: a.retentionDays ?? 0,
  SizeBytes: a.sizeBytes,
  EventCount: a.events.length,
  CreationTime: secs(a.created),
});

const replayOut = (r: Replay) => ({
  ReplayName: r.name,
  ReplayArn: r.arn,
  Description: r.description,
  State: r.state,
  StateReason: r.stateReason,
  EventSourceArn: r.archive.arn,
  Destination: { Arn: r.destinationArn, FilterArns: r.filterArns },
  EventStartTime: secs(r.start),
  EventEndTime: secs(r.end),
  EventLastReplayedTime: secs(r.lastReplayed),
  ReplayStartTime: secs(r.startedAt),
  ReplayEndTime: secs(r.endedAt),
});

function archiveByName(b: EventBroker, name: string): Archive {
  const a = b.archives.get(name);
  if (!a) throw new AwsError('ResourceNotFoundException', `Archive ${name} does not exist.`);
  return a;
}

export const EVENTS_ACTIONS = {
  PutEvents: (b, i) => b.putEvents(i.Entries),
  TestEventPattern: (_b, i) => {
    const pattern = required(i, 'EventPattern');
    const event = required(i, 'Event');
    try {
      // The API, unlike rule matching of delivered events, rejects an event without the envelope.
      return { Result: testEventPattern(pattern, event, { requireEnvelope: true }) };
    } catch (e) {
      if (e instanceof InvalidEventPatternError) throw new AwsError('InvalidEventPatternException', e.message);
      if (e instanceof MalformedEventError) throw validation(e.message);
      throw e;
    }
  },
  ListEventBuses: (b, i) => {
    const prefix = String(i.NamePrefix ?? '');
    const { items, NextToken } = page(
      [...b.buses.values()].filter((x) => x.name.startsWith(prefix)),
      i,
    );
    return { EventBuses: items.map(busOut), NextToken };
  },
  CreateEventBus: (b, i) => {
    if (i.EventSourceName !== undefined && i.EventSourceName !== null) {
      throw validation('Partner event sources (EventSourceName) are not emulated locally; create a custom event bus without it.');
    }
    const dlq = optionalObject(i, 'DeadLetterConfig', 'deadLetterConfig');
    const bus = b.createEventBus({
      name: required(i, 'Name'),
      description: optionalString(i, 'Description'),
      deadLetterArn: dlq ? optionalString(dlq, 'Arn', 'deadLetterConfig.arn') : undefined,
    });
    return {
      EventBusArn: bus.arn,
      Description: bus.description,
      KmsKeyIdentifier: optionalString(i, 'KmsKeyIdentifier'),
      DeadLetterConfig: bus.deadLetterArn ? { Arn: bus.deadLetterArn } : undefined,
    };
  },
  DeleteEventBus: (b, i) => {
    b.deleteEventBus(required(i, 'Name'));
    return {};
  },
  DescribeEventBus: (b, i) => {
    const bus = b.bus(i.Name);
    return { ...busOut(bus), DeadLetterConfig: bus.deadLetterArn ? { Arn: bus.deadLetterArn } : undefined };
  },
  ListRules: (b, i) => {
    const bus = b.bus(i.EventBusName);
    const prefix = String(i.NamePrefix ?? '');
    const { items, NextToken } = page(
      [...bus.rules.values()].filter((r) => r.name.startsWith(prefix)),
      i,
    );
    return { Rules: items.map(ruleOut), NextToken };
  },
  DescribeRule: (b, i) => {
    const bus = b.bus(i.EventBusName);
    return { ...ruleOut(b.rule(bus, required(i, 'Name'))), CreatedBy: b.accountId };
  },
  ListTargetsByRule: (b, i) => {
    const rule = b.rule(b.bus(i.EventBusName), required(i, 'Rule'));
    const { items, NextToken } = page([...rule.targets.values()], i);
    return { Targets: items.map(targetOut), NextToken };
  },
  PutRule: (b, i) => {
    const bus = b.bus(i.EventBusName);
    const rule = b.putRule(bus, {
      name: required(i, 'Name'),
      pattern: optionalString(i, 'EventPattern'),
      scheduleExpression: optionalString(i, 'ScheduleExpression'),
      state: optionalString(i, 'State'),
      description: optionalString(i, 'Description'),
    });
    return { RuleArn: rule.arn };
  },
  DeleteRule: (b, i) => {
    b.deleteRule(b.bus(i.EventBusName), required(i, 'Name'));
    return {};
  },
  PutTargets: (b, i) => {
    const rule = b.rule(b.bus(i.EventBusName), required(i, 'Rule'));
    if (!Array.isArray(i.Targets) || i.Targets.length === 0 || i.Targets.length > 10) {
      throw validation(
        "1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length between 1 and 10",
      );
    }
    const targets = (i.Targets as unknown[]).map(apiTarget);
    let failed;
    try {
      failed = b.putTargets(rule, targets);
    } catch (e) {
      if (e instanceof InvalidTargetInputError) throw validation(e.message);
      throw e;
    }
    return { FailedEntryCount: failed.length, FailedEntries: failed };
  },
  RemoveTargets: (b, i) => {
    const rule = b.rule(b.bus(i.EventBusName), required(i, 'Rule'));
    if (!Array.isArray(i.Ids) || i.Ids.length === 0)
      throw validation("1 validation error detected: Value null at 'ids' failed to satisfy constraint: Member must not be null");
    const failed: Output[] = [];
    for (const id of i.Ids) {
      if (!rule.targets.delete(String(id)))
        failed.push({
          TargetId: id,
          ErrorCode: 'ResourceNotFoundException',
          ErrorMessage: `Target ${id} does not exist on rule ${rule.name}.`,
        });
    }
    return { FailedEntryCount: failed.length, FailedEntries: failed };
  },
  ListArchives: (b, i) => {
    const prefix = String(i.NamePrefix ?? '');
    const list = [...b.archives.values()].filter(
      (a) => a.name.startsWith(prefix) && (i.EventSourceArn === undefined || a.sourceArn === i.EventSourceArn),
    );
    const { items, NextToken } = page(list, i);
    return { Archives: items.map(archiveOut), NextToken };
  },
  DescribeArchive: (b, i) => archiveOut(archiveByName(b, required(i, 'ArchiveName'))),
  CreateArchive: (b, i) => {
    const a = b.createArchiveFromApi({
      name: required(i, 'ArchiveName'),
      sourceArn: required(i, 'EventSourceArn'),
      description: optionalString(i, 'Description'),
      pattern: optionalString(i, 'EventPattern'),
      retentionDays: optionalInteger(i, 'RetentionDays', 'retentionDays'),
    });
    return archiveState(a);
  },
  UpdateArchive: (b, i) => {
    const a = b.updateArchive(required(i, 'ArchiveName'), {
      description: optionalString(i, 'Description'),
      pattern: optionalString(i, 'EventPattern'),
      retentionDays: optionalInteger(i, 'RetentionDays', 'retentionDays'),
    });
    return archiveState(a);
  },
  DeleteArchive: (b, i) => {
    b.deleteArchive(required(i, 'ArchiveName'));
    return {};
  },
  StartReplay: (b, i) => {
    const r = b.startReplay({
      name: required(i, 'ReplayName'),
      description: i.Description,
      archiveArn: required(i, 'EventSourceArn'),
      start: timestamp(i, 'EventStartTime'),
      end: timestamp(i, 'EventEndTime'),
      destinationArn: typeof i.Destination?.Arn === 'string' ? i.Destination.Arn : required({}, 'Destination.Arn', 'destination.arn'),
      filterArns: i.Destination?.FilterArns,
    });
    return { ReplayArn: r.arn, State: r.state, ReplayStartTime: secs(r.startedAt) };
  },
  DescribeReplay: (b, i) => {
    const name = required(i, 'ReplayName');
    const r = b.replays.get(name);
    if (!r) throw new AwsError('ResourceNotFoundException', `Replay ${name} does not exist.`);
    return replayOut(r);
  },
  ListReplays: (b, i) => {
    const prefix = String(i.NamePrefix ?? '');
    const list = [...b.replays.values()].filter(
      (r) =>
        r.name.startsWith(prefix) &&
        (i.State === undefined || r.state === i.State) &&
        (i.EventSourceArn === undefined || r.archive.arn === i.EventSourceArn),
    );
    const { items, NextToken } = page(list, i);
    return { Replays: items.map(replayOut), NextToken };
  },
  CancelReplay: (b, i) => {
    const name = required(i, 'ReplayName');
    const r = b.replays.get(name);
    if (!r) throw new AwsError('ResourceNotFoundException', `Replay ${name} does not exist.`);
    if (r.state !== 'STARTING' && r.state !== 'RUNNING') throw new AwsError('IllegalStatusException', `Replay ${name} is not running.`);
    r.state = 'CANCELLING';
    return { ReplayArn: r.arn, State: r.state };
  },
} satisfies Record<string, Action>;

const LIST: Shape = { NamePrefix: 's', NextToken: 's', Limit: 'i' };

/** Member types of each operation's input; see http/shapes.ts. */
export const EVENTS_SHAPES: Record<keyof typeof EVENTS_ACTIONS, Shape> = {
  PutEvents: {
    EndpointId: 's',
    Entries: [{ Source: 's', DetailType: 's', Detail: 's', EventBusName: 's', Resources: 'S', Time: 't', TraceHeader: 's' }],
  },
  TestEventPattern: { EventPattern: 's', Event: 's' },
  ListEventBuses: LIST,
  DescribeEventBus: { Name: 's' },
  CreateEventBus: {
    Name: 's',
    EventSourceName: 's',
    Description: 's',
    KmsKeyIdentifier: 's',
    DeadLetterConfig: { Arn: 's' },
    Tags: [{ Key: 's', Value: 's' }],
  },
  DeleteEventBus: { Name: 's' },
  ListRules: { ...LIST, EventBusName: 's' },
  DescribeRule: { Name: 's', EventBusName: 's' },
  ListTargetsByRule: { Rule: 's', EventBusName: 's', NextToken: 's', Limit: 'i' },
  PutRule: { Name: 's', EventBusName: 's', EventPattern: 's', ScheduleExpression: 's', State: 's', Description: 's', RoleArn: 's' },
  DeleteRule: { Name: 's', EventBusName: 's', Force: 'b' },
  // Each target's members are checked by apiTarget, which names the target.
  PutTargets: { Rule: 's', EventBusName: 's', Targets: [{}] },
  RemoveTargets: { Rule: 's', EventBusName: 's', Ids: 'S', Force: 'b' },
  ListArchives: { ...LIST, EventSourceArn: 's', State: 's' },
  DescribeArchive: { ArchiveName: 's' },
  CreateArchive: { ArchiveName: 's', EventSourceArn: 's', Description: 's', EventPattern: 's', RetentionDays: 'i', KmsKeyIdentifier: 's' },
  UpdateArchive: { ArchiveName: 's', Description: 's', EventPattern: 's', RetentionDays: 'i', KmsKeyIdentifier: 's' },
  DeleteArchive: { ArchiveName: 's' },
  StartReplay: {
    ReplayName: 's',
    Description: 's',
    EventSourceArn: 's',
    EventStartTime: 't',
    EventEndTime: 't',
    Destination: { Arn: 's', FilterArns: 'S' },
  },
  DescribeReplay: { ReplayName: 's' },
  ListReplays: { ...LIST, State: 's', EventSourceArn: 's' },
  CancelReplay: { ReplayName: 's' },
};
