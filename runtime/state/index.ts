/**
 * `--state-dir`: the runtime's state kept across restarts. A snapshot (state.json) plus an
 * append-only journal (journal.ndjson) of every change since it; DynamoDB tables are kept by
 * dynalite itself in dynamodb/ (LevelDB). Write policy, stated in docs/runtime.md:
 *
 * - every message change (send, receive, delete, visibility change, dead-letter move, purge) is
 *   written to the journal with one write(2) before the API call that made it returns, so a
 *   SIGKILL loses no acknowledged SendMessage or PutEvents (its SQS deliveries happen inside the
 *   call); the journal is fsynced every `syncIntervalMs`, so a crash of the machine loses at most
 *   that much;
 * - rules, targets, buses and archive definitions are journaled when the stream reports a change
 *   (PutRule, DeleteRule, PutTargets) and otherwise compared every `syncIntervalMs`;
 * - SIGTERM (close) writes a fresh snapshot and empties the journal; so does startup, and a
 *   journal past `compactBytes`.
 *
 * Not kept: EventBridge delivery retries waiting on their backoff, Lambda-target invocations in
 * progress, replays in progress and message move tasks (each is lost on any restart; a replay
 * can be started again). A message an event source mapping had received stays in flight until its
 * visibility timeout, as in SQS when a poller dies.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ArchivedEvent } from '../events-archive';
import type { EventBroker } from '../events';
import { QUEUE_ATTRIBUTE_NAMES, SqsBroker, deadLetterTargetOf, orderByDeadLetter, queueAttributeString } from '../sqs';
import type { QueueContents, SqsMessage } from '../sqs-queue';
import type { EventStream, Subscription } from '../stream';
import type { TargetDef } from '../template';
import {
  MessageUpdate,
  StateFormatError,
  archivedEvent,
  dedupEntries,
  isObject,
  message,
  messageUpdate,
  optNum,
  optStr,
  queueAttributes,
  str,
  target,
} from './codec';

export { StateFormatError } from './codec';

const FORMAT = 'loan-events-state';
const VERSION = 1;
export const SNAPSHOT_FILE = 'state.json';
export const JOURNAL_FILE = 'journal.ndjson';
export const DYNAMODB_DIR = 'dynamodb';

export interface StateOptions {
  /** Fsync of the journal and comparison of the control plane. @default 100 ms */
  syncIntervalMs?: number;
  /** Journal size past which a snapshot replaces it. @default 64 MiB */
  compactBytes?: number;
  /** Largest snapshot or journal read at startup; a larger file is refused. @default 1 GiB */
  maxFileBytes?: number;
}

interface QueueModel {
  name: string;
  arn: string;
  account: string;
  region: string;
  attributes: Record<string, string>;
  messages: Map<string, SqsMessage>;
  dedup: QueueContents['dedup'];
}

interface RuleModel {
  busArn: string;
  name: string;
  pattern?: string;
  scheduleExpression?: string;
  state: string;
  description?: string;
  targets: TargetDef[];
}

interface ControlModel {
  buses: { name: string; arn: string; account: string; region: string; description?: string; deadLetterArn?: string }[];
  rules: RuleModel[];
  archives: { name: string; sourceArn: string; pattern?: string; description?: string; retentionDays?: number }[];
}

interface Model {
  salt?: string;
  queues: Map<string, QueueModel>;
  control?: ControlModel;
  /** By archive name. */
  archived: Map<string, ArchivedEvent[]>;
}

/** What opening a state directory found, for the ready line. */
export interface StateSummary {
  dir: string;
  queues: number;
  messages: number;
  journalRecords: number;
  /** Set when the journal had a damaged tail that was dropped. */
  dropped?: string;
}

export class StateStore {
  private fd: number | undefined;
  private journalBytes = 0;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private subs: Subscription[] = [];
  private lastControl = '';
  private failed = false;
  private readonly syncIntervalMs: number;
  private readonly compactBytes: number;
  private sqs?: SqsBroker;
  private events?: EventBroker;

  private constructor(
    readonly dir: string,
    private model: Model | undefined,
    readonly summary: StateSummary,
    private readonly warn: (message: string) => void,
    options: StateOptions,
  ) {
    this.syncIntervalMs = options.syncIntervalMs ?? 100;
    this.compactBytes = options.compactBytes ?? 64 * 1024 * 1024;
  }

