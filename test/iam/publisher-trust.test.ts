/**
 * Publisher roles deployed with `publisherPrincipals`: the named principals, and only they, may
 * assume the role; the principal tag no longer opens it. Evaluated by the simulator over the
 * synthesized trust policies.
 */
import { PUBLISHER_TAG_KEY } from '../../lib/event-router';
import { decide } from './support/simulate';
import { loadTopology, matrixCatalog, UNLISTED_ACCOUNT } from './support/stack';

const sameAccountPublisher = matrixCatalog.publishers.find((p) => p.account === undefined);
if (!sameAccountPublisher) throw new Error('The matrix catalog has no same-account publisher');
const publisher = sameAccountPublisher.name;
const NAMED = 'arn:aws:iam::111111111111:role/Origination';
const CI = `arn:aws:iam::${UNLISTED_ACCOUNT}:role/ci/deployer`;

// GIVEN the app deployed with named principals for one publisher: one in this account, one pattern in another.
const topology = loadTopology(
  { publisherPrincipals: { [publisher]: [NAMED, `arn:aws:iam::${UNLISTED_ACCOUNT}:role/ci/*`] } },
  // Cached while this file (the props) and the app's sources are unchanged.
  { name: 'iam-publisher-trust-topology', inputs: ['test/iam/publisher-trust.test.ts'] },
);
const role = topology.publisherRoles[publisher] as string;
const assume = { Version: '2012-10-17', Statement: [{ Effect: 'Allow' as const, Action: 'sts:AssumeRole', Resource: '*' }] };
const request = (principal: string, context: Record<string, string> = {}) => ({
  principal,
  action: 'sts:AssumeRole',
  resource: role,
  identityPolicies: [assume],
  context,
});

describe(`publisher roles with publisherPrincipals for ${publisher}`, () => {
  test('the named role of this account may assume it', async () => {
    expect(await decide(topology.policies, request(NAMED))).toBe('Allowed');
  });

  test('a role of another account matching the named pattern may assume it', async () => {
    expect(await decide(topology.policies, request(CI))).toBe('Allowed');
  });

  test('a role of this account carrying the publisher tag but not named may not assume it', async () => {
    const tagged = request('arn:aws:iam::111111111111:role/tagged', { [`aws:PrincipalTag/${PUBLISHER_TAG_KEY}`]: publisher });
    expect(await decide(topology.policies, tagged)).not.toBe('Allowed');
  });

  test('another role of the named account outside the pattern may not assume it', async () => {
    expect(await decide(topology.policies, request(`arn:aws:iam::${UNLISTED_ACCOUNT}:role/admin`))).not.toBe('Allowed');
  });

  test('the named role may not assume it without an IAM policy of its own allowing sts:AssumeRole', async () => {
    expect(await decide(topology.policies, { ...request(NAMED), identityPolicies: [] })).not.toBe('Allowed');
  });
});
