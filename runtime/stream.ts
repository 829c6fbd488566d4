/**
 * The runtime's typed event stream. The parts of the runtime say what happened here (an
 * event published, a message received, a function failed) and everything that observes
 * them subscribes: the log, the CLI, tests, and later CloudTrail and CloudWatch emulation.
 * Each event is a value with a name and a typed payload; subscribers run synchronously, in
 * subscription order, at the moment the event happens.
 *
 * Other modules may add events with `declare module './stream' { interface RuntimeEvents { ... } }`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Clock } from './clock';

/**
 * Who made the API call that caused an event, as CloudTrail's `userIdentity` names it: the
 * account's root user, an IAM user, a role session (issued by the runtime's STS), or an
 * unsigned caller (`Unknown`, arn `anonymous`). See runtime/identity/.
 */
export type Principal =
  | { type: 'Root'; arn: string; accountId: string; accessKeyId?: string }
  | { type: 'IAMUser'; arn: string; accountId: string; userName: string; accessKeyId?: string; principalId?: string }
  | {
      type: 'AssumedRole';
      arn: string;
      accountId: string;
      roleArn: string;
      sessionName: string;
      accessKeyId?: string;
      /** The role's unique id (`AROA...`), as GetCallerIdentity's `UserId` shows it. */
      roleId?: string;
      /** Clock time (epoch ms) the session was issued. */
      sessionCreated?: number;
    }
  | { type: 'Unknown'; arn: string; accountId: string; accessKeyId?: string };

/** The API request an event happened in, when it happened in one (not for timers or internal deliveries). */
export interface RequestContext {
  requestId: string;
  /** `AWSEvents.PutEvents`, `AmazonSQS.ReceiveMessage`, `SendMessage` (query protocol)... */
  operation?: string;
  principal?: Principal;
  sourceIp?: string;
}

const requestContext = new AsyncLocalStorage<RequestContext>();

/** Runs `fn` as part of one API request, so events it causes carry that request's id and principal. */
export function withRequest<T>(context: RequestContext, fn: () => T): T {
  return requestContext.run(context, fn);
}

export function currentRequest(): RequestContext | undefined {
  return requestContext.getStore();
}

interface QueueRef {
  queueName: string;
  queueArn: string;
}

interface RuleRef {
  busName: string;
  ruleName: string;
  ruleArn: string;
}

interface TargetRef extends RuleRef {
  targetId: string;
  targetArn: string;
  eventId: string;
}

export interface RuntimeEvents {
  'runtime.ready': { endpoint: string; stacks: string[]; startupMs: number };
  'runtime.closing': { pendingRetries: number };
  'runtime.warning': { message: string };

  /** PutEvents accepted an entry (or a replay or another bus re-sent one). */
  'event.published': {
    busName: string;
    busArn: string;
    eventId: string;
    source: string;
    detailType: string;
    time: string;
    resources: string[];
    sizeBytes: number;
    replayName?: string;
    /** Set when the event came from another bus through a rule target. */
    fromRuleArn?: string;
  };
  /** PutEvents refused one entry; the entry's index in the request and its error. */
  'event.rejected': { busName?: string; index: number; errorCode: string; errorMessage: string; source?: string; detailType?: string };
  'event.unmatched': { busName: string; busArn: string; eventId: string };
  /** A PutEvents request was answered: its entries and how many of them failed. */
  'events.put': { entries: number; failed: number };
  'rule.matched': RuleRef & { eventId: string; targets: number; replayName?: string };
  'rule.put': RuleRef & { state: string; eventPattern?: string; scheduleExpression?: string; created: boolean };
  'rule.deleted': RuleRef;
  'targets.put': RuleRef & { targetIds: string[]; failedIds: string[] };