  /** The state directory's absolute path, made when missing. */
  static directory(dir: string): string {
    const abs = path.resolve(dir);
    fs.mkdirSync(abs, { recursive: true });
    if (!fs.statSync(abs).isDirectory()) throw new StateFormatError(`--state-dir ${abs} is not a directory`);
    return abs;
  }

  /**
   * Reads a state directory that `directory()` prepared. A snapshot that cannot be read is an
   * error naming the file; a journal is read up to its first damaged record, and the rest is
   * dropped with a warning (the tail a crash can leave).
   */
  static open(dir: string, warn: (message: string) => void, options: StateOptions = {}): StateStore {
    const abs = path.resolve(dir);
    const max = options.maxFileBytes ?? 1024 * 1024 * 1024;
    const model: Model = { queues: new Map(), archived: new Map() };
    const summary: StateSummary = { dir: abs, queues: 0, messages: 0, journalRecords: 0 };
    const snapshotPath = path.join(abs, SNAPSHOT_FILE);
    const snapshot = readLimited(snapshotPath, max);
    if (snapshot !== undefined) {
      try {
        loadSnapshot(model, JSON.parse(snapshot) as unknown);
      } catch (e) {
        throw new StateFormatError(
          `State snapshot ${snapshotPath} cannot be read (${(e as Error).message}); move the directory away to start with empty state`,
        );
      }
    }
    const journalPath = path.join(abs, JOURNAL_FILE);
    const journal = readLimited(journalPath, max);
    if (journal !== undefined) {
      let at = 0;
      let n = 0;
      while (at < journal.length) {
        const end = journal.indexOf('\n', at);
        const line = journal.slice(at, end < 0 ? journal.length : end);
        try {
          if (end < 0) throw new StateFormatError('the last record is cut short');
          if (line.length > 0) applyRecord(model, JSON.parse(line) as unknown);
        } catch (e) {
          summary.dropped = `journal record ${n + 1} is damaged (${(e as Error).message}); kept the ${n} records before it and dropped ${Buffer.byteLength(journal.slice(at))} bytes from there`;
          warn(`state: ${summary.dropped}`);
          break;
        }
        n++;
        at = end + 1;
      }
      summary.journalRecords = n;
    }
    summary.queues = model.queues.size;
    for (const q of model.queues.values()) summary.messages += q.messages.size;
    return new StateStore(abs, model, summary, warn, options);
  }

  /**
   * Puts the stored state into the brokers the template built: queues created at run time come
   * back with their attributes, every queue gets its messages back; buses, rules, targets and
   * archives not in the template come back; template rules keep the template's definition (the
   * source of truth) and get back targets added at run time.
   */
  restore(sqs: SqsBroker, events: EventBroker): void {
    const model = this.model;
    if (!model) return;
    this.model = undefined;
    if (model.salt) sqs.handleSalt = model.salt;
    let queues = [...model.queues.values()];
    try {
      queues = orderByDeadLetter(
        queues,
        (q) => q.arn,
        (q) => deadLetterTargetOf(q.attributes.RedrivePolicy),
      );
    } catch {
      // A loop of dead-letter queues: creation order then decides, and a RedrivePolicy naming a later queue is refused below.
    }
    for (const q of queues) {
      let queue = sqs.byArn(q.arn);
      if (!queue) {
        try {
          queue = sqs.create(q.name, q.attributes, { account: q.account, region: q.region });
        } catch (e) {
          this.warn(`state: queue ${q.arn} is not restored: ${(e as Error).message} (${q.messages.size} messages dropped)`);
          continue;
        }
      }
      if (queue.arn !== q.arn) {
        this.warn(`state: queue ${q.arn} is not restored: its name now belongs to ${queue.arn}`);
        continue;
      }
      queue.restore({ messages: [...q.messages.values()].filter((m) => m.state !== 'gone'), dedup: q.dedup });
      for (const m of q.messages.values()) {
        const seq = m.receiptHandle ? handleSeq(m.receiptHandle) : undefined;
        if (seq !== undefined && seq > sqs.handleSeq) sqs.handleSeq = seq;
      }
    }
    const c = model.control;
    if (c) {
      for (const b of c.buses) {
        if (events.busesByArn.has(b.arn)) continue;
        try {
          const bus = events.createBus(b.name, b.description, b.deadLetterArn, { account: b.account, region: b.region });
          if (bus.arn !== b.arn) throw new Error(`it would be ${bus.arn}`);
        } catch (e) {
          this.warn(`state: event bus ${b.arn} is not restored: ${(e as Error).message}`);
        }
      }
      for (const a of c.archives) {
        if (events.archives.has(a.name)) continue;
        try {
          events.createArchive(a);
        } catch (e) {
          this.warn(`state: archive ${a.name} is not restored: ${(e as Error).message}`);
        }
      }
      for (const r of c.rules) {
        const bus = events.busesByArn.get(r.busArn);
        if (!bus) {
          this.warn(`state: rule ${r.name} is not restored: its bus ${r.busArn} is gone`);
          continue;
        }
        try {
          let rule = bus.rules.get(r.name);
          if (!rule) {
            rule = events.putRule(bus, r);
          }
          const have = rule.targets;
          const missing = r.targets.filter((t) => !have.has(t.id));
          const failures = missing.length > 0 ? events.putTargets(rule, missing) : [];
          for (const f of failures) this.warn(`state: target ${f.TargetId} of rule ${r.name} is not restored: ${f.ErrorMessage}`);
        } catch (e) {
          this.warn(`state: rule ${r.name} is not restored: ${(e as Error).message}`);
        }
      }
    }
    for (const [name, list] of model.archived) {
      const a = events.archives.get(name);
      if (!a) continue;
      for (const e of list) a.store(e.event, e.at);
    }
  }

