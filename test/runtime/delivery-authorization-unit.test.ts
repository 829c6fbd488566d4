/**
 * The delivery authorizer on its own: which policy governs a queue, how the key of an encrypted
 * queue is found, and what `off` means.
 */
import { compilePolicy, type CompiledPolicy } from '../../iam';
import {
  AWS_MANAGED_SQS_KEY,
  deliveryAuthorizer,
  EVENTS_SERVICE_PRINCIPAL,
  FAILED_TO_ASSUME_ROLE,
  NO_PERMISSIONS,
} from '../../runtime/delivery-authorization';

const ACCOUNT = '111111111111';
const RULE = `arn:aws:events:us-east-1:${ACCOUNT}:rule/bus/orders`;
const QUEUE = `arn:aws:sqs:us-east-1:${ACCOUNT}:orders`;
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/${KEY_ID}`;

const sendStatement = (sourceArn: string) => ({
  Effect: 'Allow',
  Principal: { Service: EVENTS_SERVICE_PRINCIPAL },
  Action: 'sqs:SendMessage',
  Resource: QUEUE,
  Condition: { ArnEquals: { 'aws:SourceArn': sourceArn } },
});
const queuePolicy = (sourceArn: string) => ({ Version: '2012-10-17', Statement: [sendStatement(sourceArn)] });
const keyPolicy = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'AllowEventBridge',
      Effect: 'Allow',
      Principal: { Service: EVENTS_SERVICE_PRINCIPAL },
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: '*',
      Condition: { StringEquals: { 'kms:EncryptionContext:aws:sqs:arn': QUEUE, 'aws:SourceAccount': ACCOUNT } },
    },
  ],
};

function authorizer(resource: Record<string, object>, mode: 'warn' | 'enforce' | 'off' = 'enforce') {
  const compiled = new Map<string, CompiledPolicy>(Object.entries(resource).map(([arn, doc]) => [arn, compilePolicy(doc, arn)]));
  return deliveryAuthorizer({ mode, policies: { resourcePolicy: (arn) => compiled.get(arn) } });
}

describe('deliveryAuthorizer', () => {
  test('allows a rule its queue policy names, through a key that admits EventBridge for that queue', () => {
    const a = authorizer({ [QUEUE]: queuePolicy(RULE), [KEY]: keyPolicy });
    expect(a!.checkQueue({ ruleArn: RULE, queueArn: QUEUE, kmsMasterKeyId: KEY })).toBeUndefined();
  });

  test('finds the key of a queue that names it by key id', () => {
    const a = authorizer({ [QUEUE]: queuePolicy(RULE), [KEY]: { Version: '2012-10-17', Statement: [] } });
    expect(a!.checkQueue({ ruleArn: RULE, queueArn: QUEUE, kmsMasterKeyId: KEY_ID })).toMatchObject({
      action: 'kms:GenerateDataKey',
      resource: KEY,
      serviceError: 'KMS.AccessDeniedException',
    });
  });

  test('refuses another rule of the account', () => {
    const a = authorizer({ [QUEUE]: queuePolicy(RULE) });
    const denied = a!.checkQueue({ ruleArn: `${RULE}-other`, queueArn: QUEUE });
    expect(denied).toMatchObject({ action: 'sqs:SendMessage', serviceError: 'AccessDenied' });
    expect(denied!.explanation).toMatch(/^implicit deny: no resource-based policy allows sqs:SendMessage/);
  });

  test('a Policy attribute set at run time replaces the template policy', () => {
    const a = authorizer({ [QUEUE]: queuePolicy(RULE) });
    const other = `${RULE}-other`;
    expect(a!.checkQueue({ ruleArn: other, queueArn: QUEUE, queuePolicy: JSON.stringify(queuePolicy(other)) })).toBeUndefined();
    expect(a!.checkQueue({ ruleArn: RULE, queueArn: QUEUE, queuePolicy: JSON.stringify(queuePolicy(other)) })).toBeDefined();
    // A policy that does not parse allows nothing.
    expect(a!.checkQueue({ ruleArn: RULE, queueArn: QUEUE, queuePolicy: '{not json' })).toMatchObject({ action: 'sqs:SendMessage' });
  });

  test('a changed Policy attribute changes the answer for the same delivery', () => {
    const a = authorizer({});
    const allows = JSON.stringify(queuePolicy(RULE));
    const denies = JSON.stringify(queuePolicy(`${RULE}-other`));
    const answers = [allows, denies, allows, denies].map(
      (p) => a!.checkQueue({ ruleArn: RULE, queueArn: QUEUE, queuePolicy: p }) === undefined,
    );
    expect(answers).toEqual([true, false, true, false]);
  });

  test('an explicit deny in the queue policy names its statement', () => {
    const deny = { Sid: 'DenyRule', Effect: 'Deny', Principal: '*', Action: 'sqs:*', Resource: QUEUE };
    const a = authorizer({ [QUEUE]: { Version: '2012-10-17', Statement: [sendStatement(RULE), deny] } });
    const denied = a!.checkQueue({ ruleArn: RULE, queueArn: QUEUE });
    expect(denied!.explanation).toContain('statement DenyRule');
    expect(denied!.message).toMatch(/with an explicit deny in a resource-based policy$/);
  });

  test.each([AWS_MANAGED_SQS_KEY, `arn:aws:kms:us-east-1:${ACCOUNT}:${AWS_MANAGED_SQS_KEY}`])(
    'a queue encrypted with the AWS managed key (%s) never admits EventBridge',
    (keyId) => {
      const a = authorizer({ [QUEUE]: queuePolicy(RULE) });
      expect(a!.checkQueue({ ruleArn: RULE, queueArn: QUEUE, kmsMasterKeyId: keyId })).toMatchObject({
        serviceError: 'KMS.AccessDeniedException',
        explanation: expect.stringContaining('customer managed key'),
      });
    },
  );

  test('a key the app does not define is not checked', () => {
    const a = authorizer({ [QUEUE]: queuePolicy(RULE) });
    expect(a!.checkQueue({ ruleArn: RULE, queueArn: QUEUE, kmsMasterKeyId: 'alias/some-imported-key' })).toBeUndefined();
    expect(a!.checkQueue({ ruleArn: RULE, queueArn: QUEUE, kmsMasterKeyId: `${KEY}-imported` })).toBeUndefined();
  });

  describe('a target with a role', () => {
    const BUS_ACCOUNT = '222222222222';
    const ROLE = `arn:aws:iam::${BUS_ACCOUNT}:role/delivery`;
    const RULE_X = `arn:aws:events:us-east-1:${BUS_ACCOUNT}:rule/bus/orders`;
    const trusts = (service: string) =>
      compilePolicy(
        { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }] },
        'trust',
      );
    const roleSends = compilePolicy(
      { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: QUEUE }] },
      'id',
    );
    const queueAdmitsRole = compilePolicy(
      { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: ROLE }, Action: 'sqs:SendMessage', Resource: QUEUE }] },
      'queue',
    );
    const withRole = (trust: CompiledPolicy, identity: CompiledPolicy[]) =>
      deliveryAuthorizer({
        mode: 'enforce',
        policies: {
          trustPolicy: (arn) => (arn === ROLE ? trust : undefined),
          identityPolicies: (p) => (p.roleArn === ROLE ? identity : []),
          resourcePolicy: (arn) => (arn === QUEUE ? queueAdmitsRole : undefined),
        },
      })!;

    test('delivers across accounts when the role may send and the queue admits the role', () => {
      expect(
        withRole(trusts(EVENTS_SERVICE_PRINCIPAL), [roleSends]).checkQueue({ ruleArn: RULE_X, queueArn: QUEUE, roleArn: ROLE }),
      ).toBeUndefined();
    });

    test("is refused when the role's own policies do not allow sending", () => {
      const denied = withRole(trusts(EVENTS_SERVICE_PRINCIPAL), []).checkQueue({ ruleArn: RULE_X, queueArn: QUEUE, roleArn: ROLE });
      expect(denied).toMatchObject({
        errorCode: NO_PERMISSIONS,
        principal: `arn:aws:sts::${BUS_ACCOUNT}:assumed-role/delivery/events-delivery`,
      });
    });

    test('is FAILED_TO_ASSUME_ROLE when the trust policy does not admit EventBridge', () => {
      const denied = withRole(trusts('lambda.amazonaws.com'), [roleSends]).checkQueue({ ruleArn: RULE_X, queueArn: QUEUE, roleArn: ROLE });
      expect(denied).toMatchObject({ errorCode: FAILED_TO_ASSUME_ROLE, action: 'sts:AssumeRole', principal: EVENTS_SERVICE_PRINCIPAL });
    });
  });

  test('off is no authorizer at all', () => {
    expect(authorizer({}, 'off')).toBeUndefined();
    expect(authorizer({}, 'warn')!.mode).toBe('warn');
  });
});
