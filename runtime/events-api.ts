/**
 * EventBridge over HTTP: AWS JSON 1.1, `X-Amz-Target: AWSEvents.<Action>`.
 * Timestamps travel as epoch seconds. https://docs.aws.amazon.com/eventbridge/latest/APIReference/
 */
import { InvalidEventError, InvalidEventPatternError, testEventPattern } from '../engine';
import { AwsError, validation } from './errors';
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
      `1 validation error detected: Value '${i.Limit}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100`,
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
});

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

export const EVENTS_ACTIONS: Record<string, Action> = {
  PutEvents: (b, i) => b.putEvents(i.Entries),
  TestEventPattern: (_b, i) => {
    const pattern = required(i, 'EventPattern');
    const event = required(i, 'Event');
    try {
      // The API, unlike rule matching of delivered events, rejects an event without the envelope.
      return { Result: testEventPattern(pattern, event, { requireEnvelope: true }) };
    } catch (e) {
      if (e instanceof InvalidEventPatternError) throw new AwsError('InvalidEventPatternException', e.message);
      if (e instanceof InvalidEventError) throw validation(e.message);
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
      pattern: i.EventPattern,
      scheduleExpression: i.ScheduleExpression,
      state: i.State,
      description: i.Description,
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
    const failed = b.putTargets(rule, i.Targets.map(targetFromApi));
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
};
