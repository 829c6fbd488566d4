/**
 * EventBridge archives and replays. An archive keeps the events of its bus that match its
 * pattern, for RetentionDays on the clock (0: indefinitely), under a memory cap: when an
 * archive holds more than `maxEvents` events or `maxBytes` bytes, its oldest events are
 * dropped and the drop is published (and logged as a warning). The cap exists because the
 * local runtime keeps everything in memory for sessions that last hours; dropping the oldest
 * keeps the archive useful for replaying recent work, which refusing new events would not.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-archive.html
 */
import { arns, parseArn, partitionOf, type ResourceEnv } from '../assembly/arn';
import { testEventPattern, validateEventPattern } from '../engine';
import type { Clock, ClockTimer } from './clock';
import { AwsError, validation } from './errors';
import type { EventBridgeEvent } from './events-validation';
import type { EventStream } from './stream';

export interface ArchiveLimits {
  /** Events kept per archive before the oldest are dropped. @default 100000 */
  maxEvents?: number;
  /** Bytes (JSON text of the events) kept per archive before the oldest are dropped. @default 64 MiB */
  maxBytes?: number;
}

export const DEFAULT_ARCHIVE_LIMITS: Required<ArchiveLimits> = { maxEvents: 100_000, maxBytes: 64 * 1024 * 1024 };
/** Archive names: 1 to 48 of `[.\-_A-Za-z0-9]`. https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateArchive.html */
export const MAX_ARCHIVE_NAME = 48;
export const MAX_ARCHIVE_DESCRIPTION = 512;
/**
 * Archives the local runtime keeps per account. Each holds events in memory, so their number is
 * capped; this is the local runtime's own limit, not a documented AWS quota.
 */
export const MAX_ARCHIVES = 200;
const ARCHIVE_NAME = /^[.\-_A-Za-z0-9]{1,48}$/;
/** The Archive type's EventSourceArn pattern. https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Archive.html */
const EVENT_SOURCE_ARN = /^arn:aws([a-z]|-)*:events:([a-z]|\d|-)*:([0-9]{12})?:.+\/.+$/;
const DAY_MS = 86_400_000;
/** How often retention is applied when nothing is archived. */
const RETENTION_SWEEP_MS = 3_600_000;

export interface ArchivedEvent {
  at: number;
  event: EventBridgeEvent;
  size: number;
}

export interface ArchiveDef {
  name: string;
  sourceArn: string;
  pattern?: string;
  description?: string;
  /** 0 or undefined: kept indefinitely. */
  retentionDays?: number;
}

export class Archive {
  readonly arn: string;
  readonly env: ResourceEnv;
  readonly created: number;
  /** Oldest first. */
  events: ArchivedEvent[] = [];
  sizeBytes = 0;

  constructor(
    readonly def: ArchiveDef,
    region: string,
    accountId: string,
    created: number,
    private readonly limits: Required<ArchiveLimits>,
  ) {
    // An archive lives in its bus's account and region.
    const bus = parseArn(def.sourceArn);
    this.env = bus?.service === 'events' ? bus : { partition: partitionOf(region), region, account: accountId };
    this.arn = arns.archive(this.env, def.name);
    this.created = created;
  }

  get name(): string {
    return this.def.name;
  }
  get sourceArn(): string {
    return this.def.sourceArn;
  }
  get pattern(): string | undefined {
    return this.def.pattern;
  }
  get description(): string | undefined {
    return this.def.description;
  }
  get retentionDays(): number | undefined {
    return this.def.retentionDays;
  }

  matches(event: EventBridgeEvent): boolean {
    return this.def.pattern === undefined || testEventPattern(this.def.pattern, event);
  }

  /** Adds an event; returns what the cap dropped. */
  store(event: EventBridgeEvent, at: number): { events: number; bytes: number } {
    const size = Buffer.byteLength(JSON.stringify(event));
    this.events.push({ at, event, size });
    this.sizeBytes += size;
    let n = 0;
    let bytes = 0;
    while (this.events.length > 0 && (this.events.length > this.limits.maxEvents || this.sizeBytes > this.limits.maxBytes)) {
      const e = this.events.shift()!;
      this.sizeBytes -= e.size;
      bytes += e.size;
      n++;
    }
    return { events: n, bytes };
  }

