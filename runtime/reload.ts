/**
 * Applies a changed cloud assembly to the running runtime, keeping state: the new topology is
 * compared with the one running, resource by resource (queue ARN, bus ARN, rule on its bus,
 * target id, archive, table, function ARN, mapping, log group, alarm), like a stack update.
 * Resources the new assembly adds are created by the same steps as at start (runtime/build.ts),
 * removed ones are removed, changed ones are updated in place: a queue keeps its messages, a
 * rule its targets added at run time, a function is redefined between invocations, an archive
 * keeps its events. Everything is checked before anything changes: a broken assembly changes
 * nothing and the error names the resource. See docs/runtime.md, "Reloading a changed assembly".
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import {
  build,
  checkTableNames,
  createArchive,
  createBus,
  createFunction,
  createMapping,
  createQueue,
  createRule,
  createTables,
  deleteTables,
  functionSettings,
  mappedFunctionArn,
  mappingConcurrency,
  placeOf,
  putRuleOf,
  queuesInOrder,
  type BuildContext,
} from './build';
import { DEFAULT_MAPPING_CONCURRENCY, SqsEventSource } from './esm';
import { EventBroker, MAX_RULES_PER_BUS, MAX_TARGETS_PER_RULE, type Bus } from './events';
import type { IamMode } from './iam-mode';
import { loadAppPolicies, type AppPolicies } from './identity';
import { FunctionRegistry } from './lambda';
import { loadCloudWatchResources, type CloudWatchResources, type LocalCloudWatch } from './metrics';
import { SqsBroker, queueAttributeString, DEFAULT_QUEUE_SETTINGS } from './sqs';
import { EventStream } from './stream';
import {
  TemplateError,
  busNameOf,
  loadTopology,
  type FunctionDef,
  type LocalContext,
  type MappingDef,
  type QueueDef,
  type RuleDef,
  type Topology,
} from './template';
import { Assembly, CloudAssembly, localNaming } from '../assembly';

/** How the error of a reload that failed after changing something begins (a defect: the checks should have refused it). */
export const PART_WAY = 'reload stopped part-way';

/** What a reload did. */
export interface ReloadReport {
  /** One line per resource added (`+`), changed (`~`) or removed (`-`), e.g. `- queue app-audit (3 messages dropped with it)`. */
  readonly lines: readonly string[];
  readonly added: number;
  readonly changed: number;
  readonly removed: number;
  /** Resources skipped or degraded, as at start (a function without local code, an alarm that cannot be evaluated). */
  readonly warnings: readonly string[];
  readonly ms: number;
  /** `reloaded in 412 ms: +1 rule, +1 queue, ~1 function, -0` */
  readonly summary: string;
}

/** What the runtime runs: the topology, policies and CloudWatch resources of the assembly applied last. */
export interface Deployed {
  topo: Topology;
  cloudwatch: CloudWatchResources;
  policies: AppPolicies | undefined;
  /** `type name` of each resource whose DeletionPolicy keeps it when a stack update removes it. */
  retained: ReadonlySet<string>;
}

export interface ReloadContext extends BuildContext {
  iam: IamMode;
  maxVisibilityTimeoutSeconds?: number;
  cloudwatch: LocalCloudWatch;
  /** Makes deliveries decided by these policies from now on. */
  setDeliveryPolicies(policies: AppPolicies): void;
  prewarm: boolean;
  /** Where the reader records the folders it writes inline function code into (removed when the runtime stops). */
  inlineCodeDirs: string[];
  /** Writes what the reload changed to --state-dir now rather than at the next tick. */
  persist?(): void;
}

/** A topology as `startLocalRuntime` runs it: the visibility cap applied. */
export function loadRunnableTopology(assemblyDir: string, ctx: LocalContext, maxVisibilityTimeoutSeconds: number | undefined): Topology {
  const topo = loadTopology(assemblyDir, ctx);
  const cap = maxVisibilityTimeoutSeconds;
  if (cap !== undefined) {
    if (!Number.isInteger(cap) || cap < 0 || cap > 43200)
      throw new RangeError(`maxVisibilityTimeoutSeconds must be an integer from 0 to 43200 (given ${cap})`);
    for (const q of topo.queues) q.attributes.VisibilityTimeout = String(Math.min(cap, Number(q.attributes.VisibilityTimeout ?? 30)));
  }
  return topo;
}

