/** Human explanations of why an event does not match a pattern, for `pattern test` in the CLI. */
import { Branch, FieldCondition } from './compile';
import { Leaf, leafText } from './event';
import { probe } from './machine';

/** Compact display of a pattern array as written: no line breaks, one space after commas. */
function compact(source: string): string {
  return source.replace(/("(?:[^"\\]|\\.)*")|\s+|,/g, (m, str: string | undefined) => str ?? (m === ',' ? ', ' : ''));
}

function describeCondition(cond: FieldCondition): string {
  const text = compact(cond.source);
  // A lone numeric range reads best as its operands: [">=", 250000].
  const numeric = /^\[\{"numeric": ?(\[.*\])\}\]$/.exec(text);
  return cond.matchers.length === 1 && numeric?.[1] !== undefined ? numeric[1] : text;
}

function accepts(cond: FieldCondition, leaf: Leaf): boolean {
  return cond.matchers.some((m) => probe({ m, lower: 'value' in m && typeof m.value === 'string' ? m.value.toLowerCase() : '' }, leaf));
}

/** The first failing field of one branch, or undefined when each field is satisfied on its own. */
function explainBranch(branch: Branch, leavesOf: (path: string) => Leaf[]): string | undefined {
  for (const cond of branch) {
    const leaves = leavesOf(cond.path);
    const wantsAbsent = cond.matchers.some((m) => m.kind === 'exists' && !m.value);
    if (leaves.length === 0) {
      if (wantsAbsent) continue;
      return `${cond.path}: missing from the event, expected ${describeCondition(cond)}`;
    }
    if (leaves.some((l) => accepts(cond, l))) continue;
    const shown = leaves.length === 1 ? leafText(leaves[0]!) : `[${leaves.map(leafText).join(', ')}]`;
    return `${cond.path}: ${shown} is not in ${describeCondition(cond)}`;
  }
  return undefined;
}

export function explainBranches(branches: readonly Branch[], leavesOf: (path: string) => Leaf[]): string {
  for (const branch of branches) {
    const why = explainBranch(branch, leavesOf);
    if (why !== undefined) return branches.length > 1 ? `no $or branch matches; first: ${why}` : why;
  }
  const paths = (branches[0] ?? []).map((c) => c.path).join(', ');
  return `${paths}: each matches on its own, but in different elements of the same array`;
}
