/**
 * In-memory EventBridge: buses, rules (matched by the pattern engine), targets with
 * Input/InputPath/InputTransformer, RetryPolicy and DeadLetterConfig, archives and replays.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-event-delivery.html
 */
import { randomUUID } from 'node:crypto';
import { RuleMatcher, TargetInput, renderTargetInput, testEventPattern, validateEventPattern, validateTargetInput } from '../engine';
import { AwsError, validation } from './errors';
import type { RuntimeLog } from './log';
import type { MessageAttributeValue, SqsBroker } from './sqs';
import type { TargetDef } from './template';

/** Entry size limit of one PutEvents request: 1 MiB since January 2026 (was 256 KiB). */
export const PUT_EVENTS_MAX_BYTES = 1024 * 1024;
export const PUT_EVENTS_MAX_ENTRIES = 10;
/** Targets per rule. https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html */
export const MAX_TARGETS_PER_RULE = 5;
/** RetryPolicy defaults of a rule target: 24 hours and 185 attempts. */
const DEFAULT_RETRY = { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86400 };

export interface Bus {
  name: string;
  arn: string;
  description?: string;
  deadLetterArn?: string;
  created: number;
  rules: Map<string, Rule>;
  matcher: RuleMatcher<string>;
}

export interface Rule {
  name: string;
  arn: string;
  bus: Bus;
  pattern?: string;
  scheduleExpression?: string;
  state: string;
  description?: string;
  targets: Map<string, TargetDef>;
}

export interface Archive {
  name: string;
  arn: string;
  sourceArn: string;
  pattern?: string;
  description?: string;
  retentionDays?: number;
  created: number;
  events: { at: number; event: Record<string, unknown>; size: number }[];
  sizeBytes: number;
}

export interface Replay {
  name: string;
  arn: string;
  description?: string;
  archive: Archive;
  destinationArn: string;
  filterArns?: string[];
  start: number;
  end: number;
  state: 'STARTING' | 'RUNNING' | 'COMPLETED' | 'CANCELLING' | 'CANCELLED' | 'FAILED';
  stateReason?: string;
  startedAt: number;
  endedAt?: number;
  lastReplayed?: number;
}

export interface PutEventsEntry {
  Source?: unknown;
  DetailType?: unknown;
  Detail?: unknown;
  Resources?: unknown;
  Time?: unknown;
  EventBusName?: unknown;
  TraceHeader?: unknown;
}

export interface PutEventsResultEntry {
  EventId?: string;
  ErrorCode?: string;
  ErrorMessage?: string;
}

/** Lambda targets are invoked asynchronously through this. */
export interface AsyncInvoker {
  hasFunction(name: string): boolean;
  invokeAsync(name: string, payload: string): void;
}

export interface DeliveryRetryOptions {
  /** First retry delay; doubles per attempt with jitter. @default 1000 */
  baseDelayMs?: number;
  /** Longest delay between two attempts. @default 60000 */
  maxDelayMs?: number;
}

/** A target delivery failure; `retryable` false goes to the DLQ at once, as EventBridge does. */
class DeliveryError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

const eventTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function entrySize(e: PutEventsEntry): number {
  let n = e.Time !== undefined ? 14 : 0;
  for (const f of [e.Source, e.DetailType, e.Detail]) if (typeof f === 'string') n += Buffer.byteLength(f);
  if (Array.isArray(e.Resources)) for (const r of e.Resources) n += Buffer.byteLength(String(r));
  return n;
}

export class EventBroker {
  readonly buses = new Map<string, Bus>();
  readonly archives = new Map<string, Archive>();
  readonly replays = new Map<string, Replay>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Interval timers of scheduled rules, by rule ARN. */
  private readonly schedules = new Map<string, NodeJS.Timeout>();
  private readonly retry: Required<DeliveryRetryOptions>;
  /** Deliveries still being retried; close() reports them rather than dropping them silently. */
  pendingRetries = 0;
  invoker?: AsyncInvoker;

  constructor(
    readonly log: RuntimeLog,
    readonly sqs: SqsBroker,
    readonly region: string,
    readonly accountId: string,
    retry: DeliveryRetryOptions = {},
  ) {
    this.retry = { baseDelayMs: retry.baseDelayMs ?? 1000, maxDelayMs: retry.maxDelayMs ?? 60000 };
    this.createBus('default');
  }