/** `type name` of the resources a stack update would keep when removed (DeletionPolicy Retain). */
export function retainedResources(assemblyDir: string, ctx: LocalContext): Set<string> {
  const out = new Set<string>();
  const assembly = new Assembly(CloudAssembly.load(assemblyDir), {
    naming: localNaming(ctx.endpoint),
    defaults: { account: ctx.accountId, region: ctx.region },
  });
  for (const stack of assembly.stacks) {
    for (const r of stack.all()) {
      const policy = (r.raw as { DeletionPolicy?: unknown }).DeletionPolicy;
      if (policy === 'Retain' || policy === 'RetainExceptOnCreate') out.add(`${r.type} ${r.name}`);
    }
  }
  return out;
}

/** Keys of an object sorted, recursively: two definitions compare equal whatever their key order. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

const same = (a: unknown, b: unknown) => canonical(a) === canonical(b);

/** Past this many bytes of code, folders at different paths are taken as different code rather than read. */
const MAX_COMPARED_CODE_BYTES = 64 * 1024 * 1024;

/**
 * Whether two definitions run the same code. CDK names asset folders by the hash of their
 * content (`asset.<sha256>`), so the same folder name is the same code; other folders (inline
 * `Code.ZipFile` code gets a fresh one per load, an assembly synthesized elsewhere) are compared
 * file by file.
 */
function sameCode(a: FunctionDef, b: FunctionDef): boolean {
  if (a.codeDir === b.codeDir) return true;
  const base = path.basename(a.codeDir);
  if (base.startsWith('asset.') && base === path.basename(b.codeDir)) return true;
  const files = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((f) =>
      f.isDirectory() ? files(path.join(d, f.name)).map((x) => `${f.name}/${x}`) : f.isFile() ? [f.name] : [],
    );
  try {
    const fa = files(a.codeDir).sort();
    const fb = files(b.codeDir).sort();
    if (!same(fa, fb)) return false;
    let bytes = 0;
    for (const f of fa) {
      const size = statSync(path.join(a.codeDir, f)).size;
      bytes += size;
      if (bytes > MAX_COMPARED_CODE_BYTES || size !== statSync(path.join(b.codeDir, f)).size) return false;
    }
    return fa.every((f) => readFileSync(path.join(a.codeDir, f)).equals(readFileSync(path.join(b.codeDir, f))));
  } catch {
    return false;
  }
}

interface Diff<T> {
  added: T[];
  removed: T[];
  /** [running, new] */
  changed: [T, T][];
  unchanged: [T, T][];
}

function diff<T>(before: readonly T[], after: readonly T[], key: (t: T) => string, equal: (a: T, b: T) => boolean): Diff<T> {
  const old = new Map(before.map((t) => [key(t), t]));
  const out: Diff<T> = { added: [], removed: [], changed: [], unchanged: [] };
  const seen = new Set<string>();
  for (const t of after) {
    const k = key(t);
    seen.add(k);
    const was = old.get(k);
    if (was === undefined) out.added.push(t);
    else if (equal(was, t)) out.unchanged.push([was, t]);
    else out.changed.push([was, t]);
  }
  for (const [k, t] of old) if (!seen.has(k)) out.removed.push(t);
  return out;
}

/** Counts per kind, for the summary line. */
class Tally {
  readonly lines: string[] = [];
  private readonly counts = { '+': new Map<string, number>(), '~': new Map<string, number>(), '-': new Map<string, number>() };

  note(sign: '+' | '~' | '-', kind: string, name: string, detail?: string): void {
    this.lines.push(`${sign} ${kind} ${name}${detail ? ` (${detail})` : ''}`);
    const m = this.counts[sign];
    m.set(kind, (m.get(kind) ?? 0) + 1);
  }

  total(sign: '+' | '~' | '-'): number {
    return [...this.counts[sign].values()].reduce((a, b) => a + b, 0);
  }

  summary(ms: number): string {
    const parts: string[] = [];
    for (const sign of ['+', '~', '-'] as const) {
      for (const [kind, n] of this.counts[sign]) parts.push(`${sign}${n} ${kind}${n === 1 ? '' : kind.endsWith('s') ? 'es' : 's'}`);
    }
    if (parts.length === 0) return `reloaded in ${ms} ms: no changes`;
    if (this.total('-') === 0) parts.push('-0');
    return `reloaded in ${ms} ms: ${parts.join(', ')}`;
  }
}

