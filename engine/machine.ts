/**
 * All rules of a bus in one automaton, in the manner of aws/event-ruler: each rule branch is a
 * sequence of field conditions (see matchingOrder), and branches share the states of their common
 * leading conditions. An event walks only the transitions its own values satisfy, so the cost of
 * a match grows with the event and the rules it matches, not with the number of rules.
 */
import { Branch, FieldCondition, Matcher } from './compile';
import { ArrayPos, consistent, Kind, Leaf, toLeaf } from './event';
import { RawNumber } from './json';
import { ipToHex, looksLikeIp, wildcardMatches } from './values';

/** A node of the tree of field paths rules use; the event is read only along it. */
class PathNode {
  readonly children = new Map<string, PathNode>();
  fid = -1;
}

/** A condition not looked up by value (ranges, wildcards, anything-but, ...), with its targets. */
interface Probe {
  readonly m: Matcher;
  /** Lower-cased operand(s) for the case-insensitive kinds. */
  readonly lower: string;
  readonly targets: NameState[];
}

/** The transitions of one state on the values of one field. */
class FieldTransitions {
  // Tables are created on first use: a bus of 10,000 rules has tens of thousands of these, and
  // small objects keep the automaton in cache.
  strings: Map<string, NameState[]> | null = null;
  numbers: Map<number | string, NameState[]> | null = null;
  numberTexts: Map<string, NameState[]> | null = null;
  literals: Map<Kind, NameState[]> | null = null;
  prefixes: Map<string, NameState[]> | null = null;
  suffixes: Map<string, NameState[]> | null = null;
  ignoreCase: Map<string, NameState[]> | null = null;
  prefixLengths: number[] = NONE;
  suffixLengths: number[] = NONE;
  exists: NameState[] | null = null;
  probes: Probe[] | null = null;
  /** Numeric ranges, found through an interval index rather than one by one. */
  ranges: Probe[] | null = null;
  private rangeIndex: RangeIndex | null = null;

  constructor(readonly fid: number) {}

  get rangesContaining(): RangeIndex {
    if (this.rangeIndex === null) this.rangeIndex = new RangeIndex(this.ranges ?? []);
    return this.rangeIndex;
  }

  add(m: Matcher, target: NameState): void {
    switch (m.kind) {
      case 'string':
        this.strings = push(this.strings, m.value, target);
        return;
      case 'number':
        this.numbers = push(this.numbers, m.value, target);
        return;
      case 'numtext':
        this.numberTexts = push(this.numberTexts, m.value, target);
        return;
      case 'literal': {
        const kind = m.value === 'true' ? Kind.True : m.value === 'false' ? Kind.False : Kind.Null;
        this.literals = push(this.literals, kind, target);
        return;
      }
      case 'prefix':
        if (!this.prefixes?.has(m.value)) this.prefixLengths = insertSorted(this.prefixLengths, m.value.length);
        this.prefixes = push(this.prefixes, m.value, target);
        return;
      case 'suffix':
        if (!this.suffixes?.has(m.value)) this.suffixLengths = insertSorted(this.suffixLengths, m.value.length);
        this.suffixes = push(this.suffixes, m.value, target);
        return;
      case 'equals-ic':
        this.ignoreCase = push(this.ignoreCase, m.value.toLowerCase(), target);
        return;
      case 'exists':
        this.exists = addTarget(this.exists ?? [], target);
        return;
      case 'numeric':
        this.ranges = addProbe(this.ranges ?? [], m, target);
        this.rangeIndex = null;
        return;
      default:
        this.probes = addProbe(this.probes ?? [], m, target);
    }
  }
}

const NONE: number[] = [];

function addTarget(list: NameState[], target: NameState): NameState[] {
  if (!list.includes(target)) list.push(target);
  return list;
}

function addProbe(probes: Probe[], m: Matcher, target: NameState): Probe[] {
  let p = probes.find((x) => x.m.key === m.key);
  if (p === undefined) {
    const lower = 'value' in m && typeof m.value === 'string' ? m.value.toLowerCase() : '';
    p = { m, lower, targets: [] };
    probes.push(p);
  }
  addTarget(p.targets, target);
  return probes;
}

