/**
 * The project's IAM evaluator (iam/), table-first: every row of the decision flow documented in
 * the IAM User Guide, then principals, actions, resources and policy variables, then each
 * condition operator's edge cases, then hostile policy documents and AWS's denial messages.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  AccessRequest,
  ApplicablePolicies,
  compilePolicy,
  CompiledPolicy,
  Decision,
  denialMessage,
  evaluate,
  PolicyEvaluator,
  PolicyParseError,
  principalOf,
  StatementJson,
} from '../../iam';

const ACCOUNT = '111111111111';
const OTHER = '222222222222';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/publisher`;
const SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/publisher/app-1`;
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const OTHER_ROLE = `arn:aws:iam::${OTHER}:role/partner`;
const OTHER_ROOT = `arn:aws:iam::${OTHER}:root`;
const BUS = `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/loan-events`;
const QUEUE = `arn:aws:sqs:us-east-1:${ACCOUNT}:orders`;
const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

let n = 0;
const policy = (statements: Partial<StatementJson>[], id = `policy-${++n}`): CompiledPolicy =>
  compilePolicy({ Version: '2012-10-17', Statement: statements.map((s) => ({ Effect: 'Allow', ...s })) }, id);
const allowAll = (id = 'AdminAccess') => policy([{ Sid: 'All', Action: '*', Resource: '*' }], id);
const allowTo = (principal: unknown, action = 'sqs:SendMessage', sid = 'Grant') =>
  policy([{ Sid: sid, Principal: principal, Action: action, Resource: '*' }]);
const denyAll = (id: string, principal?: unknown) =>
  policy([{ Sid: 'DenyEverything', Effect: 'Deny', Action: '*', Resource: '*', ...(principal ? { Principal: principal } : {}) }], id);

const send = (principal: string, resource = QUEUE): AccessRequest => ({ principal, action: 'sqs:SendMessage', resource });
const outcome = (d: Decision) => [d.decision, d.decidedBy?.policyKind ?? d.missing];

// ---------------------------------------------------------------------------------------------
// The decision flow, row by row.
// ---------------------------------------------------------------------------------------------

describe('the decision flow of "Policy evaluation logic" (IAM User Guide)', () => {
  // Each row: [name, request, policies, expected decision, deciding or missing policy kind].
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
  const rows: [string, AccessRequest, ApplicablePolicies, Decision['decision'], string][] = [
    [
      'deny evaluation: an explicit Deny in an identity policy beats its Allow',
      send(ROLE),
      { identity: [allowAll(), denyAll('guard')] },
      'ExplicitDeny',
      'identity',
    ],
    [
      'deny evaluation: an explicit Deny in the resource policy beats an identity Allow',
      send(ROLE),
      { identity: [allowAll()], resource: denyAll('queue policy', '*') },
      'ExplicitDeny',
      'resource',
    ],
    [
      'deny evaluation: an explicit Deny in the permissions boundary beats both Allows',
      send(ROLE),
      { identity: [allowAll()], boundary: denyAll('boundary'), resource: allowTo({ AWS: ROLE }) },
      'ExplicitDeny',
      'boundary',
    ],
    [
      'deny evaluation: an explicit Deny in a session policy',
      send(SESSION),
      { identity: [allowAll()], session: [denyAll('session')] },
      'ExplicitDeny',
      'session',
    ],
    ['deny evaluation: an explicit Deny in an SCP', send(ROLE), { identity: [allowAll()], scp: [denyAll('scp')] }, 'ExplicitDeny', 'scp'],
    [
      'SCPs: without an Allow in every SCP the request is implicitly denied',
      send(ROLE),
      { identity: [allowAll()], scp: [allowAll('FullAWSAccess'), policy([{ Action: 's3:*', Resource: '*' }])] },
      'ImplicitDeny',
      'scp',
    ],
    [
      'SCPs: an Allow in every SCP lets the evaluation continue',
      send(ROLE),
      { identity: [allowAll()], scp: [allowAll('FullAWSAccess')] },
      'Allow',
      'identity',
    ],
    [
      'SCPs do not apply to service principals',
      send('events.amazonaws.com'),
      { resource: allowTo({ Service: 'events.amazonaws.com' }), scp: [denyAll('scp')] },
      'Allow',
      'resource',
    ],
    ['same account: an identity Allow is enough', send(ROLE), { identity: [allowAll()] }, 'Allow', 'identity'],
    [
      'same account: a resource-policy Allow naming the role ARN is enough',
      send(ROLE),
      { resource: allowTo({ AWS: ROLE }) },
      'Allow',
      'resource',
    ],
    [
      'same account: a resource-policy Allow naming the role ARN covers its sessions',
      send(SESSION),
      { resource: allowTo({ AWS: ROLE }) },
      'Allow',
      'resource',
    ],
    [
      'same account: a resource-policy Allow naming only the account delegates to IAM, which does not allow',
      send(ROLE),
      { resource: allowTo({ AWS: ROOT }) },
      'ImplicitDeny',
      'identity',
    ],
    [
      'same account: an account given by id is the same delegation',
      send(ROLE),
      { resource: allowTo({ AWS: ACCOUNT }) },
      'ImplicitDeny',
      'identity',
    ],
    [
      'same account: the account delegation plus an identity Allow allows',
      send(ROLE),
      { resource: allowTo({ AWS: ROOT }), identity: [allowAll()] },
      'Allow',
      'identity',
    ],
    ['same account: a resource-policy Allow for everyone ("*") is enough', send(ROLE), { resource: allowTo('*') }, 'Allow', 'resource'],
    ['implicit deny: no policy allows', send(ROLE), {}, 'ImplicitDeny', 'identity'],
    [
      'implicit deny: an Allow for another action does not apply',
      send(ROLE),
      { identity: [policy([{ Action: 'sqs:ReceiveMessage', Resource: '*' }])] },
      'ImplicitDeny',
      'identity',
    ],
    [
      'permissions boundary: an identity Allow outside the boundary is denied',
      send(ROLE),
      { identity: [allowAll()], boundary: policy([{ Action: 's3:*', Resource: '*' }]) },
      'ImplicitDeny',
      'boundary',
    ],
    [
      'permissions boundary: an identity Allow inside the boundary is allowed',
      send(ROLE),
      { identity: [allowAll()], boundary: policy([{ Action: 'sqs:*', Resource: '*' }]) },
      'Allow',
      'identity',
    ],
    ['permissions boundary: the boundary alone grants nothing', send(ROLE), { boundary: allowAll('boundary') }, 'ImplicitDeny', 'identity'],
    [
      'permissions boundary: limits a resource-policy grant to the role ARN',
      send(SESSION),
      { resource: allowTo({ AWS: ROLE }), boundary: policy([{ Action: 's3:*', Resource: '*' }]) },
      'ImplicitDeny',
      'boundary',
    ],
    [
      'permissions boundary: does not limit a resource-policy grant to the role session ARN',
      send(SESSION),
      { resource: allowTo({ AWS: SESSION }), boundary: policy([{ Action: 's3:*', Resource: '*' }]) },
      'Allow',
      'resource',
    ],
    [
      'session policy: an identity Allow outside the session policy is denied',
      send(SESSION),
      { identity: [allowAll()], session: [policy([{ Action: 's3:*', Resource: '*' }])] },
      'ImplicitDeny',
      'session',
    ],
    ['the account root user may do anything in its account without a policy', send(ROOT), {}, 'Allow', 'undefined'],
    [
      'the account root user is still subject to an explicit Deny',
      send(ROOT),
      { resource: denyAll('queue policy', '*') },
      'ExplicitDeny',
      'resource',
    ],
    [
      'a service principal needs the resource policy',
      send('events.amazonaws.com'),
      { resource: allowTo({ Service: 'events.amazonaws.com' }) },
      'Allow',
      'resource',
    ],
    [
      'a service principal without a resource-policy Allow is denied',
      send('events.amazonaws.com'),
      { resource: allowTo({ Service: 'sns.amazonaws.com' }) },
      'ImplicitDeny',
      'resource',
    ],
    ['an anonymous caller is allowed only by a grant to everyone', send('anonymous'), { resource: allowTo('*') }, 'Allow', 'resource'],
    [
      'an anonymous caller is not allowed by an account grant',
      send('anonymous'),
      { resource: allowTo({ AWS: ROOT }) },
      'ImplicitDeny',
      'resource',
    ],
  ];
  test.each(rows)('%s', (_name, request, policies, decision, kind) => {
    expect(outcome(evaluate(request, policies)).map(String)).toEqual([decision, kind]);
  });
});

describe('cross-account requests ("Cross-account policy evaluation logic", IAM User Guide)', () => {
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
  const rows: [string, ApplicablePolicies, Decision['decision'], string][] = [
    ['the caller account identity Allow alone is not enough', { identity: [allowAll()] }, 'ImplicitDeny', 'resource'],
    [
      'the resource-policy Allow for the account alone is not enough',
      { resource: allowTo({ AWS: OTHER_ROOT }) },
      'ImplicitDeny',
      'identity',
    ],
    [
      'a resource-policy Allow naming the role itself is not enough either',
      { resource: allowTo({ AWS: OTHER_ROLE }) },
      'ImplicitDeny',
      'identity',
    ],
    ['both Allows allow', { identity: [allowAll()], resource: allowTo({ AWS: OTHER_ROOT }) }, 'Allow', 'resource'],
    [
      'a resource-policy Allow for another account does not admit this one',
      { identity: [allowAll()], resource: allowTo({ AWS: '333333333333' }) },
      'ImplicitDeny',
      'resource',
    ],
    [
      'an explicit Deny on either side denies',
      { identity: [allowAll(), denyAll('guard')], resource: allowTo({ AWS: OTHER_ROOT }) },
      'ExplicitDeny',
      'identity',
    ],
  ];
  test.each(rows)('%s', (_name, policies, decision, kind) => {
    expect(outcome(evaluate(send(OTHER_ROLE), policies)).map(String)).toEqual([decision, kind]);
  });

  test("another account's root user needs only the resource side, as it holds every permission of its account", () => {
    expect(outcome(evaluate(send(OTHER_ROOT), { resource: allowTo({ AWS: OTHER_ROOT }) }))).toEqual(['Allow', 'resource']);
    expect(outcome(evaluate(send(OTHER_ROOT), { resource: allowTo({ AWS: ROOT }) }))).toEqual(['ImplicitDeny', 'resource']);
    const key: AccessRequest = { principal: OTHER_ROOT, action: 'kms:Decrypt', resource: KEY };
    const keyPolicy = policy([{ Sid: 'Partner', Principal: { AWS: OTHER }, Action: 'kms:Decrypt', Resource: '*' }]);
    expect(outcome(evaluate(key, { key: keyPolicy }))).toEqual(['Allow', 'key']);
  });
});

describe('KMS key policies ("Determining access to AWS KMS keys", KMS Developer Guide)', () => {
  // https://docs.aws.amazon.com/kms/latest/developerguide/determining-access.html
  const decrypt = (principal: string): AccessRequest => ({ principal, action: 'kms:Decrypt', resource: KEY });
  const keyPolicy = (principal: unknown) =>
    policy([{ Sid: 'KeyUse', Principal: principal, Action: 'kms:*', Resource: '*' }], 'project key policy');
  const rows: [string, AccessRequest, ApplicablePolicies, Decision['decision'], string][] = [
    ['a key policy naming the role allows on its own', decrypt(ROLE), { key: keyPolicy({ AWS: ROLE }) }, 'Allow', 'key'],
    [
      'a key policy delegating to the account lets an identity Allow decide',
      decrypt(ROLE),
      { key: keyPolicy({ AWS: ROOT }), identity: [allowAll()] },
      'Allow',
      'identity',
    ],
    [
      'a key policy delegating to the account grants nothing without an identity Allow',
      decrypt(ROLE),
      { key: keyPolicy({ AWS: ROOT }) },
      'ImplicitDeny',
      'identity',
    ],
    [
      'without a key-policy Allow an identity Allow grants nothing',
      decrypt(ROLE),
      { key: keyPolicy({ AWS: `arn:aws:iam::${ACCOUNT}:role/other` }), identity: [allowAll()] },
      'ImplicitDeny',
      'key',
    ],
    ['without any key policy nothing is allowed', decrypt(ROLE), { identity: [allowAll()] }, 'ImplicitDeny', 'key'],
    [
      'a resource policy passed for a key is not its key policy',
      decrypt(ROLE),
      { resource: keyPolicy({ AWS: ROLE }) },
      'ImplicitDeny',
      'key',
    ],
    [
      'an explicit Deny in the key policy denies',
      decrypt(ROLE),
      { key: denyAll('project key policy', '*'), identity: [allowAll()] },
      'ExplicitDeny',
      'key',
    ],
    [
      'a key policy naming a service allows that service',
      decrypt('events.amazonaws.com'),
      { key: keyPolicy({ Service: 'events.amazonaws.com' }) },
      'Allow',
      'key',
    ],
    [
      'another account needs the key policy and its own identity Allow',
      decrypt(OTHER_ROLE),
      { key: keyPolicy({ AWS: OTHER_ROOT }), identity: [allowAll()] },
      'Allow',
      'identity',
    ],
    [
      'another account with the key policy alone is denied',
      decrypt(OTHER_ROLE),
      { key: keyPolicy({ AWS: OTHER_ROOT }) },
      'ImplicitDeny',
      'identity',
    ],
  ];
  test.each(rows)('%s', (_name, request, policies, decision, kind) => {
    expect(outcome(evaluate(request, policies)).map(String)).toEqual([decision, kind]);
  });
});

describe('the deciding statement', () => {
  test('names the policy and the statement that decided, in one line', () => {
    // GIVEN
    const bus = compilePolicy(
      {
        Version: '2012-10-17',
        Statement: [
          { Sid: 'AllowAll', Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'events:PutEvents', Resource: BUS },
          {
            Sid: 'DenyOtherSources',
            Effect: 'Deny',
            Principal: '*',
            Action: 'events:PutEvents',
            Resource: BUS,
            Condition: { 'ForAnyValue:StringNotEquals': { 'events:source': 'com.example.loans.intake' } },
          },
        ],
      },
      'LoanEvents bus policy',
    );
    // WHEN
    const d = evaluate(
      { principal: ROLE, action: 'events:PutEvents', resource: BUS, context: { 'events:source': 'forged' } },
      { resource: bus, identity: [allowAll()] },
    );
    // THEN
    expect(d).toEqual({
      decision: 'ExplicitDeny',
      decidedBy: { policyKind: 'resource', policyId: 'LoanEvents bus policy', statementSid: 'DenyOtherSources', statementIndex: 1 },
      explanation: 'explicit deny in resource-based policy LoanEvents bus policy, statement DenyOtherSources',
    });
  });

  test('names a statement without Sid by its index', () => {
    const d = evaluate(send(ROLE), {
      identity: [
        policy(
          [
            { Action: 's3:*', Resource: '*' },
            { Action: 'sqs:*', Resource: '*' },
          ],
          'RolePolicy',
        ),
      ],
    });
    expect(d.explanation).toBe('allowed by identity-based policy RolePolicy, statement #1');
  });

  test('an implicit deny says which kind of policy did not allow', () => {
    const d = evaluate(send(OTHER_ROLE), { identity: [allowAll()] });
    expect(d.decidedBy).toBeUndefined();
    expect(d.explanation).toBe(
      `implicit deny: no resource-based policy allows sqs:SendMessage on ${QUEUE} (a cross-account request needs an Allow in both)`,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Principals, actions, resources, policy variables.
// ---------------------------------------------------------------------------------------------

describe('principals', () => {
  const allowed = (principal: string, element: unknown) => evaluate(send(principal), { resource: allowTo(element) }).decision;

  test.each([
    ['a role ARN names the role', ROLE, { AWS: ROLE }, 'Allow'],
    ['a role ARN names its sessions', SESSION, { AWS: ROLE }, 'Allow'],
    ['a session ARN names that session', SESSION, { AWS: SESSION }, 'Allow'],
    [
      'a session ARN does not name another session of the role',
      `arn:aws:sts::${ACCOUNT}:assumed-role/publisher/app-2`,
      { AWS: SESSION },
      'ImplicitDeny',
    ],
    ['a session ARN does not name the role itself', ROLE, { AWS: SESSION }, 'ImplicitDeny'],
    ['a role ARN does not name another role', `arn:aws:iam::${ACCOUNT}:role/publisher-2`, { AWS: ROLE }, 'ImplicitDeny'],
    ['a user ARN names the user', `arn:aws:iam::${ACCOUNT}:user/alice`, { AWS: `arn:aws:iam::${ACCOUNT}:user/alice` }, 'Allow'],
    ['a service principal names the service', 'events.amazonaws.com', { Service: 'events.amazonaws.com' }, 'Allow'],
    ['a service principal in a list', 'events.amazonaws.com', { Service: ['sns.amazonaws.com', 'events.amazonaws.com'] }, 'Allow'],
    ['a service principal does not name a role', ROLE, { Service: 'events.amazonaws.com' }, 'ImplicitDeny'],
    ['an account principal does not name a service', 'events.amazonaws.com', { AWS: ROOT }, 'ImplicitDeny'],
    ['{ AWS: "*" } names everyone', OTHER_ROLE, { AWS: '*' }, 'ImplicitDeny'], // cross-account: identity still needed
    ['"*" names a service too', 'events.amazonaws.com', '*', 'Allow'],
  ])('%s', (_name, principal, element, decision) => {
    expect(allowed(principal, element)).toBe(decision);
  });

  test('NotPrincipal applies to everyone it does not name', () => {
    const p = policy([{ Sid: 'DenyOthers', Effect: 'Deny', NotPrincipal: { AWS: ROLE }, Action: '*', Resource: '*' }]);
    expect(evaluate(send(ROLE), { identity: [allowAll()], resource: p }).decision).toBe('Allow');
    expect(evaluate(send(`arn:aws:iam::${ACCOUNT}:role/other`), { identity: [allowAll()], resource: p }).decision).toBe('ExplicitDeny');
  });

  test('the principal context keys come from the principal', () => {
    // GIVEN a policy keyed on aws:PrincipalArn (a session's is its role's ARN) and a principal tag
    const p = policy([
      {
        Action: 'sqs:SendMessage',
        Resource: '*',
        Condition: {
          ArnEquals: { 'aws:PrincipalArn': ROLE },
          StringEquals: { 'aws:PrincipalTag/team': 'loans', 'aws:PrincipalAccount': ACCOUNT },
        },
      },
    ]);
    // THEN
    expect(evaluate({ ...send(SESSION), principal: principalOf(SESSION, { team: 'loans' }) }, { identity: [p] }).decision).toBe('Allow');
    expect(evaluate({ ...send(SESSION), principal: principalOf(SESSION, { team: 'cards' }) }, { identity: [p] }).decision).toBe(
      'ImplicitDeny',
    );
  });

  test('rejects a principal that is neither an ARN nor a service', () => {
    expect(() => principalOf('arn:aws:s3:::bucket')).toThrow("'arn:aws:s3:::bucket' is neither an IAM or STS ARN nor a service principal");
    expect(() => principalOf('publisher')).toThrow('neither an IAM or STS ARN nor a service principal');
  });
});

describe('actions', () => {
  const matches = (pattern: string | string[], action: string) =>
    evaluate({ principal: ROLE, action, resource: QUEUE }, { identity: [policy([{ Action: pattern, Resource: '*' }])] }).decision ===
    'Allow';

  test.each([
    ['sqs:SendMessage', 'sqs:SendMessage', true],
    ['sqs:sendmessage', 'SQS:SendMessage', true],
    ['sqs:Send*', 'sqs:SendMessageBatch', true],
    ['sqs:*Message', 'sqs:ReceiveMessage', true],
    ['sqs:?eceiveMessage', 'sqs:ReceiveMessage', true],
    ['sqs:Send', 'sqs:SendMessage', false],
    ['sqs:*', 'sns:Publish', false],
    ['*', 'sns:Publish', true],
    ['s*:Publish', 'sns:Publish', true],
  ])('%s matches %s: %s', (pattern, action, expected) => {
    expect(matches(pattern, action)).toBe(expected);
  });

  test('NotAction applies to every other action', () => {
    const p = policy([{ NotAction: ['sqs:Purge*', 'sqs:Delete*'], Resource: '*' }]);
    expect(evaluate(send(ROLE), { identity: [p] }).decision).toBe('Allow');
    expect(evaluate({ ...send(ROLE), action: 'sqs:PurgeQueue' }, { identity: [p] }).decision).toBe('ImplicitDeny');
  });
});

describe('resources', () => {
  const matches = (pattern: string, resource: string) =>
    evaluate({ principal: ROLE, action: 'sqs:SendMessage', resource }, { identity: [policy([{ Action: '*', Resource: pattern }])] })
      .decision === 'Allow';

  test.each([
    [QUEUE, QUEUE, true],
    ['*', QUEUE, true],
    [`arn:aws:sqs:*:${ACCOUNT}:orders`, QUEUE, true],
    ['arn:aws:sqs:us-east-1:*:*', QUEUE, true],
    ['arn:aws:sqs:us-east-?:111111111111:orders', QUEUE, true],
    // A wildcard does not span the colons of the first five components ...
    [`arn:aws:sqs:*:${ACCOUNT}:orders`, `arn:aws:sqs:us-east-1:extra:${ACCOUNT}:orders`, false],
    // ... but a pattern with fewer than six components is matched as a whole, as `arn:aws:sqs:*` is commonly written
    ['arn:aws:sqs:*', QUEUE, true],
    ['arn:aws:sqs:us-east-1:111111111111:ord*', QUEUE, true],
    ['arn:aws:sqs:us-east-1:111111111111:ORDERS', QUEUE, false], // resource ARNs are case-sensitive
    [
      'arn:aws:logs:us-east-1:111111111111:log-group:/aws/lambda/x:*',
      'arn:aws:logs:us-east-1:111111111111:log-group:/aws/lambda/x:log-stream:s',
      true,
    ],
    ['arn:aws:events:us-east-1:111111111111:rule/loan-events/*', 'arn:aws:events:us-east-1:111111111111:rule/loan-events/a', true],
    ['arn:aws:events:us-east-1:111111111111:rule/loan-events/*', 'arn:aws:events:us-east-1:111111111111:rule/other/a', false],
  ])('%s matches %s: %s', (pattern, resource, expected) => {
    expect(matches(pattern, resource)).toBe(expected);
  });

  test('NotResource applies to every other resource', () => {
    const p = policy([{ Action: '*', NotResource: `arn:aws:sqs:*:*:secret-*` }]);
    expect(evaluate(send(ROLE), { identity: [p] }).decision).toBe('Allow');
    expect(evaluate(send(ROLE, `arn:aws:sqs:us-east-1:${ACCOUNT}:secret-1`), { identity: [p] }).decision).toBe('ImplicitDeny');
  });
});

describe('policy variables ("IAM policy elements: Variables and tags", IAM User Guide)', () => {
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
  const queueOf = (name: string) => `arn:aws:sqs:us-east-1:${ACCOUNT}:${name}`;
  const tagged = (team?: string) => principalOf(ROLE, team === undefined ? undefined : { team });
  const check = (resourcePattern: string, principal: ReturnType<typeof principalOf> | string, resource: string, version = '2012-10-17') =>
    evaluate(
      { principal, action: 'sqs:SendMessage', resource },
      { identity: [compilePolicy({ Version: version, Statement: { Effect: 'Allow', Action: '*', Resource: resourcePattern } }, 'p')] },
    ).decision;

  test.each([
    ['a principal tag in Resource', 'arn:aws:sqs:*:*:${aws:PrincipalTag/team}-*', tagged('loans'), queueOf('loans-in'), 'Allow'],
    [
      'a principal tag for another team',
      'arn:aws:sqs:*:*:${aws:PrincipalTag/team}-*',
      tagged('cards'),
      queueOf('loans-in'),
      'ImplicitDeny',
    ],
    [
      'a missing tag without a default matches nothing',
      'arn:aws:sqs:*:*:${aws:PrincipalTag/team}-*',
      tagged(),
      queueOf('loans-in'),
      'ImplicitDeny',
    ],
    ['a missing tag with a default', "arn:aws:sqs:*:*:${aws:PrincipalTag/team, 'shared'}-*", tagged(), queueOf('shared-in'), 'Allow'],
    ['the variable name is case-insensitive', 'arn:aws:sqs:*:*:${AWS:principaltag/TEAM}-*', tagged('loans'), queueOf('loans-in'), 'Allow'],
    [
      'aws:username of an IAM user',
      'arn:aws:sqs:*:*:home-${aws:username}',
      `arn:aws:iam::${ACCOUNT}:user/alice`,
      queueOf('home-alice'),
      'Allow',
    ],
    [
      'a substituted value is literal, not a wildcard',
      'arn:aws:sqs:*:*:${aws:PrincipalTag/team}',
      tagged('*'),
      queueOf('anything'),
      'ImplicitDeny',
    ],
    ['${*} is a literal asterisk', 'arn:aws:sqs:*:*:star${*}', ROLE, queueOf('star*'), 'Allow'],
    ['${*} does not act as a wildcard', 'arn:aws:sqs:*:*:star${*}', ROLE, queueOf('starlight'), 'ImplicitDeny'],
    ['${?} is a literal question mark', 'arn:aws:sqs:*:*:q${?}', ROLE, queueOf('q?'), 'Allow'],
    ['${$} is a literal dollar', 'arn:aws:sqs:*:*:d${$}', ROLE, queueOf('d$'), 'Allow'],
  ])('%s', (_name, pattern, principal, resource, decision) => {
    expect(check(pattern, principal, resource)).toBe(decision);
  });

  test('version 2008-10-17 has no policy variables: ${...} is literal text', () => {
    const pattern = 'arn:aws:sqs:*:*:${aws:username}';
    expect(check(pattern, `arn:aws:iam::${ACCOUNT}:user/alice`, queueOf('alice'), '2008-10-17')).toBe('ImplicitDeny');
    expect(check(pattern, `arn:aws:iam::${ACCOUNT}:user/alice`, queueOf('${aws:username}'), '2008-10-17')).toBe('Allow');
  });

  test('variables in condition values', () => {
    const p = policy([
      { Action: '*', Resource: '*', Condition: { StringLike: { 'aws:SourceArn': 'arn:aws:*:*:*:${aws:PrincipalTag/team}/*' } } },
    ]);
    const request = (team: string, source: string): AccessRequest => ({
      ...send(ROLE),
      principal: principalOf(ROLE, { team }),
      context: { 'aws:SourceArn': source },
    });
    expect(evaluate(request('loans', 'arn:aws:events:us-east-1:1:loans/x'), { identity: [p] }).decision).toBe('Allow');
    expect(evaluate(request('cards', 'arn:aws:events:us-east-1:1:loans/x'), { identity: [p] }).decision).toBe('ImplicitDeny');
  });
});

// ---------------------------------------------------------------------------------------------
// Condition operators.
// ---------------------------------------------------------------------------------------------

describe('condition operators ("IAM JSON policy elements: Condition operators", IAM User Guide)', () => {
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
  const holds = (condition: Record<string, Record<string, unknown>>, context: Record<string, string | string[]> = {}) =>
    evaluate({ ...send(ROLE), context }, { identity: [policy([{ Action: '*', Resource: '*', Condition: condition }])] }).decision ===
    'Allow';

  type Row = [string, Record<string, Record<string, unknown>>, Record<string, string | string[]>, boolean];
  const rows: Row[] = [
    // String
    ['StringEquals matches exactly', { StringEquals: { 'aws:SourceAccount': ACCOUNT } }, { 'aws:SourceAccount': ACCOUNT }, true],
    ['StringEquals is case-sensitive in values', { StringEquals: { 'x:k': 'Loans' } }, { 'x:k': 'loans' }, false],
    ['context key names are case-insensitive', { StringEquals: { 'AWS:SOURCEACCOUNT': ACCOUNT } }, { 'aws:sourceaccount': ACCOUNT }, true],
    ['values of one key are ORed', { StringEquals: { 'x:k': ['a', 'b'] } }, { 'x:k': 'b' }, true],
    ['keys of one operator are ANDed', { StringEquals: { 'x:a': '1', 'x:b': '2' } }, { 'x:a': '1', 'x:b': '3' }, false],
    ['operators of one block are ANDed', { StringEquals: { 'x:a': '1' }, StringLike: { 'x:b': '2*' } }, { 'x:a': '1', 'x:b': '3' }, false],
    ['StringEquals with an absent key is false', { StringEquals: { 'x:k': 'a' } }, {}, false],
    ['StringNotEquals with an absent key is true', { StringNotEquals: { 'x:k': 'a' } }, {}, true],
    ['StringNotEquals is true when no value matches', { StringNotEquals: { 'x:k': ['a', 'b'] } }, { 'x:k': 'c' }, true],
    ['StringNotEquals is false when one value matches', { StringNotEquals: { 'x:k': ['a', 'b'] } }, { 'x:k': 'b' }, false],
    ['StringEqualsIgnoreCase', { StringEqualsIgnoreCase: { 'x:k': 'LOANS' } }, { 'x:k': 'loans' }, true],
    ['StringNotEqualsIgnoreCase', { StringNotEqualsIgnoreCase: { 'x:k': 'LOANS' } }, { 'x:k': 'loans' }, false],
    ['StringLike with * and ?', { StringLike: { 'x:k': 'com.example.?oans.*' } }, { 'x:k': 'com.example.loans.intake' }, true],
    ['StringLike * spans colons and slashes', { StringLike: { 'x:k': 'arn:*' } }, { 'x:k': 'arn:aws:sqs:us-east-1:1:q/x' }, true],
    ['StringLike without wildcard is exact', { StringLike: { 'x:k': 'abc' } }, { 'x:k': 'abcd' }, false],
    ['StringNotLike with an absent key is true', { StringNotLike: { 'x:k': 'a*' } }, {}, true],
    ['StringNotLike with a matching value is false', { StringNotLike: { 'x:k': 'a*' } }, { 'x:k': 'ab' }, false],
    ['StringEqualsIfExists with an absent key is true', { StringEqualsIfExists: { 'x:k': 'a' } }, {}, true],
    ['StringEqualsIfExists with another value is false', { StringEqualsIfExists: { 'x:k': 'a' } }, { 'x:k': 'b' }, false],
    ['StringNotEqualsIfExists with an absent key is true', { StringNotEqualsIfExists: { 'x:k': 'a' } }, {}, true],
    // ARN
    ['ArnEquals matches each component', { ArnEquals: { 'aws:SourceArn': BUS } }, { 'aws:SourceArn': BUS }, true],
    [
      'ArnLike with an account wildcard',
      { ArnLike: { 'aws:SourceArn': 'arn:aws:events:*:111111111111:rule/*' } },
      { 'aws:SourceArn': 'arn:aws:events:us-east-1:111111111111:rule/loan-events/r' },
      true,
    ],
    [
      'ArnLike: a wildcard does not span components',
      { ArnLike: { 'aws:SourceArn': `arn:aws:events:*:${ACCOUNT}:event-bus/loan-events` } },
      { 'aws:SourceArn': `arn:aws:events:us-east-1:x:${ACCOUNT}:event-bus/loan-events` },
      false,
    ],
    [
      'ArnLike on the resource component spans colons',
      { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::222222222222:*' } },
      { 'aws:PrincipalArn': 'arn:aws:iam::222222222222:role/a:b' },
      true,
    ],
    [
      'ArnLike does not match a non-ARN value',
      { ArnLike: { 'aws:SourceArn': 'arn:aws:*:*:*:*' } },
      { 'aws:SourceArn': 'not-an-arn' },
      false,
    ],
    ['ArnNotLike with an absent key is true', { ArnNotLike: { 'aws:SourceArn': BUS } }, {}, true],
    [
      'ArnNotLike with a matching value is false',
      { ArnNotLike: { 'aws:SourceArn': 'arn:aws:events:*:*:event-bus/*' } },
      { 'aws:SourceArn': BUS },
      false,
    ],
    ['ArnNotEquals with another value is true', { ArnNotEquals: { 'aws:SourceArn': BUS } }, { 'aws:SourceArn': QUEUE }, true],
    ['ArnLikeIfExists with an absent key is true', { ArnLikeIfExists: { 'aws:SourceArn': BUS } }, {}, true],
    // Numeric
    ['NumericEquals', { NumericEquals: { 'x:n': '10' } }, { 'x:n': '10.0' }, true],
    ['NumericNotEquals', { NumericNotEquals: { 'x:n': '10' } }, { 'x:n': '11' }, true],
    ['NumericLessThan', { NumericLessThan: { 'x:n': 10 } }, { 'x:n': '9' }, true],
    ['NumericLessThan at the bound', { NumericLessThan: { 'x:n': '10' } }, { 'x:n': '10' }, false],
    ['NumericLessThanEquals at the bound', { NumericLessThanEquals: { 'x:n': '10' } }, { 'x:n': '10' }, true],
    ['NumericGreaterThan', { NumericGreaterThan: { 'x:n': '10' } }, { 'x:n': '10.5' }, true],
    ['NumericGreaterThanEquals', { NumericGreaterThanEquals: { 'x:n': '10' } }, { 'x:n': '9' }, false],
    ['Numeric with a non-number request value is false', { NumericLessThan: { 'x:n': '10' } }, { 'x:n': 'ten' }, false],
    // Date
    [
      'DateLessThan with ISO 8601',
      { DateLessThan: { 'aws:CurrentTime': '2026-12-01T00:00:00Z' } },
      { 'aws:CurrentTime': '2026-11-29T18:00:00Z' },
      true,
    ],
    ['DateGreaterThan with epoch seconds', { DateGreaterThan: { 'aws:EpochTime': '1700000000' } }, { 'aws:EpochTime': '1800000000' }, true],
    ['DateEquals across formats', { DateEquals: { 'x:d': '2020-01-01T00:00:00Z' } }, { 'x:d': '1577836800' }, true],
    ['DateNotEquals', { DateNotEquals: { 'x:d': '2020-01-01T00:00:00Z' } }, { 'x:d': '2020-01-02T00:00:00Z' }, true],
    ['DateLessThanEquals', { DateLessThanEquals: { 'x:d': '2020-01-01' } }, { 'x:d': '2020-01-01' }, true],
    ['DateGreaterThanEquals with a bad date is false', { DateGreaterThanEquals: { 'x:d': '2020-01-01' } }, { 'x:d': 'yesterday' }, false],
    // Bool, Binary
    ['Bool true', { Bool: { 'aws:SecureTransport': 'true' } }, { 'aws:SecureTransport': 'true' }, true],
    ['Bool is case-insensitive', { Bool: { 'aws:SecureTransport': true } }, { 'aws:SecureTransport': 'TRUE' }, true],
    ['Bool false against true', { Bool: { 'aws:SecureTransport': 'false' } }, { 'aws:SecureTransport': 'true' }, false],
    ['Bool with an absent key is false', { Bool: { 'aws:SecureTransport': 'false' } }, {}, false],
    ['BoolIfExists with an absent key is true', { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } }, {}, true],
    ['BinaryEquals compares base-64 values', { BinaryEquals: { 'x:b': 'QmluYXJ5' } }, { 'x:b': 'QmluYXJ5' }, true],
    // IP addresses
    ['IpAddress in an IPv4 block', { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': '203.0.113.7' }, true],
    ['IpAddress outside an IPv4 block', { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': '203.0.114.7' }, false],
    ['IpAddress with a single address', { IpAddress: { 'aws:SourceIp': '203.0.113.7' } }, { 'aws:SourceIp': '203.0.113.7' }, true],
    ['IpAddress in an IPv6 block', { IpAddress: { 'aws:SourceIp': '2001:db8::/32' } }, { 'aws:SourceIp': '2001:db8:1::5' }, true],
    ['IpAddress: IPv4 never matches an IPv6 block', { IpAddress: { 'aws:SourceIp': '::/0' } }, { 'aws:SourceIp': '203.0.113.7' }, false],
    ['NotIpAddress outside the block', { NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, { 'aws:SourceIp': '203.0.113.7' }, true],
    ['NotIpAddress with an absent key is true', { NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, {}, true],
    [
      'IpAddress with a malformed request address is false',
      { IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } },
      { 'aws:SourceIp': '300.1.1.1' },
      false,
    ],
    // Null
    ['Null true: the key is absent', { Null: { 'x:k': 'true' } }, {}, true],
    ['Null true: the key is present', { Null: { 'x:k': 'true' } }, { 'x:k': 'a' }, false],
    ['Null false: the key is present', { Null: { 'x:k': 'false' } }, { 'x:k': 'a' }, true],
    ['Null false: an empty list counts as absent', { Null: { 'x:k': 'false' } }, { 'x:k': [] }, false],
    // Set operators
    ['ForAllValues with an absent key is true', { 'ForAllValues:StringEquals': { 'events:source': 'a' } }, {}, true],
    ['ForAllValues with an empty list is true', { 'ForAllValues:StringEquals': { 'aws:TagKeys': 'a' } }, { 'aws:TagKeys': [] }, true],
    [
      'ForAllValues: every value in the set',
      { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['a', 'b'] } },
      { 'aws:TagKeys': ['a', 'b'] },
      true,
    ],
    [
      'ForAllValues: one value outside the set',
      { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['a', 'b'] } },
      { 'aws:TagKeys': ['a', 'c'] },
      false,
    ],
    [
      'ForAllValues:StringNotEquals: no value in the set',
      { 'ForAllValues:StringNotEquals': { 'aws:TagKeys': ['a'] } },
      { 'aws:TagKeys': ['b', 'c'] },
      true,
    ],
    ['ForAllValues:StringLike', { 'ForAllValues:StringLike': { 'aws:TagKeys': 'team-*' } }, { 'aws:TagKeys': ['team-a', 'team-b'] }, true],
    ['ForAnyValue with an absent key is false', { 'ForAnyValue:StringEquals': { 'events:source': 'a' } }, {}, false],
    ['ForAnyValue with an empty list is false', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': 'a' } }, { 'aws:TagKeys': [] }, false],
    ['ForAnyValue: one value in the set', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['a'] } }, { 'aws:TagKeys': ['c', 'a'] }, true],
    [
      'ForAnyValue:StringNotEquals: one value outside the set',
      { 'ForAnyValue:StringNotEquals': { 'events:source': ['a'] } },
      { 'events:source': ['a', 'b'] },
      true,
    ],
    [
      'ForAnyValue:StringNotEquals: every value in the set',
      { 'ForAnyValue:StringNotEquals': { 'events:source': ['a'] } },
      { 'events:source': 'a' },
      false,
    ],
    ['ForAnyValue:StringNotEquals with an absent key is false', { 'ForAnyValue:StringNotEquals': { 'events:source': 'a' } }, {}, false],
    [
      'ForAnyValue:StringEqualsIfExists with an absent key is true',
      { 'ForAnyValue:StringEqualsIfExists': { 'events:source': 'a' } },
      {},
      true,
    ],
    ['set operators treat a single value as a set of one', { 'ForAnyValue:StringEquals': { 'x:k': 'a' } }, { 'x:k': 'a' }, true],
    // Multivalued keys need a set operator
    [
      'a plain StringEquals never matches the multivalued events:source',
      { StringEquals: { 'events:source': 'a' } },
      { 'events:source': 'a' },
      false,
    ],
    [
      'a plain StringNotEquals never matches the multivalued events:source',
      { StringNotEquals: { 'events:source': 'a' } },
      { 'events:source': 'b' },
      false,
    ],
    ['a plain operator never matches a list value', { StringEquals: { 'x:k': 'a' } }, { 'x:k': ['a'] }, false],
    // Encryption context keys hold colons in their names
    [
      'kms:EncryptionContext:<key> with colons',
      { StringEquals: { 'kms:EncryptionContext:aws:sqs:arn': QUEUE } },
      { 'kms:EncryptionContext:aws:sqs:arn': QUEUE },
      true,
    ],
    [
      'kms:EncryptionContextKeys is multivalued',
      { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['aws:sqs:arn'] } },
      { 'kms:EncryptionContextKeys': ['aws:sqs:arn', 'x'] },
      false,
    ],
  ];
  test.each(rows)('%s', (_name, condition, context, expected) => {
    expect(holds(condition, context)).toBe(expected);
  });
});

// ---------------------------------------------------------------------------------------------
// Hostile and malformed policy documents.
// ---------------------------------------------------------------------------------------------

describe('parsing policy documents', () => {
  const parse = (doc: unknown) => () => compilePolicy(doc, 'test policy');
  const st = (s: Record<string, unknown>) => ({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', ...s }],
  });

  test('accepts Statement as one object or a list, and JSON text', () => {
    const one = compilePolicy({ Version: '2012-10-17', Statement: { Effect: 'Allow', Action: 'sqs:*', Resource: '*' } }, 'p');
    const text = compilePolicy(
      JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sqs:*', Resource: '*' }] }),
      'p',
    );
    expect(one.statements).toHaveLength(1);
    expect(evaluate(send(ROLE), { identity: [text] }).decision).toBe('Allow');
  });

  test.each([
    ['not an object', 42, 'test policy: a policy document must be an object'],
    ['not JSON', '{"Statement": [', 'test policy: not valid JSON'],
    ['no Statement', { Version: '2012-10-17' }, 'test policy: has no Statement'],
    ['an unknown version', { Version: '2020-01-01', Statement: [] }, 'Version must be "2012-10-17" or "2008-10-17", got "2020-01-01"'],
    ['a statement that is not an object', { Version: '2012-10-17', Statement: ['x'] }, 'test policy: Statement[0]: must be an object'],
    ['a bad Effect', st({ Effect: 'allow' }), 'Statement[0].Effect: must be "Allow" or "Deny", got "allow"'],
    ['an unknown element', st({ Actions: 'sqs:*' }), "Statement[0]: unknown element 'Actions'"],
    ['both Action and NotAction', st({ NotAction: 'sqs:*' }), 'Statement[0]: has both Action and NotAction'],
    ['a malformed action', st({ Action: 'SendMessage' }), "Statement[0].Action: 'SendMessage' is not an action"],
    ['a non-string action', st({ Action: [{ x: 1 }] }), 'Statement[0].Action: must be a string or a list of strings, got {"x":1}'],
    ['an empty action list', st({ Action: [] }), 'Statement[0].Action: must not be empty'],
    [
      'an unknown condition operator',
      st({ Condition: { StringEqualz: { 'x:k': 'a' } } }),
      "Statement[0].Condition.StringEqualz: unknown condition operator 'StringEqualz'",
    ],
    ['a condition that is not an object', st({ Condition: ['x'] }), 'Statement[0].Condition: must be an object'],
    [
      'an object condition value',
      st({ Condition: { StringEquals: { 'x:k': { a: 1 } } } }),
      'Statement[0].Condition.StringEquals.x:k: a condition value must be a string, number or boolean',
    ],
    ['a bad number', st({ Condition: { NumericLessThan: { 'x:n': 'ten' } } }), "'ten' is not a number for NumericLessThan"],
    ['a bad date', st({ Condition: { DateLessThan: { 'x:d': 'soon' } } }), "'soon' is not an ISO 8601 date or epoch time for DateLessThan"],
    [
      'a bad CIDR block',
      st({ Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/33' } } }),
      "'10.0.0.0/33' is not an IP address or CIDR block",
    ],
    ['a bad Bool', st({ Condition: { Bool: { 'x:b': 'yes' } } }), "'yes' is not true or false for Bool"],
    ['a bad Null', st({ Condition: { Null: { 'x:b': 'maybe' } } }), `Null takes "true" or "false", not 'maybe'`],
    ['an unknown principal type', st({ Principal: { Account: ACCOUNT } }), "unknown principal type 'Account'"],
    ['a non-string principal', st({ Principal: { AWS: [1] } }), 'Statement[0].Principal.AWS: must be a string or a list of strings'],
  ])('rejects %s, naming the policy and the element', (_name, doc, message) => {
    expect(parse(doc)).toThrow(PolicyParseError);
    expect(parse(doc)).toThrow(message);
  });

  test('a __proto__ key in JSON text is an unknown operator, not a prototype write', () => {
    // GIVEN a hostile document whose Condition and keys are named __proto__
    const hostile =
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"__proto__":{"polluted":"yes"}}}]}';
    // THEN it is rejected with a clear error, and no prototype changed
    expect(() => compilePolicy(hostile, 'hostile')).toThrow("unknown condition operator '__proto__'");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const keyed =
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"__proto__":"x"}}}]}';
    const p = compilePolicy(keyed, 'hostile');
    expect(evaluate({ ...send(ROLE), context: JSON.parse('{"__proto__":"x"}') }, { identity: [p] }).decision).toBe('Allow');
    expect(evaluate(send(ROLE), { identity: [p] }).decision).toBe('ImplicitDeny');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  test('a statement inherits nothing from Object.prototype', () => {
    // Effect on the prototype must not make a statement without Effect valid.
    const doc = Object.create({ Effect: 'Allow' }) as Record<string, unknown>;
    doc.Action = '*';
    expect(() => compilePolicy({ Version: '2012-10-17', Statement: [doc] }, 'p')).toThrow(
      'Effect: must be "Allow" or "Deny", got undefined',
    );
  });

  test('rejects a context value that is not a string or a list of strings', () => {
    const p = allowAll();
    expect(() => evaluate({ ...send(ROLE), context: { 'x:k': 1 as unknown as string } }, { identity: [p] })).toThrow(
      "Context key 'x:k' must be a string or a list of strings, got 1",
    );
  });

  test('a long hostile wildcard pattern does not hang', () => {
    // GIVEN a pattern that makes a backtracking matcher explode
    const pattern = `${'*a'.repeat(30)}b`;
    const p = policy([{ Action: '*', Resource: '*', Condition: { StringLike: { 'x:k': pattern } } }]);
    // WHEN
    const started = process.hrtime.bigint();
    const d = evaluate({ ...send(ROLE), context: { 'x:k': 'a'.repeat(5000) } }, { identity: [p] });
    // THEN it answers (the evaluator's regexes have no nested quantifiers)
    expect(d.decision).toBe('ImplicitDeny');
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(2000);
  });
});

// ---------------------------------------------------------------------------------------------
// The evaluator facade and AWS's access-denied messages.
// ---------------------------------------------------------------------------------------------

describe('PolicyEvaluator and denialMessage', () => {
  const busPolicy = compilePolicy(
    {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'DenyOthers',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 'events:PutEvents',
          Resource: BUS,
          Condition: { ArnNotLike: { 'aws:PrincipalArn': ROLE } },
        },
      ],
    },
    'LoanEvents bus policy',
  );
  const rolePolicy = policy([{ Sid: 'Publish', Action: 'events:PutEvents', Resource: BUS }], 'PublisherRoleDefaultPolicy');
  const evaluator = new PolicyEvaluator({
    identityPolicies: (p) => (p.roleArn === ROLE ? [rolePolicy] : []),
    resourcePolicy: (arn) => (arn === BUS ? busPolicy : undefined),
  });
  const put = (principal: string): AccessRequest => ({ principal, action: 'events:PutEvents', resource: BUS });

  test('asks the store for the policies of the principal (a session uses its role) and the resource', () => {
    expect(evaluator.evaluate(put(SESSION)).decision).toBe('Allow');
  });

  test('an explicit deny in a resource-based policy', () => {
    const request = put(`arn:aws:sts::${ACCOUNT}:assumed-role/intruder/s`);
    expect(denialMessage(request, evaluator.evaluate(request))).toBe(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/intruder/s is not authorized to perform: events:PutEvents on resource: ${BUS} with an explicit deny in a resource-based policy`,
    );
  });

  test('no identity-based policy allows', () => {
    const request: AccessRequest = { principal: SESSION, action: 'events:PutRule', resource: `${BUS.replace('event-bus', 'rule')}/r` };
    expect(denialMessage(request, evaluator.evaluate(request))).toBe(
      `User: ${SESSION} is not authorized to perform: events:PutRule on resource: arn:aws:events:us-east-1:${ACCOUNT}:rule/loan-events/r because no identity-based policy allows the events:PutRule action`,
    );
  });

  test('no resource-based policy allows (across accounts, and for a key policy)', () => {
    const cross = put(OTHER_ROLE);
    const e = new PolicyEvaluator({ identityPolicies: () => [allowAll()], resourcePolicy: () => undefined });
    expect(denialMessage(cross, e.evaluate(cross))).toMatch(/because no resource-based policy allows the events:PutEvents action$/);
    const key: AccessRequest = { principal: ROLE, action: 'kms:Decrypt', resource: KEY };
    expect(denialMessage(key, e.evaluate(key))).toMatch(/because no resource-based policy allows the kms:Decrypt action$/);
  });

  test('explicit denies in identity-based policies, boundaries and SCPs, and a missing boundary Allow', () => {
    const e = (store: ConstructorParameters<typeof PolicyEvaluator>[0]) =>
      denialMessage(put(ROLE), new PolicyEvaluator(store).evaluate(put(ROLE)));
    expect(e({ identityPolicies: () => [denyAll('guard')] })).toMatch(/with an explicit deny in an? identity-based policy$/);
    expect(e({ identityPolicies: () => [allowAll()], boundary: () => denyAll('b') })).toMatch(
      /with an explicit deny in a permissions boundary$/,
    );
    expect(e({ identityPolicies: () => [allowAll()], serviceControlPolicies: () => [denyAll('scp')] })).toMatch(
      /with an explicit deny in a service control policy$/,
    );
    expect(e({ identityPolicies: () => [allowAll()], boundary: () => policy([{ Action: 's3:*', Resource: '*' }]) })).toMatch(
      /because no permissions boundary allows the events:PutEvents action$/,
    );
  });

  test('refuses to explain an allowed request', () => {
    expect(() => denialMessage(put(ROLE), evaluator.evaluate(put(ROLE)))).toThrow('the request was allowed');
  });
});

describe('the iam/ module', () => {
  const ROOT_DIR = path.join(__dirname, '..', '..');
  const files = fs.readdirSync(path.join(ROOT_DIR, 'iam')).filter((f) => f.endsWith('.ts'));

  test('is a leaf: imports only its own files and Node built-ins, never lib/, runtime/, cli/, catalog/ or the AGPL simulator', () => {
    const imports = files.flatMap((f) =>
      [...fs.readFileSync(path.join(ROOT_DIR, 'iam', f), 'utf8').matchAll(/(?:from|import)\s+'([^']+)'/g)].map((m) => `${f}: ${m[1]}`),
    );
    expect(files.length).toBeGreaterThan(0);
    expect(imports.filter((i) => !/: \.\/[a-z-]+$/.test(i))).toEqual([]);
  });
});