  busArn(name: string): string {
    return `arn:aws:events:${this.region}:${this.accountId}:event-bus/${name}`;
  }

  createBus(name: string, description?: string, deadLetterArn?: string): Bus {
    const bus: Bus = {
      name,
      arn: this.busArn(name),
      description,
      deadLetterArn,
      created: Date.now(),
      rules: new Map(),
      matcher: new RuleMatcher<string>(),
    };
    this.buses.set(name, bus);
    return bus;
  }

  /** A bus by name or ARN; ResourceNotFoundException otherwise. */
  bus(nameOrArn: unknown): Bus {
    const s = nameOrArn === undefined || nameOrArn === null || nameOrArn === '' ? 'default' : String(nameOrArn);
    const name = s.startsWith('arn:') ? s.slice(s.indexOf('event-bus/') + 10) : s;
    const bus = this.buses.get(name);
    if (!bus) throw new AwsError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
    return bus;
  }

  rule(bus: Bus, name: unknown): Rule {
    const r = bus.rules.get(String(name));
    if (!r) throw new AwsError('ResourceNotFoundException', `Rule ${String(name)} does not exist on EventBus ${bus.name}.`);
    return r;
  }

  ruleArn(bus: Bus, name: string): string {
    return `arn:aws:events:${this.region}:${this.accountId}:rule/${bus.name === 'default' ? '' : `${bus.name}/`}${name}`;
  }

  putRule(bus: Bus, def: { name: string; pattern?: string; scheduleExpression?: string; state?: string; description?: string }): Rule {
    if (!/^[.\-_A-Za-z0-9]{1,64}$/.test(def.name)) {
      throw validation(
        `1 validation error detected: Value '${def.name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ and have length at most 64`,
      );
    }
    if (def.pattern === undefined && def.scheduleExpression === undefined) {
      throw validation('Parameter(s) EventPattern or ScheduleExpression must be specified.');
    }
    if (def.pattern !== undefined) {
      try {
        validateEventPattern(def.pattern);
      } catch (e) {
        throw new AwsError('InvalidEventPatternException', (e as Error).message);
      }
    }
    const state = def.state ?? 'ENABLED';
    if (!['ENABLED', 'DISABLED', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS'].includes(state)) {
      throw validation(
        `1 validation error detected: Value '${state}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]`,
      );
    }
    const every = def.scheduleExpression === undefined ? undefined : scheduleInterval(def.scheduleExpression, bus.name);
    const existing = bus.rules.get(def.name);
    const rule: Rule = { ...def, state, arn: this.ruleArn(bus, def.name), bus, targets: existing?.targets ?? new Map() };
    bus.rules.set(def.name, rule);
    bus.matcher.remove(def.name);
    if (rule.pattern !== undefined && state !== 'DISABLED') bus.matcher.add(def.name, rule.pattern);
    this.unschedule(rule.arn);
    if (every === null) this.log.always(`rule ${rule.name}: ${def.scheduleExpression} is accepted but cron schedules are not run locally`);
    else if (every !== undefined && state !== 'DISABLED') {
      const timer = setInterval(() => this.fireSchedule(rule), every);
      timer.unref?.();
      this.schedules.set(rule.arn, timer);
    }
    return rule;
  }

  private unschedule(ruleArn: string): void {
    const t = this.schedules.get(ruleArn);
    if (t) clearInterval(t);
    this.schedules.delete(ruleArn);
  }

  /** A scheduled rule's event, as EventBridge sends it: source aws.events, the rule as resource. */
  private fireSchedule(rule: Rule): void {
    const now = Date.now();
    const event: Record<string, unknown> = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: this.accountId,
      time: eventTime(now),
      region: this.region,
      resources: [rule.arn],
      detail: {},
    };
    this.log.event('schedule', { rule: rule.name, id: event.id as string });
    for (const t of rule.targets.values()) this.deliver(rule, t, event, now, 0);
  }

  deleteRule(bus: Bus, name: string): void {
    const r = bus.rules.get(name);
    if (!r) return; // DeleteRule on a missing rule succeeds, as in AWS.
    if (r.targets.size > 0) throw validation("Rule can't be deleted since it has targets.");
    this.unschedule(r.arn);
    bus.rules.delete(name);
    bus.matcher.remove(name);
  }