/**
 * Checks the new topology by building it into empty brokers that nothing serves: every queue
 * attribute, dead-letter order, bus, archive, rule pattern and target, function and mapping is
 * refused here exactly as start would refuse it, before the running app is touched.
 */
async function dryRun(topo: Topology, c: ReloadContext): Promise<void> {
  const stream = new EventStream(c.clock, c.accountId, c.region);
  const sqs = new SqsBroker({ clock: c.clock, stream, region: c.region, accountId: c.accountId, endpoint: c.endpoint });
  const events = new EventBroker({ clock: c.clock, stream, sqs, region: c.region, accountId: c.accountId });
  const functions = new FunctionRegistry(c.log, { account: c.accountId, region: c.region });
  const scratch: BuildContext = { ...c, stream, sqs, events, functions, mappings: [] };
  try {
    checkTableNames(topo.tables);
    await build({ ...topo, tables: [], warnings: [] }, scratch);
  } finally {
    events.close();
    sqs.close();
  }
}

/** A reloaded assembly's resources, checked, ready to apply. */
interface Loaded {
  topo: Topology;
  cloudwatch: CloudWatchResources;
  policies: AppPolicies | undefined;
  policyWarning?: string;
  retained: Set<string>;
}

function load(assemblyDir: string, c: ReloadContext, running: Deployed): Loaded {
  const ctx = { region: c.region, accountId: c.accountId, endpoint: c.endpoint, inlineCodeDirs: c.inlineCodeDirs };
  const topo = loadRunnableTopology(assemblyDir, ctx, c.maxVisibilityTimeoutSeconds);
  let policies: AppPolicies | undefined;
  let policyWarning: string | undefined;
  try {
    policies = loadAppPolicies(assemblyDir, ctx);
  } catch (e) {
    if (c.iam === 'enforce') throw new TemplateError(`--iam enforce: the app's policies cannot be read: ${(e as Error).message}`);
    if (c.iam === 'warn' && running.policies)
      policyWarning = `the new assembly's policies cannot be read (${(e as Error).message}); the previous policies still apply`;
  }
  const cloudwatch = loadCloudWatchResources(assemblyDir, ctx);
  const retained = retainedResources(assemblyDir, ctx);
  return { topo, cloudwatch, policies, policyWarning, retained };
}

/**
 * Loads the assembly in `assemblyDir`, checks it whole, then applies the difference to the running
 * app and records it in `running`. Throws (a TemplateError naming the resource) and changes
 * nothing when the new assembly cannot run.
 */
