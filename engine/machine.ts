/**
 * All rules of a bus in one automaton, in the manner of aws/event-ruler: each rule branch is its
 * field conditions sorted by path, and branches share the states of their common leading
 * conditions. An event walks only the transitions its own values satisfy, so the cost of a match
 * grows with the event and the rules it matches, not with the number of rules.
 */
import { Branch, FieldCondition, Matcher } from './compile';
import { ArrayPos, consistent, Kind, Leaf, toLeaf } from './event';
import { RawNumber } from './json';
import { compareNumbers, ipToHex, looksLikeIp, numberKey, wildcardMatches } from './values';

/** A node of the tree of field paths rules use; the event is read only along it. */
class PathNode {
  readonly children = new Map<string, PathNode>();
  fid = -1;
}

/** A condition other than an exact or affix value, tested one by one. */
interface Probe {
  readonly m: Matcher;
  /** Lower-cased operand(s) for the case-insensitive kinds. */
  readonly lower: string;
  readonly targets: NameState[];
}

/** The transitions of one state on the values of one field. */
class FieldTransitions {
  readonly strings = new Map<string, NameState[]>();
  readonly numbers = new Map<number | string, NameState[]>();
  readonly numberTexts = new Map<string, NameState[]>();
  readonly literals = new Map<Kind, NameState[]>();
  readonly prefixes = new Map<string, NameState[]>();
  readonly suffixes = new Map<string, NameState[]>();
  readonly ignoreCase = new Map<string, NameState[]>();
  prefixLengths: number[] = [];
  suffixLengths: number[] = [];
  readonly exists: NameState[] = [];
  readonly probes: Probe[] = [];
  private readonly probeByKey = new Map<string, Probe>();

  constructor(readonly fid: number) {}

  add(m: Matcher, target: NameState): void {
    switch (m.kind) {
      case 'string':
        return push(this.strings, m.value, target);
      case 'number':
        return push(this.numbers, numberKey(m.value), target);
      case 'numtext':
        return push(this.numberTexts, m.value, target);
      case 'literal':
        return push(this.literals, m.value === 'true' ? Kind.True : m.value === 'false' ? Kind.False : Kind.Null, target);
      case 'prefix':
        if (!this.prefixes.has(m.value)) this.prefixLengths = insertSorted(this.prefixLengths, m.value.length);
        return push(this.prefixes, m.value, target);
      case 'suffix':
        if (!this.suffixes.has(m.value)) this.suffixLengths = insertSorted(this.suffixLengths, m.value.length);
        return push(this.suffixes, m.value, target);
      case 'equals-ic':
        return push(this.ignoreCase, m.value.toLowerCase(), target);
      case 'exists':
        if (!this.exists.includes(target)) this.exists.push(target);
        return;
      default: {
        let p = this.probeByKey.get(m.key);
        if (p === undefined) {
          const lower = 'value' in m && typeof m.value === 'string' ? m.value.toLowerCase() : '';
          p = { m, lower, targets: [] };
          this.probeByKey.set(m.key, p);
          this.probes.push(p);
        }
        if (!p.targets.includes(target)) p.targets.push(target);
      }
    }
  }
}

function push<T>(map: Map<T, NameState[]>, key: T, target: NameState): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [target]);
  else if (!list.includes(target)) list.push(target);
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
  readonly terminals: Array<RuleRecord<unknown>> = [];
  readonly transitions: FieldTransitions[] = [];
  readonly absent: Array<{ readonly fid: number; readonly target: NameState }> = [];
  /** Next state per (field, disjunction of conditions), so equal conditions share states. */
  readonly next = new Map<string, NameState>();

  transitionsFor(fid: number): FieldTransitions {
    for (const t of this.transitions) if (t.fid === fid) return t;
    const t = new FieldTransitions(fid);
    this.transitions.push(t);
    return t;
  }
}

/** Array positions chosen so far along one walk of the automaton. */
interface Chosen {
  readonly pos: ArrayPos;
  readonly next: Chosen | null;
}

export class Machine<K> {
  private root = new NameState();
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

  get size(): number {
    return this.rules.size;
  }

  add(id: K, branches: readonly Branch[]): void {
    if (this.rules.has(id)) this.remove(id);
    const rec: RuleRecord<K> = { id, branches, mark: 0 };
    this.rules.set(id, rec);
    if (!this.dirty) this.insert(rec);
  }

  remove(id: K): void {
    // Removal rebuilds the automaton lazily: rules change rarely next to events.
    if (this.rules.delete(id)) this.dirty = true;
  }

  has(id: K): boolean {
    return this.rules.has(id);
  }

