/**
 * Differential test: the project's evaluator (iam/) against @cloud-copilot/iam-simulate (AGPL, a
 * devDependency), on the synthesized stack's real policies. The cases are a sample of the
 * authorization matrix under every widening mutation, and random combinations of the
 * app's principals (roles, role sessions, other accounts, AWS services), actions, resources and
 * request context (the catalog's sources and detail-types plus off-catalog values, rule and bus
 * ARNs, encryption contexts, `kms:ViaService`, TLS or not).
 *
 * Random cases are reproducible: the seed is in the describe block's name; `FC_SEED=<n>` reruns
 * one, `FC_NUM_RUNS=<n>` draws more random cases than the default 1,150. Any disagreement fails the test, listing each case with both decisions and the deciding
 * statement. A disagreement the AWS documentation decides in the evaluator's favour would be
 * listed in DOCUMENTED_DISAGREEMENTS (support/evaluator.ts) with the page that decides it; there is
 * none today. The matrix's own cases are compared where the matrix runs them (support/suite.ts),
 * which adds the variants' matrices (catalog-variant, orders-iam) and spares a second simulation
 * of each case here.
 */
import { Decision } from '../../iam';
import { disagreement, evaluateRequest, outOfScope } from './support/evaluator';
import { buildMatrix, MatrixCase } from './support/matrix';
import { PolicyDocument, PolicyModel, withStatement } from './support/policies';
import { AccessRequest, decide, Decision as SimDecision, describeRequest } from './support/simulate';
import { loadTopology, PARTNER_ACCOUNT, SUBSCRIBE_ACTIONS, UNLISTED_ACCOUNT } from './support/stack';
import { involves, mutationsOf } from './support/widening';

const DEFAULT_SEED = 20261129;
const SEED = process.env.FC_SEED === undefined ? DEFAULT_SEED : Number(process.env.FC_SEED);
if (!Number.isSafeInteger(SEED)) throw new Error(`FC_SEED must be an integer, got '${process.env.FC_SEED}'`);

/** Random cases on the real policies (`FC_NUM_RUNS` for more), and matrix cases sampled per mutation. */
const RANDOM_CASES = process.env.FC_NUM_RUNS === undefined ? 1150 : Number(process.env.FC_NUM_RUNS);
if (!Number.isSafeInteger(RANDOM_CASES) || RANDOM_CASES < 0)
  throw new Error(`FC_NUM_RUNS must be a count, got '${process.env.FC_NUM_RUNS}'`);
const CASES_PER_MUTATION = 4;

const topology = loadTopology();
const matrix = buildMatrix(topology);
const mutations = mutationsOf(topology.policies);

interface Outcome {
  readonly request: AccessRequest;
  readonly simulator: SimDecision;
  readonly evaluator: Decision;
}

async function compare(model: PolicyModel, request: AccessRequest, label = '', evaluate = evaluateRequest): Promise<Outcome | string> {
  const simulator = await decide(model, request);
  const { evaluator, message } = disagreement(model, request, simulator, evaluate);
  return message === undefined ? { request, simulator, evaluator } : `${label}${message}`;
}

// ---- A small seeded generator ----