/**
 * Numeric ranges indexed by elementary segments: the distinct bounds cut the number line into
 * points and open spans, and each piece lists the ranges that hold it. A value costs a binary
 * search plus the ranges that hold it, however many ranges there are (a bus of 10,000 rules has
 * transitions with hundreds of overlapping ranges).
 */
/** Ascending order of doubles, infinities included; -0 never reaches here (see comparableNumber). */
function compareNumbers(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

class RangeIndex {
  /** Distinct bounds, ascending. */
  private readonly points: number[];
  /** Piece 2i+1 is the point points[i]; piece 2i is the span just below it; the last, above all. */
  private readonly pieces: Probe[][];

  constructor(ranges: readonly Probe[]) {
    const bounds: number[] = [];
    for (const p of ranges) if (p.m.kind === 'numeric') bounds.push(p.m.lo, p.m.hi);
    bounds.sort(compareNumbers);
    this.points = bounds.filter((v, i) => i === 0 || v !== bounds[i - 1]);
    this.pieces = Array.from({ length: 2 * this.points.length + 1 }, () => [] as Probe[]);
    for (const p of ranges) {
      if (p.m.kind !== 'numeric') continue;
      const first = this.pieceOf(p.m.lo) + (p.m.loOpen ? 1 : 0);
      const last = this.pieceOf(p.m.hi) - (p.m.hiOpen ? 1 : 0);
      for (let i = first; i <= last; i++) this.pieces[i]!.push(p);
    }
  }

  /** The piece holding v. */
  pieceOf(v: number): number {
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const c = compareNumbers(this.points[mid]!, v);
      if (c === 0) return 2 * mid + 1;
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return 2 * lo;
  }

  holding(v: number): readonly Probe[] {
    return this.pieces[this.pieceOf(v)]!;
  }
}

function push<T>(map: Map<T, NameState[]> | null, key: T, target: NameState): Map<T, NameState[]> {
  const m = map ?? new Map<T, NameState[]>();
  const list = m.get(key);
  if (list === undefined) m.set(key, [target]);
  else addTarget(list, target);
  return m;
}

function insertSorted(list: number[], n: number): number[] {
  if (list.includes(n)) return list;
  return [...list, n].sort((a, b) => a - b);
}

interface RuleRecord<K> {
  readonly id: K;
  readonly branches: readonly Branch[];
  mark: number;
}

/** A point in the automaton: the rule branches whose leading conditions have all matched. */
class NameState {
  mark = 0;
  // Empty lists are shared: most of the tens of thousands of states of a large bus have no
  // terminals or absence checks, and small states keep the walk in cache.
  terminals: Array<RuleRecord<unknown>> = NO_TERMINALS;
  transitions: FieldTransitions[] = NO_TRANSITIONS;
  absent: Array<{ readonly fid: number; readonly target: NameState }> = NO_ABSENT;

  constructor(readonly id: number) {}

  transitionsFor(fid: number): FieldTransitions {
    for (const t of this.transitions) if (t.fid === fid) return t;
    const t = new FieldTransitions(fid);
    if (this.transitions === NO_TRANSITIONS) this.transitions = [];
    this.transitions.push(t);
    return t;
  }

  addTerminal(rec: RuleRecord<unknown>): void {
    if (this.terminals === NO_TERMINALS) this.terminals = [];
    if (!this.terminals.includes(rec)) this.terminals.push(rec);
  }

  addAbsent(fid: number, target: NameState): void {
    if (this.absent === NO_ABSENT) this.absent = [];
    if (!this.absent.some((a) => a.fid === fid && a.target === target)) this.absent.push({ fid, target });
  }
}

/** Every state a field's transitions lead to. */
function targetsOf(ft: FieldTransitions): NameState[] {
  const out: NameState[] = [];
  for (const map of [ft.strings, ft.numbers, ft.numberTexts, ft.literals, ft.prefixes, ft.suffixes, ft.ignoreCase]) {
    if (map !== null) for (const list of (map as Map<unknown, NameState[]>).values()) out.push(...list);
  }
  for (const p of [...(ft.probes ?? []), ...(ft.ranges ?? [])]) out.push(...p.targets);
  out.push(...(ft.exists ?? []));
  return out;
}

const NO_TERMINALS: Array<RuleRecord<unknown>> = [];
const NO_TRANSITIONS: FieldTransitions[] = [];
const NO_ABSENT: Array<{ readonly fid: number; readonly target: NameState }> = [];

/** How many event values a condition typically lets through: exact values first. */
function selectivity(cond: FieldCondition): number {
  let rank = 0;
  for (const m of cond.matchers) {
    switch (m.kind) {
      case 'string':
      case 'number':
      case 'numtext':
      case 'literal':
        break;
      case 'prefix':
      case 'suffix':
      case 'equals-ic':
      case 'prefix-ic':
      case 'suffix-ic':
      case 'wildcard':
      case 'ip':
        rank = Math.max(rank, 1);
        break;
      case 'numeric':
        rank = Math.max(rank, 2);
        break;
      default:
        rank = 3;
    }
  }
  return rank;
}

/**
 * The order a branch's conditions are walked in. Selective conditions go first, so that an event
 * leaves the branches it cannot match early and rules share the states of their exact values;
 * for conditions that all must hold, the order does not change the result. A branch with
 * `exists: false` keeps event-ruler's order (by path): inside arrays of objects, absence is
 * judged against the array elements the earlier conditions chose.
 */
function matchingOrder(branch: Branch, uses: ReadonlyMap<string, number>): readonly FieldCondition[] {
  if (branch.some((c) => c.matchers.some((m) => m.kind === 'exists' && !m.value))) return branch;
  // Within a kind, fields more rules use come first: a field every rule tests (`source`) is then
  // one shared step at the root instead of a last step on every path.
  const used = (c: FieldCondition) => uses.get(c.path) ?? 0;
  return [...branch].sort(
    (a, b) => selectivity(a) - selectivity(b) || used(b) - used(a) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
  );
}

/** Array positions chosen so far along one walk of the automaton. */
interface Chosen {
  readonly pos: ArrayPos;
  readonly next: Chosen | null;
}

export class Machine<K> {
  private root = new NameState(0);
  /** Next state per (state, field, set of alternatives), so equal conditions share states. */
  private edges = new Map<string, NameState>();
  private stateCount = 1;
  /** How many rule branches test each field path. */
  private readonly pathUses = new Map<string, number>();
  /** Rules in the automaton when it was last built from scratch. */
  private builtSize = 0;
  private paths = new PathNode();
  private pathIds = new Map<string, number>();
  private readonly rules = new Map<K, RuleRecord<K>>();
  private dirty = false;

  // Per-match scratch space, reused so that matching allocates little.
  private epoch = 0;
  private leaves: Leaf[] = [];
  private leafCount = 0;
  private nextLeaf = new Int32Array(64);
  private fieldHead = new Int32Array(16);
  private fieldEpoch = new Int32Array(16);
  private arrayCounter = 0;
  private out: K[] = [];
  /**
   * Number leaves the last match tested against a condition. When none was, the result does not
   * depend on how exactly the event's number literals were read.
   */
  numbersTested = 0;

  get size(): number {
    return this.rules.size;
  }

  add(id: K, branches: readonly Branch[]): void {
    if (this.rules.has(id)) this.remove(id);
    const rec: RuleRecord<K> = { id, branches, mark: 0 };
    this.rules.set(id, rec);
    this.countUses(rec, 1);
    // The order of conditions follows how many rules use each field; once the bus has doubled
    // since the last build, rebuild (lazily) so that all rules share that order again.
    if (this.rules.size >= 64 && this.rules.size >= 2 * this.builtSize) this.dirty = true;
    if (!this.dirty) this.insert(rec);
  }

  remove(id: K): void {
    // Removal rebuilds the automaton lazily: rules change rarely next to events.
    const rec = this.rules.get(id);
    if (rec === undefined) return;
    this.rules.delete(id);
    this.countUses(rec, -1);
    this.dirty = true;
  }

  private countUses(rec: RuleRecord<K>, delta: number): void {
    for (const branch of rec.branches) {
      for (const cond of branch) this.pathUses.set(cond.path, (this.pathUses.get(cond.path) ?? 0) + delta);
    }
  }

  has(id: K): boolean {
    return this.rules.has(id);
  }

  private rebuild(): void {
    this.root = new NameState(0);
    this.edges = new Map();
    this.stateCount = 1;
    this.paths = new PathNode();
    this.pathIds = new Map();
    this.dirty = false;
    this.builtSize = this.rules.size;
    for (const rec of this.rules.values()) this.insert(rec);
  }

  private insert(rec: RuleRecord<K>): void {
    for (const branch of rec.branches) {
      let state = this.root;
      for (const cond of matchingOrder(branch, this.pathUses)) state = this.step(state, cond);
      state.addTerminal(rec);
    }
  }

  private step(state: NameState, cond: FieldCondition): NameState {
    const fid = this.fieldId(cond.path);
    const key = `${fid}\u0001${cond.matchers
      .map((m) => m.key)
      .sort()
      .join('\u0002')}`;
    const edge = `${state.id}\u0003${key}`;
    let target = this.edges.get(edge);
    if (target !== undefined) return target;
    target = new NameState(this.stateCount++);
    this.edges.set(edge, target);
    for (const m of cond.matchers) {
      if (m.kind === 'exists' && !m.value) {
        state.addAbsent(fid, target);
      } else {
        state.transitionsFor(fid).add(m, target);
      }
    }
    return target;
  }

  private fieldId(path: string): number {
    let fid = this.pathIds.get(path);
    if (fid !== undefined) return fid;
    fid = this.pathIds.size;
    this.pathIds.set(path, fid);
    let node = this.paths;
    for (const seg of path.split('.')) {
      let child = node.children.get(seg);
      if (child === undefined) {
        child = new PathNode();
        node.children.set(seg, child);
      }
      node = child;
    }
    node.fid = fid;
    if (fid >= this.fieldHead.length) {
      const head = new Int32Array(this.fieldHead.length * 2);
      const ep = new Int32Array(this.fieldEpoch.length * 2);
      ep.set(this.fieldEpoch);
      this.fieldHead = head;
      this.fieldEpoch = ep;
    }
    return fid;
  }

  /** The ids of the rules the event (a parsed JSON object) matches. */
  match(event: object): K[] {
    if (this.dirty) this.rebuild();
    this.epoch = (this.epoch + 1) | 0;
    if (this.epoch === 0) this.resetMarks();
    this.leafCount = 0;
    this.arrayCounter = 0;
    this.numbersTested = 0;
    this.readObject(event as Record<string, unknown>, this.paths, null);
    const out: K[] = [];
    this.out = out;
    this.visit(this.root, null);
    return out;
  }

  /** Leaves of the event at the paths rules use, for explaining mismatches. */
  leavesOf(event: object, path: string): Leaf[] {
    if (this.dirty) this.rebuild();
    this.epoch = (this.epoch + 1) | 0;
    this.leafCount = 0;
    this.readObject(event as Record<string, unknown>, this.paths, null);
    const fid = this.pathIds.get(path);
    const res: Leaf[] = [];
    if (fid === undefined || this.fieldEpoch[fid] !== this.epoch) return res;
    for (let i = this.fieldHead[fid]!; i >= 0; i = this.nextLeaf[i]!) res.push({ ...this.leaves[i]! });
    return res.reverse();
  }

  private resetMarks(): void {
    this.epoch = 1;
    this.fieldEpoch.fill(0);
    const seen = new Set<NameState>();
    const stack = [this.root];
    while (stack.length > 0) {
      const s = stack.pop()!;
      if (seen.has(s)) continue;
      seen.add(s);
      s.mark = 0;
      for (const rec of s.terminals) rec.mark = 0;
      for (const ft of s.transitions) stack.push(...targetsOf(ft));
      for (const a of s.absent) stack.push(a.target);
    }
  }

  private readObject(obj: Record<string, unknown>, node: PathNode, pos: ArrayPos | null): void {
    for (const k in obj) {
      let child = node.children.get(k);
      if (child === undefined) {
        // A key with dots names the same path as nested keys: {"a.b": 1} is like {"a": {"b": 1}}.
        if (k.indexOf('.') < 0) continue;
        child = this.dotted(node, k);
        if (child === undefined) continue;
      }
      this.readValue(obj[k], child, pos);
    }
  }

  private dotted(node: PathNode, key: string): PathNode | undefined {
    let n: PathNode | undefined = node;
    for (const seg of key.split('.')) {
      n = n.children.get(seg);
      if (n === undefined) return undefined;
    }
    return n;
  }

  private readValue(v: unknown, node: PathNode, pos: ArrayPos | null): void {
    if (typeof v === 'object' && v !== null) {
      if (Array.isArray(v)) {
        // As in event-ruler, only elements that are objects or arrays get a position of their
        // own; scalars in an array share the position of the array itself.
        const array = ++this.arrayCounter;
        for (let i = 0; i < v.length; i++) {
          const e: unknown = v[i];
          const nested = typeof e === 'object' && e !== null && !(e instanceof RawNumber);
          this.readValue(e, node, nested ? { array, index: i, up: pos } : pos);
        }
        return;
      }
      if (node.children.size > 0 && !(v instanceof RawNumber)) {
        this.readObject(v as Record<string, unknown>, node, pos);
        return;
      }
    }
    if (node.fid < 0) return;
    let leaf = this.leaves[this.leafCount];
    if (leaf === undefined) {
      leaf = { kind: Kind.Null, str: '', num: NaN, pos: null };
      this.leaves.push(leaf);
    }
    if (!toLeaf(v, leaf)) return;
    leaf.pos = pos;
    const li = this.leafCount++;
    if (li >= this.nextLeaf.length) {
      const grown = new Int32Array(this.nextLeaf.length * 2);
      grown.set(this.nextLeaf);
      this.nextLeaf = grown;
    }
    const fid = node.fid;
    if (this.fieldEpoch[fid] !== this.epoch) {
      this.fieldEpoch[fid] = this.epoch;
      this.nextLeaf[li] = -1;
    } else {
      this.nextLeaf[li] = this.fieldHead[fid]!;
    }
    this.fieldHead[fid] = li;
  }

  private visit(state: NameState, chosen: Chosen | null): void {
    if (chosen === null) {
      if (state.mark === this.epoch) return;
      state.mark = this.epoch;
    }
    const terminals = state.terminals;
    for (let i = 0; i < terminals.length; i++) {
      const rec = terminals[i]!;
      if (rec.mark !== this.epoch) {
        rec.mark = this.epoch;
        this.out.push(rec.id as K);
      }
    }
    const transitions = state.transitions;
    for (let t = 0; t < transitions.length; t++) {
      const ft = transitions[t]!;
      const fid = ft.fid;
      if (this.fieldEpoch[fid] !== this.epoch) continue;
      for (let li = this.fieldHead[fid]!; li >= 0; li = this.nextLeaf[li]!) {
        const leaf = this.leaves[li]!;
        let next = chosen;
        if (leaf.pos !== null) {
          if (!consistentWith(chosen, leaf.pos)) continue;
          next = { pos: leaf.pos, next: chosen };
        }
        this.matchLeaf(ft, leaf, next);
      }
    }
    const absent = state.absent;
    for (let i = 0; i < absent.length; i++) {
      if (this.isAbsent(absent[i]!.fid, chosen)) this.visit(absent[i]!.target, chosen);
    }
  }

  /**
   * A field is absent when no value of it lies in the array elements chosen so far: within an
   * array of objects, `exists: false` is judged per element, as event-ruler's ACFinder does.
   */
  private isAbsent(fid: number, chosen: Chosen | null): boolean {
    if (this.fieldEpoch[fid] !== this.epoch) return true;
    for (let li = this.fieldHead[fid]!; li >= 0; li = this.nextLeaf[li]!) {
      const pos = this.leaves[li]!.pos;
      if (pos === null || consistentWith(chosen, pos)) return false;
    }
    return true;
  }

  private visitAll(targets: NameState[] | undefined, chosen: Chosen | null): void {
    if (targets === undefined) return;
    for (let i = 0; i < targets.length; i++) this.visit(targets[i]!, chosen);
  }

  private matchLeaf(ft: FieldTransitions, leaf: Leaf, chosen: Chosen | null): void {
    switch (leaf.kind) {
      case Kind.String: {
        const s = leaf.str;
        if (ft.strings !== null) this.visitAll(ft.strings.get(s), chosen);
        const pl = ft.prefixLengths;
        for (let i = 0; i < pl.length && pl[i]! <= s.length; i++) {
          this.visitAll(ft.prefixes!.get(s.substring(0, pl[i])), chosen);
        }
        const sl = ft.suffixLengths;
        for (let i = 0; i < sl.length && sl[i]! <= s.length; i++) {
          this.visitAll(ft.suffixes!.get(s.substring(s.length - sl[i]!)), chosen);
        }
        if (ft.ignoreCase !== null) this.visitAll(ft.ignoreCase.get(s.toLowerCase()), chosen);
        break;
      }
      case Kind.Number:
        this.numbersTested++;
        if (leaf.num === leaf.num) {
          if (ft.numbers !== null) this.visitAll(ft.numbers.get(leaf.num), chosen);
          if (ft.ranges !== null) {
            const hits = ft.rangesContaining.holding(leaf.num);
            for (let i = 0; i < hits.length; i++) this.visitAll(hits[i]!.targets, chosen);
          }
        } else if (ft.numberTexts !== null) {
          this.visitAll(ft.numberTexts.get(leaf.str), chosen);
        }
        break;
      default:
        if (ft.literals !== null) this.visitAll(ft.literals.get(leaf.kind), chosen);
    }
    if (ft.exists !== null) this.visitAll(ft.exists, chosen);
    const probes = ft.probes;
    if (probes === null) return;
    for (let i = 0; i < probes.length; i++) {
      const p = probes[i]!;
      if (probe(p, leaf)) this.visitAll(p.targets, chosen);
    }
  }
}

function consistentWith(chosen: Chosen | null, pos: ArrayPos): boolean {
  for (let c = chosen; c !== null; c = c.next) if (!consistent(c.pos, pos)) return false;
  return true;
}

/** Whether one leaf satisfies one condition (the automaton indexes the exact and affix kinds instead). */
export function probe(p: { readonly m: Matcher; readonly lower: string }, leaf: Leaf): boolean {
  const m = p.m;
  const isString = leaf.kind === Kind.String;
  switch (m.kind) {
    case 'string':
      return isString && leaf.str === m.value;
    case 'number':
      return leaf.kind === Kind.Number && leaf.num === leaf.num && leaf.num === m.value;
    case 'numtext':
      return leaf.kind === Kind.Number && leaf.num !== leaf.num && leaf.str === m.value;
    case 'literal':
      return leaf.str === m.value && leaf.kind !== Kind.String && leaf.kind !== Kind.Number;
    case 'prefix':
      return isString && leaf.str.startsWith(m.value);
    case 'suffix':
      return isString && leaf.str.endsWith(m.value);
    case 'equals-ic':
      return isString && leaf.str.toLowerCase() === p.lower;
    case 'exists':
      return m.value;
    case 'numeric': {
      if (leaf.kind !== Kind.Number || leaf.num !== leaf.num) return false;
      const lo = compareNumbers(leaf.num, m.lo);
      if (lo < 0 || (lo === 0 && m.loOpen)) return false;
      const hi = compareNumbers(leaf.num, m.hi);
      return hi < 0 || (hi === 0 && !m.hiOpen);
    }
    case 'ip': {
      if (!isString || !looksLikeIp(leaf.str)) return false;
      const hex = ipToHex(leaf.str);
      return hex !== undefined && hex.length === m.range.lo.length && hex >= m.range.lo && hex <= m.range.hi;
    }
    case 'wildcard':
      return isString && wildcardMatches(m.w, leaf.str);
    case 'prefix-ic':
      return isString && leaf.str.toLowerCase().startsWith(p.lower);
    case 'suffix-ic':
      return isString && leaf.str.toLowerCase().endsWith(p.lower);
    case 'not-strings':
      return !(isString && m.values.has(leaf.str));
    case 'not-numbers':
      return !(leaf.kind === Kind.Number && leaf.num === leaf.num && m.values.has(leaf.num));
    case 'not-prefix':
      return !(isString && m.values.some((v) => leaf.str.startsWith(v)));
    case 'not-suffix':
      return !(isString && m.values.some((v) => leaf.str.endsWith(v)));
    case 'not-ic': {
      if (!isString) return true;
      const lower = leaf.str.toLowerCase();
      return !m.values.includes(lower);
    }
    case 'not-wildcard':
      return !(isString && m.values.some((w) => wildcardMatches(w, leaf.str)));
  }
}