  /** Starts journaling every change of `sqs` and `events`, after a fresh snapshot of what was restored. */
  attach(sqs: SqsBroker, events: EventBroker, stream: EventStream): void {
    this.sqs = sqs;
    this.events = events;
    this.compact();
    sqs.observer = (q, msg, kind) => {
      if (kind === 'sent') this.append({ t: 'put', q: q.arn, m: msg });
      else this.append({ t: 'upd', q: q.arn, u: updateOf(msg) });
    };
    const queueRecord = (arn: string) => {
      const q = sqs.byArn(arn);
      if (q) this.append({ t: 'q', arn: q.arn, name: q.name, account: q.account, region: q.region, attributes: attributesOf(q) });
    };
    const control = () => this.appendControl();
    this.subs.push(
      stream.subscribe('queue.created', (e) => queueRecord(e.properties.queueArn)),
      stream.subscribe('queue.attributes-set', (e) => queueRecord(e.properties.queueArn)),
      stream.subscribe('queue.deleted', (e) => this.append({ t: 'qd', arn: e.properties.queueArn })),
      stream.subscribe('queue.purged', (e) => this.append({ t: 'purge', q: e.properties.queueArn })),
      stream.subscribe('rule.put', control),
      stream.subscribe('rule.deleted', control),
      stream.subscribe('targets.put', control),
      stream.subscribe('archive.stored', (e) => {
        const a = events.archives.get(e.properties.archiveName);
        const last = a?.events[a.events.length - 1];
        if (last && last.event.id === e.properties.eventId) this.append({ t: 'arc', a: e.properties.archiveName, e: last });
      }),
    );
    this.timer = setInterval(() => this.tick(), this.syncIntervalMs);
    this.timer.unref();
  }

  /** Fsyncs the journal; compares the control plane; replaces a long journal by a snapshot. */
  tick(): void {
    if (this.fd === undefined) return;
    this.appendControl(true);
    if (this.dirty && !this.failed) {
      try {
        fs.fdatasyncSync(this.fd);
      } catch (e) {
        this.fail(e);
      }
      this.dirty = false;
    }
    if (this.journalBytes > this.compactBytes) this.compact();
  }

  /** Writes a final snapshot and closes the journal (SIGTERM, runtime close). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
    if (this.sqs) this.sqs.observer = undefined;
    if (this.fd === undefined) return;
    this.compact();
    fs.closeSync(this.fd);
    this.fd = undefined;
  }

  /** Writes state.json (temporary file, fsync, rename) and empties the journal. */
  compact(): void {
    const { sqs, events } = this;
    if (!sqs || !events) return;
    const snapshot = {
      format: FORMAT,
      version: VERSION,
      salt: sqs.handleSalt,
      queues: sqs.list().map((q) => {
        const c = q.contents();
        return {
          name: q.name,
          arn: q.arn,
          account: q.account,
          region: q.region,
          attributes: attributesOf(q),
          messages: c.messages,
          dedup: c.dedup,
        };
      }),
      control: controlOf(events),
      archived: [...events.archives.values()].map((a) => [a.name, a.events]),
    };
    const file = path.join(this.dir, SNAPSHOT_FILE);
    const tmp = `${file}.tmp`;
    try {
      const fd = fs.openSync(tmp, 'w', 0o600);
      try {
        fs.writeSync(fd, JSON.stringify(snapshot));
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, file);
      syncDir(this.dir);
      if (this.fd === undefined) this.fd = fs.openSync(path.join(this.dir, JOURNAL_FILE), 'a', 0o600);
      fs.ftruncateSync(this.fd, 0);
      fs.fsyncSync(this.fd);
      this.journalBytes = 0;
      this.dirty = false;
      this.lastControl = JSON.stringify(snapshot.control);
    } catch (e) {
      this.fail(e);
    }
  }

