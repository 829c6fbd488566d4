/**
 * In-memory EventBridge for every account of the app: buses (each with its own account and
 * region, found by name in the caller's account or by ARN in any), rules (matched by the pattern engine) and
 * their targets, and PutEvents. Delivery with retries and dead-letter queues is in
 * events-delivery.ts, archives and replays in events-archive.ts, schedules in
 * events-schedule.ts and PutEvents validation in events-validation.ts; this module
 * re-exports them so the HTTP adapter (events-api.ts) imports one module.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-event-delivery.html
 */
import { randomUUID } from 'node:crypto';
import { RuleMatcher, validateEventPattern, validateTargetInput } from '../engine';
import { arns, parseArn, partitionOf } from '../assembly/arn';
import type { Clock } from './clock';
import type { DeliveryAuthorizer } from './delivery-authorization';
import { AwsError, validation } from './errors';
import { Archive, ArchiveChanges, ArchiveDef, ArchiveLimits, Archives, Replay, ReplayInput } from './events-archive';
import { DeliveryRetryOptions, FunctionInvoker, TargetDelivery, targetInput } from './events-delivery';
import { Schedules, scheduleInterval } from './events-schedule';
import {
  EventBridgeEvent,
  PutEventsResultEntry,
  busNameFrom,
  entrySize,
  eventTime,
  validatePutEventsEntry,
  validatePutEventsRequest,
} from './events-validation';
import type { SqsBroker } from './sqs';
import type { EventStream } from './stream';
import type { TargetDef } from './template';

export * from './events-archive';
export * from './events-delivery';
export * from './events-schedule';
export * from './events-validation';

declare module './stream' {
  interface RuntimeEvents {
    /** CreateEventBus made a bus (the template's buses are listed in the topology). */
    'bus.created': { busName: string; busArn: string };
    'bus.deleted': { busName: string; busArn: string };
  }
}

/** Targets per rule. https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html */
export const MAX_TARGETS_PER_RULE = 5;
/** Rules per event bus (an adjustable quota in AWS; its default here). */
export const MAX_RULES_PER_BUS = 300;
/** Longest rule description. https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html */
export const MAX_RULE_DESCRIPTION = 512;
/** Event buses per account, the default bus included. https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html */
export const MAX_EVENT_BUSES = 100;
/** Longest event bus name and description. https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateEventBus.html */
export const MAX_BUS_NAME = 256;
export const MAX_BUS_DESCRIPTION = 512;