  /** Validates and adds targets; problems with one target are reported per entry. */
  putTargets(rule: Rule, targets: TargetDef[]): { TargetId: string; ErrorCode: string; ErrorMessage: string }[] {
    const failed: { TargetId: string; ErrorCode: string; ErrorMessage: string }[] = [];
    for (const t of targets) {
      if (!t.id || !/^[.\-_A-Za-z0-9]{1,64}$/.test(t.id))
        throw validation(
          `1 validation error detected: Value '${t.id}' at 'targets.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+`,
        );
      if (!t.arn) throw validation(`Parameter Arn of target ${t.id} is required.`);
      validateTargetInput(targetInput(t), t.id);
      if (!rule.targets.has(t.id) && rule.targets.size >= MAX_TARGETS_PER_RULE) {
        throw new AwsError(
          'LimitExceededException',
          `The requested resource exceeds the maximum number allowed. Rule ${rule.name} has ${MAX_TARGETS_PER_RULE} targets.`,
        );
      }
      const attempts = t.retryPolicy?.maximumRetryAttempts;
      const age = t.retryPolicy?.maximumEventAgeInSeconds;
      if (attempts !== undefined && (attempts < 0 || attempts > 185))
        throw validation(`RetryPolicy.MaximumRetryAttempts of target ${t.id} must be between 0 and 185.`);
      if (age !== undefined && (age < 60 || age > 86400))
        throw validation(`RetryPolicy.MaximumEventAgeInSeconds of target ${t.id} must be between 60 and 86400.`);
      rule.targets.set(t.id, t);
    }
    return failed;
  }

  /**
   * PutEvents: validates every entry, assigns id and time, archives, matches and delivers.
   * Per-entry problems come back in the entry, as EventBridge reports them.
   */
  putEvents(entries: unknown): { FailedEntryCount: number; Entries: PutEventsResultEntry[] } {
    if (!Array.isArray(entries) || entries.length === 0) {
      throw validation("1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null");
    }
    if (entries.length > PUT_EVENTS_MAX_ENTRIES) {
      throw validation(
        `1 validation error detected: Value '[${entries.length} entries]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${PUT_EVENTS_MAX_ENTRIES}`,
      );
    }
    const total = entries.reduce((n: number, e: PutEventsEntry) => n + entrySize(e ?? {}), 0);
    if (total > PUT_EVENTS_MAX_BYTES) {
      throw validation(`Total size of the entries in the request is over the limit (${total} bytes, limit ${PUT_EVENTS_MAX_BYTES}).`);
    }
    const results: PutEventsResultEntry[] = [];
    let failed = 0;
    const now = Date.now();
    for (const raw of entries as PutEventsEntry[]) {
      const r = this.acceptEntry(raw ?? {}, now);
      if ('ErrorCode' in r) {
        failed++;
        results.push(r);
        this.log.event('reject', { code: r.ErrorCode, reason: r.ErrorMessage });
      } else {
        results.push({ EventId: r.event.id as string });
        this.ingest(r.bus, r.event, now);
      }
    }
    return { FailedEntryCount: failed, Entries: results };
  }