export async function reloadAssembly(assemblyDir: string, c: ReloadContext, running: Deployed): Promise<ReloadReport> {
  const started = performance.now();
  const next = load(path.resolve(assemblyDir), c, running);
  const { topo } = next;
  await dryRun(topo, c);

  const old = running.topo;
  const t = new Tally();
  const warnings = [...topo.warnings];
  if (next.policyWarning) warnings.push(next.policyWarning);

  // ---- the differences, by identity ----
  const queueArn = (q: QueueDef) => q.arn ?? c.sqs.arnOf(q.name, placeOf(q, c));
  const queues = diff(old.queues, topo.queues, queueArn, (a, b) => same(a.attributes, b.attributes));
  const busArn = (b: Topology['buses'][number]) => c.events.busArn(b.name, placeOf(b, c));
  const buses = diff(old.buses, topo.buses, busArn, (a, b) => a.description === b.description && a.deadLetterArn === b.deadLetterArn);
  const archives = diff(old.archives, topo.archives, (a) => a.name, same);
  const ruleKey = (r: RuleDef) => `${c.events.busArn(busNameOf(r.busName), placeOf(r, c))} ${r.name}`;
  const rules = diff(old.rules, topo.rules, ruleKey, same);
  const tables = diff(
    old.tables,
    topo.tables,
    (x) => x.name,
    (a, b) => same(a.definition, b.definition),
  );
  const fnArn = (f: FunctionDef) => f.arn ?? `${f.account ?? c.accountId}/${f.region ?? c.region}/${f.name}`;
  const roleOf = (p: AppPolicies | undefined, f: FunctionDef) => (f.arn ? p?.functionRoles.get(f.arn) : undefined);
  const policies = next.policies ?? running.policies;
  const functions = diff(
    old.functions,
    topo.functions,
    fnArn,
    (a, b) => same({ ...a, codeDir: '' }, { ...b, codeDir: '' }) && sameCode(a, b) && roleOf(running.policies, a) === roleOf(policies, b),
  );
  const mappings = diff(old.mappings, topo.mappings, (m) => m.uuid, same);
  const logGroups = diff(
    old.logGroups,
    topo.logGroups,
    (g) => g.name,
    (a, b) => a.retentionInDays === b.retentionInDays,
  );

  // ---- checks against what runs now (run-time resources share names with the template's) ----
  for (const q of queues.added) {
    const live = c.sqs.byArn(queueArn(q));
    const differs = live && Object.entries(q.attributes).find(([k, v]) => queueAttributeString(live, k) !== v);
    if (differs) {
      throw new TemplateError(
        `Queue ${q.name}: a queue of that name exists (created at run time) with ${differs[0]} ${queueAttributeString(live!, differs[0]) ?? 'unset'}, and the template sets ${differs[1]}; delete it or match the template`,
      );
    }
  }
  const templateTargets = new Map(old.rules.map((r) => [ruleKey(r), new Set(r.targets.map((x) => x.id))]));
  const newRulesPerBus = new Map<string, number>();
  for (const r of rules.added) {
    const bus = c.events.busesByArn.get(c.events.busArn(busNameOf(r.busName), placeOf(r, c)));
    if (bus && !bus.rules.has(r.name)) newRulesPerBus.set(bus.arn, (newRulesPerBus.get(bus.arn) ?? 0) + 1);
  }
  for (const [arn, n] of newRulesPerBus) {
    const bus = c.events.busesByArn.get(arn)!;
    const gone = rules.removed.filter((r) => c.events.busArn(busNameOf(r.busName), placeOf(r, c)) === arn).length;
    if (bus.rules.size + n - gone > MAX_RULES_PER_BUS)
      throw new TemplateError(`Event bus ${bus.name} would have more than ${MAX_RULES_PER_BUS} rules with the ones added at run time`);
  }
  for (const r of [...rules.added, ...rules.changed.map(([, b]) => b)]) {
    const live = liveRule(c.events, r, c);
    if (!live) continue;
    const fromTemplate = templateTargets.get(ruleKey(r)) ?? new Set<string>();
    const ids = new Set([...[...live.targets.keys()].filter((id) => !fromTemplate.has(id)), ...r.targets.map((x) => x.id)]);
    if (ids.size > MAX_TARGETS_PER_RULE)
      throw new TemplateError(
        `Rule ${r.name}: it would have ${ids.size} targets with the ones added at run time; a rule can have at most ${MAX_TARGETS_PER_RULE}`,
      );
  }

  // ---- apply: additive steps that can wait (tables), then the rest at once ----
  const createdTables = tables.added.map((x) => x.name);
  await createTables(tables.added, c.endpoint, c.region, true);
  const retiredMappings = new Set<SqsEventSource>();
  const liveMapping = (m: MappingDef) => c.mappings.find((x) => x.def.uuid === m.uuid);
  const functionsAdded = new Set(functions.added.map(fnArn));
  const functionsRemoved = new Set(functions.removed.map(fnArn));
  const touchesFunction = (m: MappingDef) => {
    const arn = mappedFunctionArn(m, c);
    return functionsAdded.has(arn) || functionsRemoved.has(arn);
  };
  /** Mappings polled again from scratch (their queue, function or Enabled changed, or their function was added or removed). */
  const replacedMappings: MappingDef[] = [];
  const updatedMappings: [SqsEventSource, MappingDef][] = [];
  for (const m of mappings.removed) {
    const live = liveMapping(m);
    if (live) retiredMappings.add(live);
  }
  const identity = (x: MappingDef) => [x.eventSourceArn, mappedFunctionArn(x, c), x.enabled];
  for (const [a, b] of [...mappings.changed, ...mappings.unchanged]) {
    if (same(a, b) && !touchesFunction(b)) continue;
    const live = liveMapping(a);
    if (live && same(identity(a), identity(b)) && !touchesFunction(b)) updatedMappings.push([live, b]);
    else {
      if (live) retiredMappings.add(live);
      replacedMappings.push(b);
    }
  }
  // Pollers stop first: a batch being processed finishes (and is deleted) before its function or queue goes.
  await Promise.all([...retiredMappings].map((m) => m.close()));

  // From here to the end of the synchronous block no request is served in between.
  try {
    if (next.policies) {
      c.identity.load(next.policies, { events: c.events, sqs: c.sqs, region: c.region, accountId: c.accountId });
      c.setDeliveryPolicies(next.policies);
      if (running.policies && !same(running.policies.model, next.policies.model)) t.note('~', 'policy set', 'of the app');
    }
    for (const q of queuesInOrder(queues.added, c)) {
      createQueue(q, c);
      t.note('+', 'queue', q.name);
    }
    for (const [was, q] of queues.changed) {
      const live = c.sqs.byArn(queueArn(q));
      if (!live) {
        createQueue(q, c);
        t.note('+', 'queue', q.name, 'it had been deleted at run time');
        continue;
      }
      c.sqs.setAttributes(live, attributeChanges(was.attributes, q.attributes, live.fifo));
      t.note('~', 'queue', q.name, `${changedKeys(was.attributes, q.attributes).join(', ')}; messages kept`);
    }
    for (const b of buses.added) {
      const live = c.events.busesByArn.get(busArn(b));
      if (live) updateBus(live, b);
      else createBus(b, c);
      t.note('+', 'bus', b.name);
    }
    for (const [, b] of buses.changed) {
      const live = c.events.busesByArn.get(busArn(b));
      if (live) updateBus(live, b);
      else createBus(b, c);
      t.note('~', 'bus', b.name);
    }
    for (const a of archives.added) {
      if (c.events.archives.has(a.name)) updateArchive(c.events, a);
      else createArchive(a, c);
      t.note('+', 'archive', a.name);
    }
    for (const [was, a] of archives.changed) {
      if (was.sourceArn !== a.sourceArn || !c.events.archives.has(a.name)) {
        const dropped = c.events.archives.get(a.name)?.events.length ?? 0;
        if (c.events.archives.has(a.name)) c.events.deleteArchive(a.name);
        createArchive(a, c);
        t.note('~', 'archive', a.name, `replaced: its source changed; ${dropped} archived events dropped with it`);
      } else {
        updateArchive(c.events, a);
        t.note('~', 'archive', a.name, 'events kept');
      }
    }
    for (const r of rules.added) {
      const live = liveRule(c.events, r, c);
      if (live) {
        putRuleOf(r, c);
        c.events.putTargets(live, r.targets);
      } else createRule(r, c);
      t.note('+', 'rule', r.name);
    }
    for (const [was, r] of rules.changed) {
      if (!liveRule(c.events, r, c)) {
        createRule(r, c);
        t.note('+', 'rule', r.name, 'it had been deleted at run time');
        continue;
      }
      const rule = putRuleOf(r, c);
      const targets = diff(was.targets, r.targets, (x) => x.id, same);
      for (const x of targets.removed) rule.targets.delete(x.id);
      const put = [...targets.added, ...targets.changed.map(([, x]) => x)];
      const failed = put.length > 0 ? c.events.putTargets(rule, put) : [];
      for (const f of failed) warnings.push(`rule ${r.name}: target ${f.TargetId} is not applied: ${f.ErrorMessage}`);
      const what = [
        was.pattern !== r.pattern ? 'pattern' : '',
        was.scheduleExpression !== r.scheduleExpression ? 'schedule' : '',
        was.state !== r.state ? `state ${r.state}` : '',
        was.description !== r.description ? 'description' : '',
        targets.added.length ? `+${targets.added.length} target` : '',
        targets.changed.length ? `~${targets.changed.length} target` : '',
        targets.removed.length ? `-${targets.removed.length} target` : '',
      ].filter(Boolean);
      t.note('~', 'rule', r.name, what.join(', '));
    }
    for (const r of rules.removed) {
      const live = liveRule(c.events, r, c);
      if (!live) continue;
      const runTime = [...live.targets.keys()].filter((id) => !r.targets.some((x) => x.id === id)).length;
      live.targets.clear();
      c.events.deleteRule(live.bus, live.name);
      t.note('-', 'rule', r.name, runTime > 0 ? `with ${runTime} target(s) added at run time` : undefined);
    }
    const concurrency = mappingConcurrency(topo.mappings, c);
    for (const f of functions.added) {
      const fn = createFunction(f, concurrency, c);
      if (c.prewarm) fn.prewarm();
      t.note('+', 'function', f.name);
    }
    for (const [was, f] of functions.changed) {
      const fn = c.functions.get(fnArnLive(f, c));
      if (!fn) continue;
      fn.redefine(f, functionSettings(f, c));
      if (c.prewarm) fn.prewarm();
      t.note('~', 'function', f.name, functionChanges(was, f).join(', ') || 'role');
    }
    for (const f of functions.removed) {
      const arn = fnArnLive(f, c);
      const fn = c.functions.get(arn);
      if (!fn) continue;
      c.functions.functions.delete(fn.arn);
      void fn.close();
      t.note('-', 'function', f.name, 'its logs are kept');
    }
    for (const fn of c.functions.functions.values()) fn.maxWorkers = Math.max(1, concurrency.get(fn.arn) ?? DEFAULT_MAPPING_CONCURRENCY);
    for (let i = c.mappings.length - 1; i >= 0; i--) if (retiredMappings.has(c.mappings[i]!)) c.mappings.splice(i, 1);
    for (const [live, m] of updatedMappings) {
      live.update(m);
      t.note(
        '~',
        'mapping',
        m.uuid,
        `batch ${m.batchSize}, window ${m.maximumBatchingWindowInSeconds}s, concurrency ${m.maximumConcurrency ?? DEFAULT_MAPPING_CONCURRENCY}`,
      );
    }
    for (const m of [...mappings.added, ...replacedMappings]) createMapping(m, c, warnings)?.start();
    for (const m of mappings.added) t.note('+', 'mapping', m.uuid);
    for (const [, m] of mappings.changed) if (replacedMappings.includes(m)) t.note('~', 'mapping', m.uuid, 'polling restarted');
    for (const m of mappings.removed) t.note('-', 'mapping', m.uuid);
    const groups = c.observability.reload({ logGroups: [...logGroups.added, ...logGroups.changed.map(([, g]) => g)], trails: topo.trails });
    warnings.push(...groups.warnings);
    for (const g of groups.created) t.note('+', 'log group', g);
    for (const [, g] of logGroups.changed) t.note('~', 'log group', g.name, `retention ${g.retentionInDays ?? 'never expires'}`);
    for (const g of logGroups.removed) t.note('-', 'log group', g.name, 'kept with its events, as a retained log group is');
    if (!same(old.trails, topo.trails)) t.note('~', 'trail set', `${topo.trails.length} trail(s)`);
    const alarms = c.cloudwatch.reload(next.cloudwatch);
    for (const a of alarms.added) t.note('+', 'alarm', a);
    for (const a of alarms.changed) t.note('~', 'alarm', a, 'state kept');
    for (const a of alarms.removed) t.note('-', 'alarm', a);
    for (const q of queues.removed) {
      const live = c.sqs.byArn(queueArn(q));
      if (!live) continue;
      if (running.retained.has(`AWS::SQS::Queue ${q.name}`)) {
        t.note('-', 'queue', q.name, 'DeletionPolicy Retain: the queue and its messages are kept');
        continue;
      }
      const messages = live.counts.ready + live.counts.inflight + live.counts.delayed;
      c.sqs.delete(live);
      t.note('-', 'queue', q.name, `deleted with its ${messages} message(s), as a stack update deletes it`);
    }
    for (const b of buses.removed) {
      if (b.name === 'default') continue;
      const live = c.events.busesByArn.get(busArn(b));
      if (!live) continue;
      const left = live.rules.size;
      if (live.account === c.events.callerAccount() && live.region === c.events.region) c.events.deleteEventBus(live.name);
      else {
        warnings.push(`event bus ${live.arn} is kept: only the caller account's buses are deleted locally`);
        continue;
      }
      t.note('-', 'bus', b.name, left > 0 ? `with ${left} rule(s) added at run time` : undefined);
    }
    for (const a of archives.removed) {
      const live = c.events.archives.get(a.name);
      if (!live) continue;
      const events = live.events.length;
      c.events.deleteArchive(a.name);
      t.note('-', 'archive', a.name, `${events} archived events dropped with it`);
    }
    for (const x of tables.added) t.note('+', 'table', x.name);
    for (const [, x] of tables.changed) {
      t.note('~', 'table', x.name, 'items kept');
      warnings.push(
        `table ${x.name} changed in the template; the local table keeps its items and key schema (recreate it to apply a new key schema)`,
      );
    }
  } catch (e) {
    // Only a defect of the checks above gets here: say what applied so far rather than hide it.
    const message = `${PART_WAY} (${t.lines.join('; ') || 'nothing applied'}): ${(e as Error).message}`;
    await deleteTables(createdTables, c.endpoint, c.region).catch(() => undefined);
    throw new TemplateError(message);
  }
  // Tables go last, once nothing that used them runs; a retained table keeps its items.
  const dropTables: string[] = [];
  for (const x of tables.removed) {
    if (running.retained.has(`AWS::DynamoDB::Table ${x.name}`) || running.retained.has(`AWS::DynamoDB::GlobalTable ${x.name}`)) {
      t.note('-', 'table', x.name, 'DeletionPolicy Retain: the table and its items are kept');
    } else {
      dropTables.push(x.name);
      t.note('-', 'table', x.name, 'deleted with its items');
    }
  }
  try {
    await deleteTables(dropTables, c.endpoint, c.region);
  } catch (e) {
    warnings.push((e as Error).message);
  }

  running.topo = topo;
  running.cloudwatch = next.cloudwatch;
  running.policies = policies;
  running.retained = next.retained;
  c.persist?.();
  const ms = Math.round(performance.now() - started);
  return { lines: t.lines, added: t.total('+'), changed: t.total('~'), removed: t.total('-'), warnings, ms, summary: t.summary(ms) };
}

