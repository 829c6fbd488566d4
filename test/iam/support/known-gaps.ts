/**
 * Known gaps of the stack: matrix cases and widening mutations that fail against the stack as it
 * is, each with the reason and the fix (docs/iam.md has the details). Their tests run as
 * `test.failing`, so they stay visible, and the suite reports it as soon as a fix makes one
 * pass: then delete the entry.
 */
import { Statement } from './policies';
import { Mutation } from './widening';

export interface KnownGap {
  readonly id: string;
  /** What is wrong and how to fix it, in one or two sentences. */
  readonly reason: string;
  /** Names of the matrix cases this gap makes fail. */
  readonly cases: readonly RegExp[];
  /** Widening mutations no case can notice while the gap exists. */
  readonly mutations?: (m: Mutation, statement: Statement) => boolean;
}

// None today. A gap found later goes here, with an id, its reason and fix, the case names it makes
// fail and, if any, the widening mutations it hides; docs/iam.md lists it too.
export const KNOWN_GAPS: readonly KnownGap[] = [];

export function knownGapOfCase(name: string): KnownGap | undefined {
  return KNOWN_GAPS.find((g) => g.cases.some((re) => re.test(name)));
}

export function knownGapOfMutation(m: Mutation, statement: Statement): KnownGap | undefined {
  return KNOWN_GAPS.find((g) => g.mutations?.(m, statement));
}