  private appendControl(onlyIfChanged = false): void {
    if (!this.events) return;
    const c = controlOf(this.events);
    const text = JSON.stringify(c);
    if (onlyIfChanged && text === this.lastControl) return;
    this.lastControl = text;
    this.append({ t: 'ctl', c });
  }

  private append(record: object): void {
    if (this.fd === undefined || this.failed) return;
    const line = `${JSON.stringify(record)}\n`;
    try {
      this.journalBytes += fs.writeSync(this.fd, line);
      this.dirty = true;
    } catch (e) {
      this.fail(e);
    }
  }

  /** A write that fails (disk full, directory removed) stops persistence, said once; the runtime goes on in memory. */
  private fail(e: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.warn(`state: writing to ${this.dir} failed (${(e as Error).message}); state changes from now on are kept in memory only`);
  }
}

function readLimited(file: string, max: number): string | undefined {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if (!st.isFile()) throw new StateFormatError(`State file ${file} is not a regular file`);
  if (st.size > max) {
    throw new StateFormatError(
      `State file ${file} is ${st.size} bytes, more than the ${max} bytes the runtime reads; move it away to start with empty state`,
    );
  }
  return fs.readFileSync(file, 'utf8');
}

function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Some file systems refuse fsync on a directory; the rename is then as durable as they make it.
  }
}

function handleSeq(handle: string): number | undefined {
  const raw = Buffer.from(handle, 'base64').toString('utf8');
  const n = Number(raw.split('|')[3]);
  return Number.isSafeInteger(n) ? n : undefined;
}

function updateOf(m: SqsMessage): MessageUpdate {
  return {
    messageId: m.messageId,
    state: m.state,
    receiveCount: m.receiveCount,
    firstReceiveTimestamp: m.firstReceiveTimestamp,
    receiptHandle: m.receiptHandle,
    visibleAt: m.visibleAt,
  };
}

