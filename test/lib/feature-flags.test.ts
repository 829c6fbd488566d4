/**
 * cdk.json configures every feature flag the installed aws-cdk-lib recommends a value for that
 * differs from how it behaves unconfigured: the flags the CDK CLI counts in its "feature flags
 * are not configured" notice after each synth. The list is aws-cdk-lib's own, so an upgrade that
 * adds a flag fails here until cdk.json decides it (true or false, either way configured).
 * @see https://docs.aws.amazon.com/cdk/v2/guide/featureflags.html
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { FLAGS } from 'aws-cdk-lib/cx-api';

const cdkJson = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };

/** The flags whose recommended value is not what an unconfigured app gets in CDK v2. */
const needingAttention = Object.entries(FLAGS)
  .filter(([, flag]) => !isDeepStrictEqual(flag.unconfiguredBehavesLike?.v2 ?? false, flag.recommendedValue))
  .map(([name]) => name);

test('aws-cdk-lib lists flags that need a decision (the check below has something to check)', () => {
  expect(needingAttention.length).toBeGreaterThan(0);
});

test('cdk.json sets every feature flag whose recommended value differs from its unconfigured behaviour', () => {
  const unset = needingAttention.filter((name) => !Object.hasOwn(cdkJson.context, name));
  expect(unset).toEqual([]);
});

test('cdk.json names no flag that aws-cdk-lib does not know (a typo configures nothing)', () => {
  const unknown = Object.keys(cdkJson.context).filter((k) => k.startsWith('@aws-cdk') && !(k in FLAGS));
  expect(unknown).toEqual([]);
});