  private rebuild(): void {
    this.root = new NameState();
    this.paths = new PathNode();
    this.pathIds = new Map();
    this.dirty = false;
    for (const rec of this.rules.values()) this.insert(rec);
  }

  private insert(rec: RuleRecord<K>): void {
    for (const branch of rec.branches) {
      let state = this.root;
      for (const cond of branch) state = this.step(state, cond);
      if (!state.terminals.includes(rec)) state.terminals.push(rec);
    }
  }

  private step(state: NameState, cond: FieldCondition): NameState {
    const fid = this.fieldId(cond.path);
    const key = `${fid}\u0001${cond.matchers.map((m) => m.key).sort().join('\u0002')}`;
    let target = state.next.get(key);
    if (target !== undefined) return target;
    target = new NameState();
    state.next.set(key, target);
    for (const m of cond.matchers) {
      if (m.kind === 'exists' && !m.value) {
        if (!state.absent.some((a) => a.fid === fid && a.target === target)) state.absent.push({ fid, target });
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
    for (let i = this.fieldHead[fid]; i >= 0; i = this.nextLeaf[i]) res.push({ ...this.leaves[i] });
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
      for (const t of s.next.values()) stack.push(t);
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
      this.nextLeaf[li] = this.fieldHead[fid];
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
      const rec = terminals[i];
      if (rec.mark !== this.epoch) {
        rec.mark = this.epoch;
        this.out.push(rec.id as K);
      }
    }
    const transitions = state.transitions;
    for (let t = 0; t < transitions.length; t++) {
      const ft = transitions[t];
      const fid = ft.fid;
      if (this.fieldEpoch[fid] !== this.epoch) continue;
      for (let li = this.fieldHead[fid]; li >= 0; li = this.nextLeaf[li]) {
        const leaf = this.leaves[li];
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
      if (this.isAbsent(absent[i].fid, chosen)) this.visit(absent[i].target, chosen);
    }
  }

  /**
   * A field is absent when no value of it lies in the array elements chosen so far: within an
   * array of objects, `exists: false` is judged per element, as event-ruler's ACFinder does.
   */
  private isAbsent(fid: number, chosen: Chosen | null): boolean {
    if (this.fieldEpoch[fid] !== this.epoch) return true;
    for (let li = this.fieldHead[fid]; li >= 0; li = this.nextLeaf[li]) {
      const pos = this.leaves[li].pos;
      if (pos === null || consistentWith(chosen, pos)) return false;
    }
    return true;
  }

  private visitAll(targets: NameState[] | undefined, chosen: Chosen | null): void {
    if (targets === undefined) return;
    for (let i = 0; i < targets.length; i++) this.visit(targets[i], chosen);
  }

  private matchLeaf(ft: FieldTransitions, leaf: Leaf, chosen: Chosen | null): void {
    switch (leaf.kind) {
      case Kind.String: {
        const s = leaf.str;
        if (ft.strings.size > 0) this.visitAll(ft.strings.get(s), chosen);
        const pl = ft.prefixLengths;
        for (let i = 0; i < pl.length && pl[i] <= s.length; i++) {
          this.visitAll(ft.prefixes.get(s.substring(0, pl[i])), chosen);
        }
        const sl = ft.suffixLengths;
        for (let i = 0; i < sl.length && sl[i] <= s.length; i++) {
          this.visitAll(ft.suffixes.get(s.substring(s.length - sl[i])), chosen);
        }
        if (ft.ignoreCase.size > 0) this.visitAll(ft.ignoreCase.get(s.toLowerCase()), chosen);
        break;
      }
      case Kind.Number:
        if (leaf.num === leaf.num) {
          if (ft.numbers.size > 0) this.visitAll(ft.numbers.get(numberKey(leaf.num)), chosen);
        } else if (ft.numberTexts.size > 0) {
          this.visitAll(ft.numberTexts.get(leaf.str), chosen);
        }
        break;
      default:
        if (ft.literals.size > 0) this.visitAll(ft.literals.get(leaf.kind), chosen);
    }
    if (ft.exists.length > 0) this.visitAll(ft.exists, chosen);
    const probes = ft.probes;
    for (let i = 0; i < probes.length; i++) {
      if (probe(probes[i], leaf)) this.visitAll(probes[i].targets, chosen);
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
      return leaf.kind === Kind.Number && leaf.num === leaf.num && compareNumbers(leaf.num, m.value) === 0;
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
      return !(leaf.kind === Kind.Number && leaf.num === leaf.num && m.values.has(numberKey(leaf.num)));
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