  'target.delivered': TargetRef & { attempt: number; latencyMs: number };
  /** The target's input selects nothing (InputPath), so nothing is delivered, as in AWS. */
  'target.skipped': TargetRef & { reason: string };
  'target.failed': TargetRef & { attempt: number; errorCode: string; errorMessage: string; retryable: boolean };
  'target.retried': TargetRef & { attempt: number; delayMs: number; ageMs: number };
  'target.dead-lettered': TargetRef & {
    deadLetterQueueArn: string;
    messageId: string;
    errorCode: string;
    errorMessage: string;
    retryAttempts: number;
    exhaustedRetryCondition?: 'MaximumRetryAttempts' | 'MaximumEventAgeInSeconds';
  };
  /** EventBridge drops the event: its delivery failed and there is no usable dead-letter queue. */
  'target.dropped': TargetRef & {
    errorCode: string;
    errorMessage: string;
    reason: string;
    /** The dead-letter queue the target names, when it has one that is missing or refused the event. */
    deadLetterQueueArn?: string;
  };

  'message.sent': QueueRef & {
    messageId: string;
    bytes: number;
    delaySeconds: number;
    groupId?: string;
    sequenceNumber?: string;
    /** A FIFO duplicate within the deduplication interval: accepted, not stored again. */
    duplicate: boolean;
  };
  'message.received': QueueRef & { messageId: string; receiveCount: number; visibilityTimeoutSeconds: number; receiptHandle: string };
  'message.deleted': QueueRef & { messageId: string; receiveCount: number };
  /** Its visibility timeout passed without a delete; it is visible again. */
  'message.visible-again': QueueRef & { messageId: string; receiveCount: number };
  'message.dead-lettered': QueueRef & { messageId: string; receiveCount: number; deadLetterQueueName: string; deadLetterQueueArn: string };
  'message.expired': QueueRef & { messageId: string; ageSeconds: number };
  'message.moved': QueueRef & { messageId: string; destinationName: string; destinationArn: string; taskHandle: string };
  'queue.created': QueueRef & { fifo: boolean };
  'queue.deleted': QueueRef & { messages: number };
  'queue.purged': QueueRef & { messages: number };
  'queue.attributes-set': QueueRef & { names: string[] };

  'function.invoked': {
    functionName: string;
    functionArn: string;
    invocationType: 'RequestResponse' | 'Event';
    /** The queue of an event source mapping, or the rule of an EventBridge target. */
    sourceArn: string;
    records: number;
    messageIds: string[];
  };
  'function.completed': { functionName: string; functionArn: string; sourceArn: string; durationMs: number; ok: number; failed: number };
  'function.failed': {
    functionName: string;
    functionArn: string;
    sourceArn: string;
    durationMs: number;
    errorType: string;
    errorMessage: string;
    records: number;
  };
  /** Records a function reported in batchItemFailures, or a response that failed the whole batch. */
  'batch.item-failed': {
    functionName: string;
    functionArn: string;
    queueName: string;
    queueArn: string;
    messageIds: string[];
    reason: string;
  };
  'mapping.paused': { functionName: string; queueArn: string; reason: string };
  /** One line a function wrote to stdout or stderr (its log output, EMF metrics included). */
  'function.output': { functionName: string; functionArn: string; line: string };

  /** A CloudWatch alarm changed state. */
  'alarm.state-changed': { alarmName: string; alarmArn: string; oldState: string; newState: string; reason: string };
  /** An alarm action's notification to an SNS topic (recorded, not delivered: SNS is not emulated). */
  'alarm.notified': { alarmName: string; alarmArn: string; topicArn: string; subject: string; newState: string };

  'schedule.fired': { ruleName: string; ruleArn: string; eventId: string; scheduleExpression: string };
  'archive.stored': { archiveName: string; archiveArn: string; eventId: string; bytes: number };
  /** Events removed from an archive: past RetentionDays, or the oldest ones over the memory cap. */
  'archive.evicted': { archiveName: string; archiveArn: string; events: number; bytes: number; reason: 'retention' | 'cap' };
  'replay.started': { replayName: string; replayArn: string; archiveName: string; events: number };
  'replay.ended': { replayName: string; replayArn: string; state: string; replayed: number; reason?: string };

