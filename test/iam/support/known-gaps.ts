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

export const KNOWN_GAPS: readonly KnownGap[] = [
  {
    id: 'consumer-kms-decrypt-unconditioned',
    reason: 'The SQS event source grants the consumer role kms:Decrypt on the key with no condition, so a consumer can '
      + 'decrypt any ciphertext under the project key (another consumer\'s messages, table items) outside SQS. Fix: '
      + 'condition the role\'s key use on kms:ViaService and kms:EncryptionContext:aws:sqs:arn / aws:dynamodb:tableName '
      + 'of its own queue and tables, and deny kms:Decrypt when kms:ViaService is neither SQS nor DynamoDB.',
    cases: [
      /^\S+'s role may not call KMS Decrypt directly, outside SQS and DynamoDB$/,
      /^\S+'s role may not decrypt messages of \S+'s queue$/,
    ],
  },
];

export function knownGapOfCase(name: string): KnownGap | undefined {
  return KNOWN_GAPS.find((g) => g.cases.some((re) => re.test(name)));
}

export function knownGapOfMutation(m: Mutation, statement: Statement): KnownGap | undefined {
  return KNOWN_GAPS.find((g) => g.mutations?.(m, statement));
}