  /** Drops events older than RetentionDays; returns what was dropped. */
  expire(now: number): { events: number; bytes: number } {
    const days = this.def.retentionDays ?? 0;
    if (days <= 0) return { events: 0, bytes: 0 };
    const cutoff = now - days * DAY_MS;
    let i = 0;
    let bytes = 0;
    while (i < this.events.length && this.events[i]!.at < cutoff) bytes += this.events[i++]!.size;
    if (i > 0) {
      this.events = this.events.slice(i);
      this.sizeBytes -= bytes;
    }
    return { events: i, bytes };
  }
}

/** What CreateArchive and UpdateArchive set. */
export interface ArchiveChanges {
  description?: string;
  pattern?: string;
  retentionDays?: number;
}

const clip = (v: string) => (v.length > 300 ? `${v.slice(0, 300)}...` : v);

/** Checks the members CreateArchive and UpdateArchive share, naming the field as EventBridge does. */
function checkArchiveChanges(c: ArchiveChanges): void {
  if (c.description !== undefined && c.description.length > MAX_ARCHIVE_DESCRIPTION) {
    throw validation(
      `1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ARCHIVE_DESCRIPTION}`,
    );
  }
  if (c.retentionDays !== undefined && !(Number.isInteger(c.retentionDays) && c.retentionDays >= 0 && c.retentionDays <= 2 ** 31 - 1)) {
    throw validation(
      `1 validation error detected: Value '${c.retentionDays}' at 'retentionDays' failed to satisfy constraint: Member must have value greater than or equal to 0`,
    );
  }
  if (c.pattern !== undefined) {
    try {
      validateEventPattern(c.pattern);
    } catch (e) {
      throw new AwsError('InvalidEventPatternException', (e as Error).message);
    }
  }
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

export interface ReplayInput {
  name: string;
  description?: string;
  archiveArn: string;
  start: number;
  end: number;
  destinationArn: string;
  filterArns?: string[];
}

export interface ArchiveHost {
  clock: Clock;
  stream: EventStream;
  region: string;
  accountId: string;
  /** The bus with this ARN, and whether it has a rule with this ARN. */
  busByArn(arn: string): { ruleArns(): string[] } | undefined;
  /** Sends an archived event again to its bus, for the rules in the filter. */
  replay(busArn: string, event: EventBridgeEvent, replay: Replay): void;
}

export class Archives {
  readonly archives = new Map<string, Archive>();
  readonly replays = new Map<string, Replay>();
  private readonly limits: Required<ArchiveLimits>;
  private sweep: ClockTimer | undefined;
  private readonly immediates = new Set<NodeJS.Immediate>();
  private readonly warned = new Set<string>();

  constructor(
    private readonly host: ArchiveHost,
    limits: ArchiveLimits = {},
  ) {
    this.limits = { ...DEFAULT_ARCHIVE_LIMITS, ...Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)) };
    for (const [k, v] of Object.entries(this.limits)) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`archive limit ${k} must be a positive integer (given ${v})`);
    }
  }

  create(def: ArchiveDef): Archive {
    const a = new Archive(def, this.host.region, this.host.accountId, this.host.clock.now(), this.limits);
    this.archives.set(def.name, a);
    this.armSweep();
    return a;
  }

  /**
   * CreateArchive: an archive of a bus that exists (`busExists`), checked as EventBridge checks
   * it. It archives the bus's events from now on, replayed events excepted.
   * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateArchive.html
   */
  createChecked(def: ArchiveDef, busExists: (arn: string) => boolean): Archive {
    if (!ARCHIVE_NAME.test(def.name)) {
      throw validation(
        `1 validation error detected: Value '${clip(def.name)}' at 'archiveName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ and have length between 1 and ${MAX_ARCHIVE_NAME}`,
      );
    }
    if (def.sourceArn.length > 1600 || !EVENT_SOURCE_ARN.test(def.sourceArn) || !def.sourceArn.includes(':event-bus/')) {
      throw validation(`Parameter EventSourceArn is not valid. Reason: '${clip(def.sourceArn)}' is not the ARN of an event bus.`);
    }
    checkArchiveChanges({ description: def.description, pattern: def.pattern, retentionDays: def.retentionDays });
    if (this.archives.has(def.name)) throw new AwsError('ResourceAlreadyExistsException', `Archive ${def.name} already exists.`);
    if (!busExists(def.sourceArn)) {
      throw new AwsError('ResourceNotFoundException', `Event bus ${def.sourceArn.slice(def.sourceArn.indexOf('/') + 1)} does not exist.`);
    }
    if (this.archives.size >= MAX_ARCHIVES) {
      throw new AwsError(
        'LimitExceededException',
        `The requested resource exceeds the maximum number allowed. The local runtime keeps at most ${MAX_ARCHIVES} archives.`,
      );
    }
    const a = this.create(def);
    this.host.stream.publish('archive.created', { archiveName: a.name, archiveArn: a.arn, eventSourceArn: a.sourceArn });
    return a;
  }

  /** DeleteArchive: the archive and its events; replays already started keep the events they took. */
  delete(name: string): void {
    const a = this.archives.get(name);
    if (!a) throw new AwsError('ResourceNotFoundException', `Archive ${name} does not exist.`);
    this.archives.delete(name);
    this.warned.delete(name);
    this.host.stream.publish('archive.deleted', { archiveName: a.name, archiveArn: a.arn, events: a.events.length });
  }

  /**
   * UpdateArchive: description, pattern and retention, each when given. A shorter retention
   * applies to the events already archived at once.
   * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_UpdateArchive.html
   */
  update(name: string, changes: ArchiveChanges): Archive {
    const a = this.archives.get(name);
    if (!a) throw new AwsError('ResourceNotFoundException', `Archive ${name} does not exist.`);
    checkArchiveChanges(changes);
    if (changes.description !== undefined) a.def.description = changes.description;
    if (changes.pattern !== undefined) a.def.pattern = changes.pattern;
    if (changes.retentionDays !== undefined) a.def.retentionDays = changes.retentionDays;
    this.evicted(a, a.expire(this.host.clock.now()), 'retention');
    this.host.stream.publish('archive.updated', { archiveName: a.name, archiveArn: a.arn });
    return a;
  }

  /** Archives an event accepted on the bus `busArn` in every archive of that bus whose pattern matches. */
  store(busArn: string, event: EventBridgeEvent, at: number): void {
    for (const a of this.archives.values()) {
      if (a.sourceArn !== busArn || !a.matches(event)) continue;
      this.evicted(a, a.expire(at), 'retention');
      this.evicted(a, a.store(event, at), 'cap');
      this.host.stream.publish('archive.stored', {
        archiveName: a.name,
        archiveArn: a.arn,
        eventId: event.id,
        bytes: a.events[a.events.length - 1]?.size ?? 0,
      });
    }
  }

  /** Applies retention to every archive now. */
  expireAll(): void {
    const now = this.host.clock.now();
    for (const a of this.archives.values()) this.evicted(a, a.expire(now), 'retention');
  }

  private evicted(a: Archive, r: { events: number; bytes: number }, reason: 'retention' | 'cap'): void {
    if (r.events === 0) return;
    this.host.stream.publish('archive.evicted', { archiveName: a.name, archiveArn: a.arn, events: r.events, bytes: r.bytes, reason });
    if (reason === 'cap' && !this.warned.has(a.name)) {
      this.warned.add(a.name);
      this.host.stream.publish('runtime.warning', {
        message: `archive ${a.name} is over its local memory cap (${this.limits.maxEvents} events or ${this.limits.maxBytes} bytes); its oldest events are being dropped`,
      });
    }
  }

  private armSweep(): void {
    if (this.sweep) return;
    this.sweep = this.host.clock.setTimeout(() => {
      this.sweep = undefined;
      this.expireAll();
      this.armSweep();
    }, RETENTION_SWEEP_MS);
  }

  /** StartReplay: re-delivers archived events from [start, end) to the archive's bus. */
  startReplay(input: ReplayInput): Replay {
    const now = this.host.clock.now();
    if (!/^[.\-_A-Za-z0-9]{1,64}$/.test(input.name))
      throw validation(
        `1 validation error detected: Value '${input.name}' at 'replayName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+`,
      );
    if (this.replays.has(input.name)) throw new AwsError('ResourceAlreadyExistsException', `Replay ${input.name} already exists.`);
    const archive = [...this.archives.values()].find((a) => a.arn === input.archiveArn);
    if (!archive) throw new AwsError('ResourceNotFoundException', `Archive ${input.archiveArn.split('/').pop()} does not exist.`);
    if (!(input.end > input.start))
      throw validation('Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.');
    if (input.end > now + 1000) throw validation('Parameter EventEndTime is not valid. Reason: EventEndTime must not be in the future.');
    if (input.destinationArn !== archive.sourceArn) {
      throw validation('Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.');
    }
    const bus = this.host.busByArn(input.destinationArn);
    if (!bus) throw new AwsError('ResourceNotFoundException', `Event bus ${input.destinationArn.split('/').pop()} does not exist.`);
    const ruleArns = bus.ruleArns();
    for (const f of input.filterArns ?? []) {
      if (!ruleArns.includes(f)) throw new AwsError('ResourceNotFoundException', `Rule ${f} does not exist.`);
    }
    const replay: Replay = {
      name: input.name,
      arn: arns.replay(archive.env, input.name),
      description: input.description,
      archive,
      destinationArn: input.destinationArn,
      filterArns: input.filterArns,
      start: input.start,
      end: input.end,
      state: 'STARTING',
      startedAt: now,
    };
    this.replays.set(replay.name, replay);
    archive.expire(now);
    const events = archive.events.filter((e) => e.at >= input.start && e.at < input.end);
    this.host.stream.publish('replay.started', {
      replayName: replay.name,
      replayArn: replay.arn,
      archiveName: archive.name,
      events: events.length,
    });
    const end = (state: 'COMPLETED' | 'CANCELLED' | 'FAILED', replayed: number, reason?: string) => {
      replay.state = state;
      replay.stateReason = reason;
      replay.endedAt = this.host.clock.now();
      this.host.stream.publish('replay.ended', { replayName: replay.name, replayArn: replay.arn, state, replayed, reason });
    };
    const run = (i: number) => {
      if (replay.state === 'CANCELLING') return end('CANCELLED', i);
      replay.state = 'RUNNING';
      // Chunks keep a large replay from starving the endpoint.
      const stop = Math.min(events.length, i + 100);
      try {
        for (; i < stop; i++) {
          const e = events[i]!;
          this.host.replay(input.destinationArn, { ...e.event, 'replay-name': replay.name }, replay);
          replay.lastReplayed = e.at;
        }
      } catch (err) {
        return end('FAILED', i, `failed after ${i} of ${events.length} events: ${(err as Error).message}`);
      }
      if (i < events.length) this.immediate(() => run(i));
      else end('COMPLETED', i);
    };
    this.immediate(() => run(0));
    return replay;
  }

  private immediate(fn: () => void): void {
    const i = setImmediate(() => {
      this.immediates.delete(i);
      fn();
    });
    this.immediates.add(i);
  }

  close(): void {
    this.host.clock.clearTimeout(this.sweep);
    this.sweep = undefined;
    for (const i of this.immediates) clearImmediate(i);
    this.immediates.clear();
  }
}

declare module './stream' {
  interface RuntimeEvents {
    /** CreateArchive made an archive (the template's archives are listed in the topology). */
    'archive.created': { archiveName: string; archiveArn: string; eventSourceArn: string };
    'archive.updated': { archiveName: string; archiveArn: string };
    'archive.deleted': { archiveName: string; archiveArn: string; events: number };
  }
}