  /**
   * A call the app's policies deny (runtime/identity/): refused in `enforce` mode, allowed and
   * reported in `warn` mode. `message` is AWS's access-denied message; `decidedBy` the statement
   * that decided an explicit deny.
   */
  'access.denied': {
    mode: 'warn' | 'enforce';
    operation: string;
    principalArn: string;
    action: string;
    resource: string;
    decision: 'ExplicitDeny' | 'ImplicitDeny';
    decidedBy?: string;
    explanation: string;
    message: string;
  };
  /** A request whose credentials AWS would refuse (unsigned, unknown or expired key, bad signature). */
  'identity.refused': { mode: 'warn' | 'enforce'; operation: string; code: string; message: string; accessKeyId?: string };
  /** STS issued temporary credentials (AssumeRole, GetSessionToken, or a function's execution role). */
  'session.issued': {
    arn: string;
    accessKeyId: string;
    roleArn?: string;
    sessionName?: string;
    /** ISO time; absent for a function's credentials, which the runtime renews as Lambda does. */
    expiration?: string;
    callerArn?: string;
  };
}

export type RuntimeEventType = keyof RuntimeEvents;

/** One event as subscribers see it. */
export interface RuntimeEvent<T extends RuntimeEventType = RuntimeEventType> {
  type: T;
  properties: RuntimeEvents[T];
  /** Clock time it happened (epoch ms). */
  at: number;
  /** Increases by one per event of this stream. */
  seq: number;
  accountId: string;
  region: string;
  /** The API request that caused it, if any. */
  request?: RequestContext;
}

/** Any event, narrowed by `type`. */
export type AnyRuntimeEvent = { [K in RuntimeEventType]: RuntimeEvent<K> }[RuntimeEventType];

export interface Subscription {
  unsubscribe(): void;
}

export class EventStream {
  private readonly subscribers = new Map<string, Set<(e: AnyRuntimeEvent) => void>>();
  private readonly all = new Set<(e: AnyRuntimeEvent) => void>();
  private seq = 0;

  constructor(
    readonly clock: Clock,
    readonly accountId: string,
    readonly region: string,
  ) {}

  publish<T extends RuntimeEventType>(type: T, properties: RuntimeEvents[T]): void {
    const typed = this.subscribers.get(type);
    if (!typed?.size && this.all.size === 0) {
      this.seq++;
      return;
    }
    const event = {
      type,
      properties,
      at: this.clock.now(),
      seq: ++this.seq,
      accountId: this.accountId,
      region: this.region,
      request: currentRequest(),
    } as RuntimeEvent<T> as AnyRuntimeEvent;
    for (const cb of this.all) deliver(cb, event);
    if (typed) for (const cb of typed) deliver(cb, event);
  }

  subscribe<T extends RuntimeEventType>(type: T, cb: (e: RuntimeEvent<T>) => void): Subscription {
    let set = this.subscribers.get(type);
    if (!set) this.subscribers.set(type, (set = new Set()));
    const f = cb as unknown as (e: AnyRuntimeEvent) => void;
    set.add(f);
    return { unsubscribe: () => set.delete(f) };
  }

  /** Every event, in order. */
  subscribeAll(cb: (e: AnyRuntimeEvent) => void): Subscription {
    this.all.add(cb);
    return { unsubscribe: () => this.all.delete(cb) };
  }

  /** Events published so far. */
  get count(): number {
    return this.seq;
  }

  /** Whether anyone listens for `type`, so a publisher can skip building an expensive payload. */
  wants(type: RuntimeEventType): boolean {
    return this.all.size > 0 || (this.subscribers.get(type)?.size ?? 0) > 0;
  }
}

/** A subscriber that throws must not break the runtime path that published the event. */
function deliver(cb: (e: AnyRuntimeEvent) => void, e: AnyRuntimeEvent): void {
  try {
    cb(e);
  } catch (err) {
    process.emitWarning(`runtime event subscriber failed on ${e.type}: ${(err as Error).stack ?? String(err)}`);
  }
}

/** The stream as an idle driver sees it (clock.ts `driveWhenIdle`): events so far, and invocations still running. */
export function runtimeActivity(stream: EventStream): { readonly seq: number; readonly busy: number; stop(): void } {
  let busy = 0;
  const subs = [
    stream.subscribe('function.invoked', () => busy++),
    stream.subscribe('function.completed', () => busy--),
    stream.subscribe('function.failed', () => busy--),
  ];
  return {
    get seq() {
      return stream.count;
    },
    get busy() {
      return busy;
    },
    stop: () => subs.forEach((s) => s.unsubscribe()),
  };
}