function liveRule(events: EventBroker, r: RuleDef, c: Pick<BuildContext, 'accountId' | 'region'>) {
  return events.busesByArn.get(events.busArn(busNameOf(r.busName), placeOf(r, c)))?.rules.get(r.name);
}

function fnArnLive(f: FunctionDef, c: Pick<BuildContext, 'accountId' | 'region' | 'functions'>): string {
  if (f.arn) return f.arn;
  const where = placeOf(f, c);
  return (
    [...c.functions.functions.values()].find((x) => x.name === f.name && x.arn.includes(`:${where.region}:${where.account}:`))?.arn ??
    f.name
  );
}

function updateBus(bus: Bus, b: Topology['buses'][number]): void {
  bus.description = b.description;
  bus.deadLetterArn = b.deadLetterArn;
}

function updateArchive(events: EventBroker, a: Topology['archives'][number]): void {
  const live = events.archives.get(a.name);
  if (!live) return;
  // UpdateArchive changes only what is given; a property the template dropped is cleared.
  live.def.pattern = a.pattern;
  live.def.description = a.description;
  live.def.retentionDays = a.retentionDays;
  events.updateArchive(a.name, {});
}

function changedKeys(a: Record<string, string>, b: Record<string, string>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => a[k] !== b[k]).sort();
}