function attributesOf(q: Parameters<typeof queueAttributeString>[0]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(QUEUE_ATTRIBUTE_NAMES)) {
    if (QUEUE_ATTRIBUTE_NAMES[k] !== 'rw') continue;
    const v = queueAttributeString(q, k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

function controlOf(events: EventBroker): ControlModel {
  const buses = [...events.busesByArn.values()];
  return {
    buses: buses.map((b) => ({
      name: b.name,
      arn: b.arn,
      account: b.account,
      region: b.region,
      description: b.description,
      deadLetterArn: b.deadLetterArn,
    })),
    rules: buses.flatMap((b) =>
      [...b.rules.values()].map((r) => ({
        busArn: b.arn,
        name: r.name,
        pattern: r.pattern,
        scheduleExpression: r.scheduleExpression,
        state: r.state,
        description: r.description,
        targets: [...r.targets.values()],
      })),
    ),
    archives: [...events.archives.values()].map((a) => ({ ...a.def })),
  };
}

// ---- reading ----

function queueModel(v: Record<string, unknown>): QueueModel {
  return {
    name: str(v, 'name', 80),
    arn: str(v, 'arn'),
    account: str(v, 'account', 32),
    region: str(v, 'region', 64),
    attributes: queueAttributes(v.attributes),
    messages: new Map(),
    dedup: [],
  };
}

function controlModel(v: unknown): ControlModel {
  if (!isObject(v) || !Array.isArray(v.buses) || !Array.isArray(v.rules) || !Array.isArray(v.archives)) {
    throw new StateFormatError('control is not {buses, rules, archives}');
  }
  const obj = (x: unknown) => {
    if (!isObject(x)) throw new StateFormatError('control entry is not an object');
    return x;
  };
  return {
    buses: v.buses.map(obj).map((b) => ({
      name: str(b, 'name', 256),
      arn: str(b, 'arn'),
      account: str(b, 'account', 32),
      region: str(b, 'region', 64),
      description: optStr(b, 'description', 512),
      deadLetterArn: optStr(b, 'deadLetterArn'),
    })),
    rules: v.rules.map(obj).map((r) => {
      if (!Array.isArray(r.targets)) throw new StateFormatError('rule targets is not an array');
      return {
        busArn: str(r, 'busArn'),
        name: str(r, 'name', 64),
        pattern: optStr(r, 'pattern', 65536),
        scheduleExpression: optStr(r, 'scheduleExpression', 256),
        state: str(r, 'state', 64),
        description: optStr(r, 'description', 512),
        targets: r.targets.map(target),
      };
    }),
    archives: v.archives.map(obj).map((a) => ({
      name: str(a, 'name', 48),
      sourceArn: str(a, 'sourceArn'),
      pattern: optStr(a, 'pattern', 65536),
      description: optStr(a, 'description', 512),
      retentionDays: optNum(a, 'retentionDays'),
    })),
  };
}

function loadSnapshot(model: Model, v: unknown): void {
  if (!isObject(v) || v.format !== FORMAT) throw new StateFormatError(`it is not a ${FORMAT} file`);
  if (v.version !== VERSION) throw new StateFormatError(`version ${String(v.version)} is not ${VERSION}`);
  model.salt = optStr(v, 'salt', 64);
  if (!Array.isArray(v.queues)) throw new StateFormatError('queues is not an array');
  for (const raw of v.queues) {
    if (!isObject(raw)) throw new StateFormatError('queue is not an object');
    const q = queueModel(raw);
    if (!Array.isArray(raw.messages)) throw new StateFormatError(`messages of ${q.arn} is not an array`);
    for (const m of raw.messages) {
      const msg = message(m);
      q.messages.set(msg.messageId, msg);
    }
    q.dedup = dedupEntries(raw.dedup);
    model.queues.set(q.arn, q);
  }
  if (v.control !== undefined) model.control = controlModel(v.control);
  if (v.archived !== undefined) {
    if (!Array.isArray(v.archived)) throw new StateFormatError('archived is not an array');
    for (const e of v.archived) {
      if (!Array.isArray(e) || typeof e[0] !== 'string' || !Array.isArray(e[1]))
        throw new StateFormatError('archived entry is not [name, events]');
      model.archived.set(e[0], (e[1] as unknown[]).map(archivedEvent));
    }
  }
}

function applyRecord(model: Model, v: unknown): void {
  if (!isObject(v)) throw new StateFormatError('record is not an object');
  switch (v.t) {
    case 'q': {
      const q = queueModel(v);
      const had = model.queues.get(q.arn);
      if (had) had.attributes = q.attributes;
      else model.queues.set(q.arn, q);
      return;
    }
    case 'qd':
      model.queues.delete(str(v, 'arn'));
      return;
    case 'purge': {
      const q = model.queues.get(str(v, 'q'));
      q?.messages.clear();
      return;
    }
    case 'put': {
      const q = model.queues.get(str(v, 'q'));
      const m = message(v.m);
      if (!q) return;
      q.messages.set(m.messageId, m);
      if (m.dedupId !== undefined && m.sequenceNumber !== undefined && m.deadLetterSourceArn === undefined) {
        q.dedup.push([m.dedupId, { at: m.sentTimestamp, messageId: m.messageId, seq: m.sequenceNumber }]);
      }
      return;
    }
    case 'upd': {
      const q = model.queues.get(str(v, 'q'));
      const u = messageUpdate(v.u);
      const m = q?.messages.get(u.messageId);
      if (!q || !m) return;
      if (u.state === 'gone') {
        q.messages.delete(u.messageId);
        return;
      }
      m.state = u.state;
      m.receiveCount = u.receiveCount;
      m.firstReceiveTimestamp = u.firstReceiveTimestamp;
      m.receiptHandle = u.receiptHandle;
      m.visibleAt = u.visibleAt;
      return;
    }
    case 'ctl':
      model.control = controlModel(v.c);
      return;
    case 'arc': {
      const name = str(v, 'a', 48);
      const e = archivedEvent(v.e);
      const list = model.archived.get(name);
      if (list) list.push(e);
      else model.archived.set(name, [e]);
      return;
    }
    default:
      throw new StateFormatError(`record type ${JSON.stringify(String(v.t).slice(0, 16))} is unknown`);
  }
}