  private acceptEntry(
    e: PutEventsEntry,
    now: number,
  ): { bus: Bus; event: Record<string, unknown> } | { ErrorCode: string; ErrorMessage: string } {
    const invalid = (field: string, reason: string) => ({
      ErrorCode: 'InvalidArgument',
      ErrorMessage: `Parameter ${field} is not valid. Reason: ${reason}`,
    });
    for (const f of ['Source', 'DetailType', 'Detail'] as const) {
      if (typeof e[f] !== 'string' || (e[f] as string).length === 0) return invalid(f, `${f} is a required argument.`);
    }
    const source = e.Source as string;
    const detailType = e.DetailType as string;
    if (source.length > 256) return invalid('Source', 'Provided Source must not exceed 256 characters.');
    if (detailType.length > 128) return invalid('DetailType', 'Provided DetailType must not exceed 128 characters.');
    if (source.startsWith('aws.')) {
      return { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: `Not authorized for the source ${source}.` };
    }
    let detail: unknown;
    try {
      detail = JSON.parse(e.Detail as string);
    } catch {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail))
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    let bus: Bus;
    try {
      bus = this.bus(e.EventBusName);
    } catch (err) {
      return { ErrorCode: 'ResourceNotFoundException', ErrorMessage: (err as Error).message };
    }
    if (e.Resources !== undefined && (!Array.isArray(e.Resources) || e.Resources.some((x) => typeof x !== 'string'))) {
      return invalid('Resources', 'Resources must be a list of strings.');
    }
    let time = now;
    if (e.Time !== undefined) {
      const t = e.Time instanceof Date ? e.Time.getTime() : typeof e.Time === 'number' ? e.Time * 1000 : Date.parse(String(e.Time));
      if (!Number.isFinite(t)) return invalid('Time', 'Time is not a valid timestamp.');
      time = t;
    }
    const event: Record<string, unknown> = {
      version: '0',
      id: randomUUID(),
      'detail-type': detailType,
      source,
      account: this.accountId,
      time: eventTime(time),
      region: this.region,
      resources: (e.Resources as string[] | undefined) ?? [],
      detail,
    };
    return { bus, event };
  }

  /** Archives, matches and delivers one accepted event. */
  ingest(bus: Bus, event: Record<string, unknown>, ingestedAt: number, replay?: Replay): void {
    const log = !this.log.quiet;
    if (log)
      this.log.event(replay ? 'replay' : 'publish', {
        bus: bus.name,
        id: event.id as string,
        source: event.source as string,
        'detail-type': event['detail-type'] as string,
      });
    if (!replay) this.archive(bus, event, ingestedAt);
    const matched = bus.matcher.match(event);
    for (const name of matched) {
      const rule = bus.rules.get(name);
      if (!rule || rule.state === 'DISABLED') continue;
      if (replay?.filterArns && replay.filterArns.length > 0 && !replay.filterArns.includes(rule.arn)) continue;
      if (log) this.log.event('match', { bus: bus.name, rule: rule.name, id: event.id as string, targets: rule.targets.size });
      for (const t of rule.targets.values()) this.deliver(rule, t, event, ingestedAt, 0);
    }
    if (log && matched.length === 0) this.log.event('nomatch', { bus: bus.name, id: event.id as string });
  }

  private archive(bus: Bus, event: Record<string, unknown>, at: number): void {
    for (const a of this.archives.values()) {
      if (a.sourceArn !== bus.arn) continue;
      if (a.pattern !== undefined && !testEventPattern(a.pattern, event)) continue;
      const size = JSON.stringify(event).length;
      a.events.push({ at, event, size });
      a.sizeBytes += size;
    }
  }

  private deliver(rule: Rule, t: TargetDef, event: Record<string, unknown>, ingestedAt: number, attempt: number): void {
    let body: string | undefined;
    try {
      body = renderTargetInput(event, targetInput(t), {
        ruleArn: rule.arn,
        ruleName: rule.name,
        eventBusName: rule.bus.name,
        ingestionTime: eventTime(ingestedAt),
        targetId: t.id,
      });
    } catch (err) {
      this.fail(rule, t, event, ingestedAt, attempt, new DeliveryError('InvalidTargetInput', (err as Error).message, false));
      return;
    }
    // An input path that selects nothing delivers nothing, as in AWS.
    if (body === undefined) {
      this.log.event('skip', { rule: rule.name, target: t.id, id: event.id as string, reason: 'input selects nothing' });
      return;
    }
    try {
      this.send(t, body, event);
      if (!this.log.quiet)
        this.log.event('deliver', { rule: rule.name, target: targetName(t.arn), id: event.id as string, attempt: attempt + 1 });
    } catch (err) {
      const e = err instanceof DeliveryError ? err : new DeliveryError('InternalFailure', (err as Error).message, true);
      this.fail(rule, t, event, ingestedAt, attempt, e);
    }
  }

  private send(t: TargetDef, body: string, event: Record<string, unknown>): void {
    const [, , service] = t.arn.split(':');
    if (service === 'sqs') {
      const q = this.sqs.byArn(t.arn);
      if (!q) throw new DeliveryError('SQS.NonExistentQueue', `Queue ${t.arn} does not exist.`, false);
      try {
        q.send({ body, groupId: q.fifo ? (t.sqsMessageGroupId ?? 'default') : undefined, dedupId: q.fifo ? String(event.id) : undefined });
      } catch (err) {
        const e = err as AwsError;
        throw new DeliveryError(`SQS.${e.code ?? 'Error'}`, e.message, false);
      }
      return;
    }
    if (service === 'events' && t.arn.includes(':event-bus/')) {
      let target: Bus;
      try {
        target = this.bus(t.arn);
      } catch (err) {
        throw new DeliveryError('ResourceNotFoundException', (err as Error).message, false);
      }
      setImmediate(() => this.ingest(target, { ...event, id: randomUUID() }, Date.now()));
      return;
    }
    if (service === 'lambda' && this.invoker) {
      const name = t.arn.split(':')[6];
      if (!this.invoker.hasFunction(name))
        throw new DeliveryError('Lambda.ResourceNotFoundException', `Function not found: ${t.arn}`, false);
      this.invoker.invokeAsync(name, body);
      return;
    }
    throw new DeliveryError('UnsupportedTarget', `Targets of this type are not emulated locally: ${t.arn}`, false);
  }

  private fail(rule: Rule, t: TargetDef, event: Record<string, unknown>, ingestedAt: number, attempt: number, err: DeliveryError): void {
    const policy = { ...DEFAULT_RETRY, ...definedOnly(t.retryPolicy ?? {}) };
    const ageMs = Date.now() - ingestedAt;
    const delay = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** attempt) * (0.5 + Math.random() / 2);
    const attemptsLeft = attempt < policy.maximumRetryAttempts;
    const ageLeft = ageMs + delay < policy.maximumEventAgeInSeconds * 1000;
    this.log.event('failure', {
      rule: rule.name,
      target: targetName(t.arn),
      id: event.id as string,
      attempt: attempt + 1,
      code: err.code,
      reason: err.message,
    });
    if (err.retryable && attemptsLeft && ageLeft) {
      this.pendingRetries++;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.pendingRetries--;
        this.deliver(rule, t, event, ingestedAt, attempt + 1);
      }, delay);
      this.timers.add(timer);
      return;
    }
    const exhausted = !err.retryable ? undefined : !attemptsLeft ? 'MaximumRetryAttempts' : 'MaximumEventAgeInSeconds';
    this.deadLetter(rule, t, event, attempt, err, exhausted);
  }

  /** Sends the event to the target's DLQ with the attributes EventBridge adds. */
  private deadLetter(
    rule: Rule,
    t: TargetDef,
    event: Record<string, unknown>,
    retries: number,
    err: DeliveryError,
    exhausted?: string,
  ): void {
    const dlq = t.deadLetterArn ? this.sqs.byArn(t.deadLetterArn) : undefined;
    if (!dlq) {
      // No DLQ (or it is gone): EventBridge drops the event. Say so loudly.
      this.log.always(
        `DROPPED event ${String(event.id)} for rule ${rule.name} target ${t.id}: ${err.code}: ${err.message}${t.deadLetterArn ? ` (dead-letter queue ${t.deadLetterArn} does not exist)` : ' (no dead-letter queue)'}`,
      );
      return;
    }
    const s = (v: string): MessageAttributeValue => ({ DataType: 'String', StringValue: v });
    const attributes: Record<string, MessageAttributeValue> = {
      RULE_ARN: s(rule.arn),
      TARGET_ARN: s(t.arn),
      ERROR_CODE: s(err.code),
      ERROR_MESSAGE: s(err.message.slice(0, 1000)),
      RETRY_ATTEMPTS: { DataType: 'Number', StringValue: String(retries) },
      ...(exhausted ? { EXHAUSTED_RETRY_CONDITION: s(exhausted) } : {}),
    };
    try {
      dlq.send({
        body: JSON.stringify(event),
        attributes,
        groupId: dlq.fifo ? 'default' : undefined,
        dedupId: dlq.fifo ? String(event.id) : undefined,
      });
      this.log.event('dlq', { rule: rule.name, target: t.id, to: dlq.name, id: event.id as string, code: err.code });
    } catch (e) {
      this.log.always(
        `DROPPED event ${String(event.id)} for rule ${rule.name}: its dead-letter queue ${dlq.name} refused it: ${(e as Error).message}`,
      );
    }
  }

  /** StartReplay: re-delivers archived events from [start, end) to the archive's bus. */
  startReplay(input: {
    name: string;
    description?: string;
    archiveArn: string;
    start: number;
    end: number;
    destinationArn: string;
    filterArns?: string[];
  }): Replay {
    if (!/^[.\-_A-Za-z0-9]{1,64}$/.test(input.name))
      throw validation(
        `1 validation error detected: Value '${input.name}' at 'replayName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+`,
      );
    if (this.replays.has(input.name)) throw new AwsError('ResourceAlreadyExistsException', `Replay ${input.name} already exists.`);
    const archive = [...this.archives.values()].find((a) => a.arn === input.archiveArn);
    if (!archive) throw new AwsError('ResourceNotFoundException', `Archive ${input.archiveArn.split('/').pop()} does not exist.`);
    if (!(input.end > input.start))
      throw validation('Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.');
    if (input.end > Date.now() + 1000)
      throw validation('Parameter EventEndTime is not valid. Reason: EventEndTime must not be in the future.');
    if (input.destinationArn !== archive.sourceArn) {
      throw validation('Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.');
    }
    const bus = this.bus(input.destinationArn);
    for (const f of input.filterArns ?? []) {
      if (![...bus.rules.values()].some((r) => r.arn === f)) throw new AwsError('ResourceNotFoundException', `Rule ${f} does not exist.`);
    }
    const replay: Replay = {
      name: input.name,
      arn: `arn:aws:events:${this.region}:${this.accountId}:replay/${input.name}`,
      description: input.description,
      archive,
      destinationArn: input.destinationArn,
      filterArns: input.filterArns,
      start: input.start,
      end: input.end,
      state: 'STARTING',
      startedAt: Date.now(),
    };
    this.replays.set(replay.name, replay);
    const events = archive.events.filter((e) => e.at >= input.start && e.at < input.end);
    this.log.event('replay', { name: replay.name, archive: archive.name, events: events.length });
    const run = (i: number) => {
      if (replay.state === 'CANCELLING') {
        replay.state = 'CANCELLED';
        replay.endedAt = Date.now();
        return;
      }
      replay.state = 'RUNNING';
      // Chunks keep a large replay from starving the endpoint.
      const stop = Math.min(events.length, i + 100);
      try {
        for (; i < stop; i++) {
          const e = events[i];
          this.ingest(bus, { ...e.event, 'replay-name': replay.name }, Date.now(), replay);
          replay.lastReplayed = e.at;
        }
      } catch (err) {
        replay.state = 'FAILED';
        replay.stateReason = (err as Error).message;
        replay.endedAt = Date.now();
        this.log.always(`replay ${replay.name} failed after ${i} of ${events.length} events: ${(err as Error).message}`);
        return;
      }
      if (i < events.length) setImmediate(() => run(i));
      else {
        replay.state = 'COMPLETED';
        replay.endedAt = Date.now();
      }
    };
    setImmediate(() => run(0));
    return replay;
  }

  close(): void {
    for (const t of this.schedules.values()) clearInterval(t);
    this.schedules.clear();
    for (const t of this.timers) clearTimeout(t);
    if (this.pendingRetries > 0)
      this.log.always(
        `${this.pendingRetries} target deliveries were still being retried at shutdown and are lost with the in-memory state`,
      );
    this.timers.clear();
  }
}

const RATE_UNITS: Record<string, number> = {
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
};

/**
 * Milliseconds between runs of `rate(N unit)`; null for a valid `cron(...)`, which is not run.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
 */
export function scheduleInterval(expression: string, busName: string): number | null {
  if (busName !== 'default') throw validation('ScheduleExpression is supported only on the default event bus.');
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const n = Number(rate[1]);
    // "rate(1 minute)" is singular, "rate(5 minutes)" plural, as EventBridge requires.
    if (n > 0 && (n === 1) === !rate[2].endsWith('s')) return n * RATE_UNITS[rate[2]];
  } else if (/^cron\((\S+ ){5}\S+\)$/.test(expression)) {
    return null;
  }
  throw validation('Parameter ScheduleExpression is not valid.');
}

export function targetInput(t: TargetDef): TargetInput {
  return { input: t.input, inputPath: t.inputPath, inputTransformer: t.inputTransformer };
}

function targetName(arn: string): string {
  return arn.split(/[:/]/).pop() ?? arn;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