export type RuleState = 'ENABLED' | 'DISABLED' | 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';
const RULE_STATES: readonly RuleState[] = ['ENABLED', 'DISABLED', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS'];

export interface Bus {
  name: string;
  arn: string;
  /** The account and region of the bus (its stack's); its rules' ARNs carry them too. */
  account: string;
  region: string;
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
  /** A rule has an event pattern, a schedule, or both. */
  pattern?: string;
  scheduleExpression?: string;
  state: RuleState;
  description?: string;
  targets: Map<string, TargetDef>;
}

export interface RuleInput {
  name: string;
  pattern?: unknown;
  scheduleExpression?: unknown;
  state?: unknown;
  description?: unknown;
}

export interface PutTargetsFailure {
  TargetId: string;
  ErrorCode: string;
  ErrorMessage: string;
}

export interface EventBrokerOptions {
  clock: Clock;
  stream: EventStream;
  sqs: SqsBroker;
  region: string;
  accountId: string;
  /** Lambda targets are invoked through this; without it they fail as unsupported targets. */
  functions?: FunctionInvoker;
  /** Backoff between target delivery retries. @default 1 s doubling up to 60 s */
  deliveryRetry?: DeliveryRetryOptions;
  /** Memory cap of each archive. @default 100,000 events or 64 MiB */
  archiveLimits?: ArchiveLimits;
  /**
   * Checks deliveries to queues against the app's queue and key policies (`deliveryAuthorizer()`
   * in delivery-authorization.ts). @default - nothing is checked
   */
  deliveryAuthorizer?: DeliveryAuthorizer;
}

const NAME = /^[.\-_A-Za-z0-9]{1,64}$/;
const BUS_NAME = /^[/.\-_A-Za-z0-9]+$/;
/** A value echoed in an error message, cut to a readable length. */
const clip = (v: string) => (v.length > 300 ? `${v.slice(0, 300)}...` : v);

/** The account and region a bus lives in. */
export interface BusPlacement {
  account: string;
  region: string;
}

export class EventBroker {
  /** The caller's account's buses, by name (what the API lists and names resolve to). */
  readonly buses = new Map<string, Bus>();
  /** Every bus of every account, by ARN. */
  readonly busesByArn = new Map<string, Bus>();
  readonly region: string;
  readonly accountId: string;
  private readonly clock: Clock;
  private readonly stream: EventStream;
  private readonly delivery: TargetDelivery;
  private readonly schedules: Schedules;
  private readonly store: Archives;
  private readonly immediates = new Set<NodeJS.Immediate>();
  private closing = false;

  constructor(o: EventBrokerOptions) {
    this.clock = o.clock;
    this.stream = o.stream;
    this.region = o.region;
    this.accountId = o.accountId;
    this.delivery = new TargetDelivery({
      clock: o.clock,
      stream: o.stream,
      sqs: o.sqs,
      functions: o.functions,
      retry: o.deliveryRetry,
      authorizer: o.deliveryAuthorizer,
      buses: { forward: (arn, event, fromRuleArn) => this.forward(arn, event, fromRuleArn) },
    });
    this.schedules = new Schedules(o.clock);
    this.store = new Archives(
      {
        clock: o.clock,
        stream: o.stream,
        region: o.region,
        accountId: o.accountId,
        busByArn: (arn) => {
          const bus = this.findBus(arn);
          return bus && { ruleArns: () => [...bus.rules.values()].map((r) => r.arn) };
        },
        replay: (busArn, event, replay) => {
          const bus = this.findBus(busArn);
          if (!bus) throw new Error(`event bus ${busArn} no longer exists`);
          this.ingest(bus, event, this.clock.now(), { replay });
        },
      },
      o.archiveLimits,
    );
    this.createBus('default');
  }

  get archives(): Map<string, Archive> {
    return this.store.archives;
  }

  get replays(): Map<string, Replay> {
    return this.store.replays;
  }

  /** Deliveries waiting for a retry. */
  get pendingRetries(): number {
    return this.delivery.pendingRetries;
  }

  /**
   * The account of whoever calls the API. Until requests carry identities this is the runtime's
   * account for every caller; this is the one place that decides it.
   */
  callerAccount(): string {
    return this.accountId;
  }

  private callerPlacement(): BusPlacement {
    return { account: this.callerAccount(), region: this.region };
  }

  busArn(name: string, where: BusPlacement = this.callerPlacement()): string {
    return arns.eventBus({ partition: partitionOf(where.region), ...where }, name);
  }

  /** A bus in `where` (its stack's account and region), the caller's account and the runtime's region by default. */
  createBus(name: string, description?: string, deadLetterArn?: string, where: BusPlacement = this.callerPlacement()): Bus {
    const bus: Bus = {
      name,
      arn: this.busArn(name, where),
      account: where.account,
      region: where.region,
      description,
      deadLetterArn,
      created: this.clock.now(),
      rules: new Map(),
      matcher: new RuleMatcher<string>(),
    };
    if (where.account === this.callerAccount() && where.region === this.region) this.buses.set(name, bus);
    this.busesByArn.set(bus.arn, bus);
    return bus;
  }

  /**
   * CreateEventBus: a custom bus in the caller's account. Its name may not contain `/` (partner
   * buses are not emulated) nor be `default`, the account's own bus.
   * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateEventBus.html
   */
  createEventBus(input: { name: string; description?: string; deadLetterArn?: string }): Bus {
    const { name, description, deadLetterArn } = input;
    if (name.length === 0 || name.length > MAX_BUS_NAME || !BUS_NAME.test(name)) {
      throw validation(
        `1 validation error detected: Value '${clip(name)}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [/\\.\\-_A-Za-z0-9]+ and have length between 1 and ${MAX_BUS_NAME}`,
      );
    }
    if (name.includes('/')) {
      throw validation(
        `Event bus name must not contain '/' unless it is a partner event bus (given '${clip(name)}'); partner event sources are not emulated locally.`,
      );
    }
    if (description !== undefined && description.length > MAX_BUS_DESCRIPTION) {
      throw validation(
        `1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to ${MAX_BUS_DESCRIPTION}`,
      );
    }
    if (deadLetterArn !== undefined && parseArn(deadLetterArn)?.service !== 'sqs') {
      throw validation(`Parameter DeadLetterConfig.Arn is not valid. Reason: '${clip(deadLetterArn)}' is not the ARN of an SQS queue.`);
    }
    if (this.buses.has(name)) throw new AwsError('ResourceAlreadyExistsException', `Event bus ${name} already exists.`);
    if (this.buses.size >= MAX_EVENT_BUSES) {
      throw new AwsError(
        'LimitExceededException',
        `The requested resource exceeds the maximum number allowed. An account can have at most ${MAX_EVENT_BUSES} event buses.`,
      );
    }
    const bus = this.createBus(name, description, deadLetterArn);
    this.stream.publish('bus.created', { busName: bus.name, busArn: bus.arn });
    return bus;
  }

  /**
   * DeleteEventBus: removes a custom bus of the caller's account with its rules, as the User
   * Guide says ("Deleting an event bus deletes the rules associated with that event bus"); the
   * default bus cannot be deleted. A bus that does not exist is not an error. Archives of the
   * bus are kept, as their own resources.
   * https://docs.aws.amazon.com/eventbridge/latest/userguide/event-bus-delete.html
   */
  deleteEventBus(name: string): void {
    if (name === 'default') throw validation('Cannot delete event bus default.');
    const bus = this.buses.get(name);
    if (!bus) return;
    for (const r of [...bus.rules.values()]) {
      this.schedules.unset(r.arn);
      bus.rules.delete(r.name);
      bus.matcher.remove(r.name);
      this.stream.publish('rule.deleted', { busName: bus.name, ruleName: r.name, ruleArn: r.arn });
    }
    this.buses.delete(name);
    this.busesByArn.delete(bus.arn);
    this.stream.publish('bus.deleted', { busName: bus.name, busArn: bus.arn });
  }

  /** An ARN names a bus of any account; a name, the caller's account's bus. */
  private findBus(nameOrArn: unknown): Bus | undefined {
    if (typeof nameOrArn === 'string' && nameOrArn.startsWith('arn:')) {
      const parts = parseArn(nameOrArn);
      if (parts?.service === 'events' && parts.resource.startsWith('event-bus/')) return this.busesByArn.get(nameOrArn);
    }
    return this.buses.get(busNameFrom(nameOrArn));
  }

  /** A bus by name or ARN; ResourceNotFoundException otherwise. */
  bus(nameOrArn: unknown): Bus {
    const bus = this.findBus(nameOrArn);
    if (!bus) throw new AwsError('ResourceNotFoundException', `Event bus ${busNameFrom(nameOrArn)} does not exist.`);
    return bus;
  }

  rule(bus: Bus, name: unknown): Rule {
    const r = typeof name === 'string' ? bus.rules.get(name) : undefined;
    if (!r) throw new AwsError('ResourceNotFoundException', `Rule ${String(name)} does not exist on EventBus ${bus.name}.`);
    return r;
  }

  /** A rule's ARN is in its bus's account and region. */
  ruleArn(bus: Bus, name: string): string {
    return arns.rule({ partition: partitionOf(bus.region), account: bus.account, region: bus.region }, bus.name, name);
  }

  /** An archive of the template (trusted as synthesized). */
  createArchive(def: ArchiveDef): Archive {
    return this.store.create(def);
  }

  /** CreateArchive through the API, checked; the bus may be any bus that exists, one created at run time too. */
  createArchiveFromApi(def: ArchiveDef): Archive {
    return this.store.createChecked(def, (arn) => this.busesByArn.has(arn));
  }

  deleteArchive(name: string): void {
    this.store.delete(name);
  }

  updateArchive(name: string, changes: ArchiveChanges): Archive {
    return this.store.update(name, changes);
  }

  putRule(bus: Bus, def: RuleInput): Rule {
    if (typeof def.name !== 'string' || !NAME.test(def.name)) {
      throw validation(
        `1 validation error detected: Value '${String(def.name)}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ and have length at most 64`,
      );
    }
    for (const f of ['pattern', 'scheduleExpression', 'description', 'state'] as const) {
      if (def[f] !== undefined && def[f] !== null && typeof def[f] !== 'string') {
        const field = f === 'pattern' ? 'eventPattern' : f;
        throw validation(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must be a string`);
      }
    }
    const pattern = (def.pattern ?? undefined) as string | undefined;
    const scheduleExpression = (def.scheduleExpression ?? undefined) as string | undefined;
    const description = (def.description ?? undefined) as string | undefined;
    if (pattern === undefined && scheduleExpression === undefined) {
      throw validation('Parameter(s) EventPattern or ScheduleExpression must be specified.');
    }
    if (description !== undefined && description.length > MAX_RULE_DESCRIPTION) {
      throw validation(
        `1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to ${MAX_RULE_DESCRIPTION}`,
      );
    }
    if (pattern !== undefined) {
      try {
        validateEventPattern(pattern);
      } catch (e) {
        throw new AwsError('InvalidEventPatternException', (e as Error).message);
      }
    }
    const state = (def.state ?? 'ENABLED') as RuleState;
    if (!RULE_STATES.includes(state)) {
      throw validation(
        `1 validation error detected: Value '${state}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [${RULE_STATES.join(', ')}]`,
      );
    }
    const every = scheduleExpression === undefined ? undefined : scheduleInterval(scheduleExpression, bus.name);
    const existing = bus.rules.get(def.name);
    if (!existing && bus.rules.size >= MAX_RULES_PER_BUS) {
      throw new AwsError(
        'LimitExceededException',
        `The requested resource exceeds the maximum number allowed. Event bus ${bus.name} has ${MAX_RULES_PER_BUS} rules.`,
      );
    }
    const rule: Rule = {
      name: def.name,
      pattern,
      scheduleExpression,
      description,
      state,
      arn: this.ruleArn(bus, def.name),
      bus,
      targets: existing?.targets ?? new Map(),
    };
    bus.rules.set(def.name, rule);
    bus.matcher.remove(def.name);
    if (rule.pattern !== undefined && state !== 'DISABLED') bus.matcher.add(def.name, rule.pattern);
    this.schedules.unset(rule.arn);
    if (every === null) {
      this.stream.publish('runtime.warning', {
        message: `rule ${rule.name}: ${scheduleExpression} is accepted but cron schedules are not run locally`,
      });
    } else if (every !== undefined && state !== 'DISABLED') {
      this.schedules.set(rule.arn, every, () => this.fireSchedule(rule));
    }
    this.stream.publish('rule.put', {
      busName: bus.name,
      ruleName: rule.name,
      ruleArn: rule.arn,
      state,
      eventPattern: pattern,
      scheduleExpression,
      created: !existing,
    });
    return rule;
  }

  /** A scheduled rule's event, as EventBridge sends it: source aws.events, the rule as resource. */
  private fireSchedule(rule: Rule): void {
    const now = this.clock.now();
    const event: EventBridgeEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: rule.bus.account,
      time: eventTime(now) ?? '',
      region: rule.bus.region,
      resources: [rule.arn],
      detail: {},
    };
    this.stream.publish('schedule.fired', {
      ruleName: rule.name,
      ruleArn: rule.arn,
      eventId: event.id,
      scheduleExpression: rule.scheduleExpression ?? '',
    });
    for (const t of rule.targets.values()) this.delivery.deliver(rule, t, event, now, 0);
  }

  deleteRule(bus: Bus, name: string): void {
    const r = bus.rules.get(name);
    if (!r) return; // DeleteRule on a missing rule succeeds, as in AWS.
    if (r.targets.size > 0) throw validation("Rule can't be deleted since it has targets.");
    this.schedules.unset(r.arn);
    bus.rules.delete(name);
    bus.matcher.remove(name);
    this.stream.publish('rule.deleted', { busName: bus.name, ruleName: r.name, ruleArn: r.arn });
  }

  /**
   * PutTargets. Malformed entries (id, ARN, input, retry policy) fail the whole request; a
   * request that would leave the rule with more than five targets fails whole with
   * LimitExceededException and changes nothing. Entries that are well formed but cannot be
   * used (a FIFO queue without a message group id) fail one by one in the returned list,
   * and the other entries apply.
   * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutTargets.html
   */
  putTargets(rule: Rule, targets: TargetDef[]): PutTargetsFailure[] {
    for (const t of targets) {
      if (typeof t.id !== 'string' || !NAME.test(t.id))
        throw validation(
          `1 validation error detected: Value '${String(t.id)}' at 'targets.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+`,
        );
      if (typeof t.arn !== 'string' || t.arn.length === 0) throw validation(`Parameter Arn of target ${t.id} is required.`);
      validateTargetInput(targetInput(t), t.id);
      const attempts = t.retryPolicy?.maximumRetryAttempts;
      const age = t.retryPolicy?.maximumEventAgeInSeconds;
      if (attempts !== undefined && !(Number.isInteger(attempts) && attempts >= 0 && attempts <= 185))
        throw validation(`RetryPolicy.MaximumRetryAttempts of target ${t.id} must be between 0 and 185.`);
      if (age !== undefined && !(Number.isInteger(age) && age >= 60 && age <= 86400))
        throw validation(`RetryPolicy.MaximumEventAgeInSeconds of target ${t.id} must be between 60 and 86400.`);
    }
    const failed: PutTargetsFailure[] = [];
    const apply: TargetDef[] = [];
    for (const t of targets) {
      const fifo = parseArn(t.arn)?.service === 'sqs' && t.arn.endsWith('.fifo');
      if (fifo && !t.sqsMessageGroupId) {
        failed.push({
          TargetId: t.id,
          ErrorCode: 'ValidationException',
          ErrorMessage: 'Parameter(s) SqsParameters must be specified for FIFO queues.',
        });
        continue;
      }
      apply.push(t);
    }
    const ids = new Set([...rule.targets.keys(), ...apply.map((t) => t.id)]);
    if (ids.size > MAX_TARGETS_PER_RULE) {
      throw new AwsError(
        'LimitExceededException',
        `The requested resource exceeds the maximum number allowed. A rule can have at most ${MAX_TARGETS_PER_RULE} targets; rule ${rule.name} would have ${ids.size}.`,
      );
    }
    for (const t of apply) rule.targets.set(t.id, t);
    this.stream.publish('targets.put', {
      busName: rule.bus.name,
      ruleName: rule.name,
      ruleArn: rule.arn,
      targetIds: apply.map((t) => t.id),
      failedIds: failed.map((f) => f.TargetId),
    });
    return failed;
  }

  /**
   * PutEvents: validates every entry first (a request-level problem throws and delivers
   * nothing), then assigns ids and times, archives, matches and delivers the valid ones.
   * Per-entry problems come back in the entry, as EventBridge reports them.
   */
  putEvents(entries: unknown): { FailedEntryCount: number; Entries: PutEventsResultEntry[] } {
    if (this.closing) {
      throw new AwsError('ServiceUnavailable', 'The local runtime is shutting down; no entry of this request was accepted.', 503);
    }
    const list = validatePutEventsRequest(entries);
    const now = this.clock.now();
    // The event's account is the sender's, also when it names another account's bus by ARN.
    const ctx = { accountId: this.callerAccount(), region: this.region, now, resolveBus: (n: unknown) => this.findBus(n) };
    const validated = list.map((e) => validatePutEventsEntry(e, ctx));
    const results: PutEventsResultEntry[] = [];
    let failed = 0;
    validated.forEach((r, index) => {
      if (!r.ok) {
        failed++;
        results.push({ ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage });
        this.stream.publish('event.rejected', {
          index,
          errorCode: r.ErrorCode,
          errorMessage: r.ErrorMessage,
          source: r.source,
          detailType: r.detailType,
          busName: typeof list[index]?.EventBusName === 'string' ? busNameFrom(list[index]?.EventBusName) : undefined,
        });
        return;
      }
      try {
        this.ingest(this.bus(r.busArn), r.event, now, { sizeBytes: r.sizeBytes });
        results.push({ EventId: r.event.id });
      } catch (err) {
        // A defect here costs this entry, reported as EventBridge reports its own failures; never the request.
        failed++;
        results.push({ ErrorCode: 'InternalFailure', ErrorMessage: `Entry ${index} failed: ${(err as Error).message}` });
        this.stream.publish('runtime.warning', {
          message: `PutEvents entry ${index} failed inside the runtime: ${(err as Error).stack ?? err}`,
        });
      }
    });
    this.stream.publish('events.put', { entries: list.length, failed });
    return { FailedEntryCount: failed, Entries: results };
  }

  /** Archives, matches and delivers one accepted event. */
  ingest(
    bus: Bus,
    event: EventBridgeEvent,
    ingestedAt: number,
    via: { replay?: Replay; fromRuleArn?: string; sizeBytes?: number } = {},
  ): void {
    const replay = via.replay;
    this.stream.publish('event.published', {
      busName: bus.name,
      busArn: bus.arn,
      eventId: event.id,
      source: event.source,
      detailType: event['detail-type'],
      time: event.time,
      resources: event.resources,
      sizeBytes:
        via.sizeBytes ?? entrySize({ Source: event.source, DetailType: event['detail-type'], Detail: JSON.stringify(event.detail) }),
      replayName: replay?.name,
      fromRuleArn: via.fromRuleArn,
    });
    if (!replay) this.store.store(bus.arn, event, ingestedAt);
    const matched = bus.matcher.match(event);
    let delivered = 0;
    for (const name of matched) {
      const rule = bus.rules.get(name);
      if (!rule || rule.state === 'DISABLED') continue;
      if (replay?.filterArns && replay.filterArns.length > 0 && !replay.filterArns.includes(rule.arn)) continue;
      delivered++;
      this.stream.publish('rule.matched', {
        busName: bus.name,
        ruleName: rule.name,
        ruleArn: rule.arn,
        eventId: event.id,
        targets: rule.targets.size,
        replayName: replay?.name,
      });
      for (const t of rule.targets.values()) this.delivery.deliver(rule, t, event, ingestedAt, 0);
    }
    if (delivered === 0) this.stream.publish('event.unmatched', { busName: bus.name, busArn: bus.arn, eventId: event.id });
  }

  /** A rule target that is another bus: the event arrives there on the next turn, with a new id. */
  private forward(busArn: string, event: EventBridgeEvent, fromRuleArn: string): boolean {
    const target = this.findBus(busArn);
    if (!target || this.closing) return false;
    const i = setImmediate(() => {
      this.immediates.delete(i);
      this.ingest(target, event, this.clock.now(), { fromRuleArn });
    });
    this.immediates.add(i);
    return true;
  }

  /** StartReplay: re-delivers archived events from [start, end) to the archive's bus. */
  startReplay(input: ReplayInput): Replay {
    return this.store.startReplay(input);
  }

  /** PutEvents is refused from now on; nothing scheduled runs any more. Returns the retries that were pending. */
  close(): number {
    this.closing = true;
    this.schedules.close();
    this.store.close();
    for (const i of this.immediates) clearImmediate(i);
    this.immediates.clear();
    const pending = this.delivery.close();
    return pending;
  }

  /** Refuses PutEvents from now on (the first step of shutting down). */
  beginClose(): void {
    this.closing = true;
  }
}