/**
 * The SetQueueAttributes request that turns the template's old attributes into the new ones: an
 * attribute the template no longer sets goes back to SQS's default.
 */
function attributeChanges(was: Record<string, string>, now: Record<string, string>, fifo: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  const defaults = DEFAULT_QUEUE_SETTINGS as unknown as Record<string, unknown>;
  for (const k of changedKeys(was, now)) {
    const v = now[k];
    if (v !== undefined) out[k] = v;
    else if (k === 'ContentBasedDeduplication') {
      if (fifo) out[k] = 'false';
    } else if (typeof defaults[k] === 'number') out[k] = String(defaults[k]);
    else out[k] = '';
  }
  return out;
}

function functionChanges(a: FunctionDef, b: FunctionDef): string[] {
  const out: string[] = [];
  if (!same(a.environment, b.environment)) out.push('environment');
  if (a.timeoutSeconds !== b.timeoutSeconds) out.push(`timeout ${b.timeoutSeconds}s`);
  if (a.memoryMb !== b.memoryMb) out.push(`memory ${b.memoryMb} MB`);
  if (a.handler !== b.handler) out.push(`handler ${b.handler}`);
  if (!sameCode(a, b)) out.push('code');
  if (a.runtime !== b.runtime) out.push(`runtime ${b.runtime ?? ''}`);
  if (!same(a.logging, b.logging)) out.push('logging');
  return out;
}

declare module './stream' {
  interface RuntimeEvents {
    /** A changed assembly was applied to the running app. */
    'runtime.reloaded': { assemblyDir: string; added: number; changed: number; removed: number; ms: number; lines: string[] };
    /** A reload was refused; nothing changed. */
    'runtime.reload-failed': { assemblyDir: string; message: string };
  }
}