/** mulberry32: a tiny PRNG, good enough to pick cases, identical on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomCases(seed: number, count: number): AccessRequest[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const chance = (p: number) => rnd() < p;
  const { account, region, partition } = topology.env;
  const t = topology;
  const consumers = Object.values(t.consumers);
  const roleOf = (name: string) => `arn:${partition}:iam::${account}:role/${name}`;
  const sessionOf = (role: string) =>
    `${role.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/')}/session-${Math.floor(rnd() * 100)}`;
  const allow = (action: string): PolicyDocument => ({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }],
  });

  // Principals of the template, principals outside it (with made-up identity policies) and services.
  const templateRoles = Object.keys(t.policies.identity);
  const outsideRoles = [
    roleOf('unlisted-admin'),
    ...t.deploymentRoleArns,
    `arn:${partition}:iam::${PARTNER_ACCOUNT}:role/partner-broker`,
    `arn:${partition}:iam::${UNLISTED_ACCOUNT}:role/admin`,
  ];
  const services = [
    'events.amazonaws.com',
    `logs.${region}.amazonaws.com`,
    'cloudtrail.amazonaws.com',
    'cloudwatch.amazonaws.com',
    'sns.amazonaws.com',
  ];

  const sources = [...new Set(t.catalog.events.map((e) => e.source)), 'com.example.forged'];
  const detailTypes = [...t.catalog.events.map((e) => e.detailType), 'ForgedEvent'];
  const otherBus = t.busArn.replace(/event-bus\/.*$/, 'event-bus/some-other-bus');
  const rules = [
    ...consumers.map((c) => c.rule),
    `${t.busArn.replace(':event-bus/', ':rule/')}/new-subscription`,
    `${otherBus.replace(':event-bus/', ':rule/')}/r`,
  ];
  const tableNames = consumers.flatMap((c) => c.tables.map((arn) => arn.split('/').pop() as string));
  const sourceArns = [
    ...rules,
    t.busArn,
    ...(t.trail ? [t.trail.arn] : []),
    ...(t.alarmTopic ? [t.alarmTopic] : []),
    rules[0]!.replace(`:${account}:`, `:${UNLISTED_ACCOUNT}:`),
  ];
  const logGroups = consumers.map((c) => c.logStream.replace(/:log-stream:.*$/, ''));

  const oneOrMany = (xs: readonly string[]): string | string[] => (chance(0.15) ? [pick(xs), pick(xs)] : pick(xs));
  const families: { actions: readonly string[]; resources: readonly string[] }[] = [
    { actions: ['events:PutEvents'], resources: [t.busArn, t.busArn, otherBus] },
    { actions: SUBSCRIBE_ACTIONS, resources: rules },
    {
      actions: [
        'sqs:SendMessage',
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:PurgeQueue',
        'sqs:GetQueueAttributes',
      ],
      resources: t.queues,
    },
    {
      actions: [
        'kms:Decrypt',
        'kms:Encrypt',
        'kms:GenerateDataKey',
        'kms:ReEncryptFrom',
        'kms:CreateGrant',
        'kms:DescribeKey',
        'kms:PutKeyPolicy',
      ],
      resources: [t.keyArn],
    },
    {
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:DeleteTable'],
      resources: consumers.flatMap((c) => c.tables),
    },
    {
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [...consumers.map((c) => c.logStream), ...(t.trail ? [t.trail.logStream] : [])],
    },
  ];

  const out: AccessRequest[] = [];
  while (out.length < count) {
    const family = pick(families);
    const action = pick(family.actions);
    const resource = pick(family.resources);
    const context: Record<string, string | string[]> = {};
    let principal: string;
    let identityPolicies: PolicyDocument[] | undefined;
    const kind = rnd();
    if (kind < 0.45) {
      principal = pick(templateRoles);
    } else if (kind < 0.6) {
      // A session of a template role: its role's policies, and aws:PrincipalArn is the role.
      const role = pick(templateRoles);
      principal = sessionOf(role);
      identityPolicies = t.policies.identity[role]!.map((p) => p.document);
      context['aws:PrincipalArn'] = role;
    } else if (kind < 0.85) {
      principal = pick(outsideRoles);
      identityPolicies = chance(0.3) ? [] : [allow(pick(['*', 'events:PutEvents', `${action.split(':')[0]}:*`, action]))];
    } else {
      principal = pick(services);
      context['aws:SourceArn'] = pick(sourceArns);
      context['aws:SourceAccount'] = chance(0.9) ? account : UNLISTED_ACCOUNT;
    }
    if (chance(0.1)) context['aws:SecureTransport'] = 'false';
    if (action === 'events:PutEvents' || action === 'events:PutRule') {
      if (chance(0.9)) context['events:source'] = oneOrMany(sources);
      if (chance(0.85)) context['events:detail-type'] = oneOrMany(detailTypes);
    }
    if (action.startsWith('kms:')) {
      if (chance(0.7))
        context['kms:ViaService'] = pick([
          `sqs.${region}.amazonaws.com`,
          `dynamodb.${region}.amazonaws.com`,
          `events.${region}.amazonaws.com`,
        ]);
      if (chance(0.3)) context['kms:CallerAccount'] = principal.includes(`::${account}:`) ? account : pick([account, PARTNER_ACCOUNT]);
      if (action !== 'kms:DescribeKey' && action !== 'kms:PutKeyPolicy' && chance(0.8)) {
        const [key, values] = pick<[string, readonly string[]]>([
          ['aws:sqs:arn', t.queues],
          ['aws:dynamodb:tableName', tableNames],
          ['aws:events:event-bus:arn', [t.busArn, otherBus]],
          ['aws:logs:arn', logGroups],
          ...(t.alarmTopic ? [['aws:sns:topicArn', [t.alarmTopic]] as [string, string[]]] : []),
          ...(t.trail ? [['aws:cloudtrail:arn', [t.trail.arn]] as [string, string[]]] : []),
        ]);
        context[`kms:EncryptionContext:${key}`] = pick(values);
      }
    }
    out.push({ principal, action, resource, context, ...(identityPolicies ? { identityPolicies } : {}) });
  }
  return out;
}

// ---- The tests ----

const outcomes: Outcome[] = [];

describe(`the evaluator agrees with @cloud-copilot/iam-simulate on the stack's policies (FC_SEED=${SEED})`, () => {
  test(`on matrix cases under every widening mutation (${CASES_PER_MUTATION} per mutation)`, async () => {
    const rnd = prng(SEED ^ 0x5eed);
    const disagreements: string[] = [];
    for (const m of mutations) {
      const model = withStatement(topology.policies, m.ref, m.statement);
      const relevant = matrix.filter((c: MatrixCase) => !outOfScope(c.request) && involves(topology.policies, c, m.ref));
      for (let i = 0; i < Math.min(CASES_PER_MUTATION, relevant.length); i++) {
        const c = relevant.splice(Math.floor(rnd() * relevant.length), 1)[0] as MatrixCase;
        const r = await compare(model, c.request, `[${m.name}] `);
        if (typeof r === 'string') disagreements.push(r);
        else outcomes.push(r);
      }
    }
    expect(disagreements).toEqual([]);
  });

  test(`on ${RANDOM_CASES} random principal/action/resource/context combinations`, async () => {
    const disagreements: string[] = [];
    for (const request of randomCases(SEED, RANDOM_CASES)) {
      const r = await compare(topology.policies, request);
      if (typeof r === 'string') disagreements.push(r);
      else outcomes.push(r);
    }
    expect(disagreements).toEqual([]);
  });

  // The stack's identity and key policies hold no Deny: explicit denies come from the bus and queue policies.
  test('covered at least 2,000 cases, with every decision and every kind of deciding policy', () => {
    const tally = (key: (o: Outcome) => string) => [...new Set(outcomes.map(key))].sort();
    expect(outcomes.length).toBeGreaterThanOrEqual(2000);
    expect(tally((o) => o.evaluator.decision)).toEqual(['Allow', 'ExplicitDeny', 'ImplicitDeny']);
    expect(tally((o) => `${o.evaluator.decision} by ${o.evaluator.decidedBy?.policyKind ?? o.evaluator.missing}`)).toEqual(
      expect.arrayContaining([
        'Allow by identity',
        'Allow by key',
        'Allow by resource',
        'ExplicitDeny by resource',
        'ImplicitDeny by identity',
        'ImplicitDeny by key',
        'ImplicitDeny by resource',
      ]),
    );
  });
});

describe('the differential harness', () => {
  test('generates the same random cases from the same seed, and other cases from another', () => {
    expect(randomCases(SEED, 50)).toEqual(randomCases(SEED, 50));
    expect(randomCases(SEED + 1, 50)).not.toEqual(randomCases(SEED, 50));
  });

  test('reports a disagreement with both decisions and the deciding statement', async () => {
    // GIVEN a case the simulator denies, and an evaluator that allows everything
    const c = matrix.find((x) => x.expect === 'Denied') as MatrixCase;
    const allowsAll = (): Decision => ({
      decision: 'Allow',
      decidedBy: { policyKind: 'identity', policyId: 'broken', statementSid: 'Everything', statementIndex: 0 },
      explanation: 'allowed by identity-based policy broken, statement Everything',
    });
    // WHEN
    const r = await compare(topology.policies, c.request, '', allowsAll);
    // THEN
    expect(r).toBe(
      `${describeRequest(c.request)}: simulator ${await decide(topology.policies, c.request)}, evaluator Allow (allowed by identity-based policy broken, statement Everything)`,
    );
  });
});
