/**
 * The publish/subscribe authorization matrix, evaluated by a real IAM policy simulator
 * (@cloud-copilot/iam-simulate, a devDependency) over the policies of the synthesized stack.
 * Rows are generated from the event catalog: a new publisher, consumer or event type adds rows.
 */
import { KNOWN_GAPS } from './support/known-gaps';
import { buildMatrix } from './support/matrix';
import { loadTopology, PARTNER_ACCOUNT } from './support/stack';
import { registerMatrix } from './support/suite';

// Synthesized once for the whole file; the rows need the ARNs at collection time.
const topology = loadTopology();
const cases = buildMatrix(topology);

describe('the matrix itself', () => {
  test('has at least 20 cases, with allows, implicit and explicit denies', () => {
    // THEN
    expect(cases.length).toBeGreaterThanOrEqual(20);
    expect(new Set(cases.map((c) => c.expect))).toEqual(new Set(['Allowed', 'Denied', 'ExplicitlyDenied']));
  });

  test('names every case differently', () => {
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  test('has rows for every publisher, consumer and event type of the catalog', () => {
    // GIVEN
    const names = [...topology.catalog.publishers, ...topology.catalog.consumers].map((p) => p.name);
    const text = cases.map((c) => c.name).join('\n');
    // THEN
    for (const name of names) expect(text).toContain(name);
    for (const e of topology.catalog.events) expect(text).toContain(e.detailType);
    expect(text).toContain(PARTNER_ACCOUNT);
  });

  // Declared only when there are known gaps, so it never passes over an empty list.
  if (KNOWN_GAPS.length > 0) {
    test.each(KNOWN_GAPS.map((gap) => [gap.id, gap] as const))('known gap %s still matches a case', (_id, gap) => {
      expect(gap.cases.filter((re) => !cases.some((c) => re.test(c.name))).map(String)).toEqual([]);
    });
  }

  test('no role of the stack has a managed policy from outside the template', () => {
    // Except each consumer's AWS Backup role (lib/backup.ts): AWS Backup requires this AWS managed
    // policy for advanced DynamoDB backup; the role trusts only backup.amazonaws.com and is no
    // principal of the matrix, whose verdicts therefore do not depend on that policy.
    const backupRole = /:role\/.+-backup$/;
    const backupPolicy = 'arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup';
    expect(topology.policies.externalManagedPolicies.filter((p) => !(p.policyArn === backupPolicy && backupRole.test(p.role)))).toEqual([]);
  });
});

registerMatrix(topology, cases);
