import { Duration } from 'aws-cdk-lib';
import { ArnPrincipal } from 'aws-cdk-lib/aws-iam';
import { defineCatalog, definePublisher } from '../../sdk/catalog';
import { loanCatalog } from '../../catalog/loans';
import { SUBSCRIBE_ACTIONS } from '../../lib/event-router';
import { pascalCase } from '../../lib/defaults';
import {
  Audited,
  BUS_ARN,
  buildRouter,
  buildStack,
  ExternalSubmitted,
  ExternalWithdrawn,
  busPolicy,
  crossAccountCatalog,
  fixtureHandlers,
  flat,
  keyStatements,
  logicalId,
  partnerAccount,
  resourceById,
  resourcesOf,
} from './helpers';

// GIVEN the default stack, built once.
const { router: stack, template, consumers } = buildStack();
const keyId = logicalId(template, 'AWS::KMS::Key', 'EventRouterKey');
const keyArn = { 'Fn::GetAtt': [keyId, 'Arn'] };

describe('encryption key', () => {
  test('the router stack has four keys (bus, bus dead letters, alarms, audit), each with rotation, retained on stack deletion', () => {
    const keys = resourcesOf(template, 'AWS::KMS::Key').map(([id]) => id.replace(/[0-9A-F]{8}$/, ''));
    expect(keys.sort()).toEqual(['AlarmKey', 'AuditKey', 'EventRouterDeadLetterKey', 'EventRouterKey']);
    for (const [, key] of Object.entries(template.findResources('AWS::KMS::Key'))) {
      expect(key).toMatchObject({ Properties: { EnableKeyRotation: true }, DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
    const aliases = resourcesOf(template, 'AWS::KMS::Alias').map(([, a]) => a.AliasName);
    expect(aliases.sort()).toEqual([
      'alias/LoanEvents-alarms',
      'alias/LoanEvents-audit',
      'alias/loan-events',
      'alias/loan-events-bus-dead-letters',
    ]);
  });

  test.each(['AlarmKey', 'AuditKey', 'EventRouterDeadLetterKey', 'EventRouterKey'])(
    '%s: the account may only administer it, through the deployment role and the root user; nobody may use it without a named condition',
    (prefix) => {
      const statements = flat(keyStatements(template, prefix));
      const account = statements.filter((s: any) => s.Principal?.AWS === 'arn:<Partition>:iam::<AccountId>:root');
      const admin = account.find((s: any) => s.Sid === 'KeyAdministrationByNamedAdministrators');
      expect(admin.Action).not.toContain('kms:*');
      expect(admin.Action.filter((a: string) => /^kms:(Encrypt|Decrypt|ReEncrypt|GenerateDataKey|CreateGrant|Create\*)/.test(a))).toEqual(
        [],
      );
      expect(admin.Condition).toEqual({
        ArnLike: {
          'aws:PrincipalArn': [
            { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/cdk-hnb659fds-cfn-exec-role-${AWS::AccountId}-${AWS::Region}' },
            'arn:<Partition>:iam::<AccountId>:root',
          ],
        },
      });
      // Every other statement for principals of the account names them and a service.
      for (const s of account.filter((x: any) => x !== admin)) {
        expect(s.Condition.ArnLike['aws:PrincipalArn']).toBeDefined();
        expect(s.Condition.StringEquals['kms:ViaService']).toBeDefined();
      }
      expect(statements.filter((s: any) => [s.Action].flat().includes('kms:*'))).toEqual([]);
    },
  );

  test('keyAdminArns become administrators of every key of the router stack', () => {
    const admin = 'arn:aws:iam::123456789012:role/KeyAdmin';
    const { template: t } = buildRouter({ keyAdminArns: [admin] });
    for (const prefix of ['AlarmKey', 'AuditKey', 'EventRouterDeadLetterKey', 'EventRouterKey']) {
      const statement = flat(keyStatements(t, prefix)).find((s: any) => s.Sid === 'KeyAdministrationByNamedAdministrators');
      expect(statement.Condition.ArnLike['aws:PrincipalArn']).toContain(admin);
    }
  });

  test('fails on a key administrator that is not an IAM principal ARN', () => {
    expect(() => buildStack({ keyAdminArns: ['KeyAdmin'] })).toThrow(
      "'deploymentRoleArns', 'ruleManagerArns', 'operatorRoleArns' and 'keyAdminArns' must hold IAM principal ARNs (given 'KeyAdmin')",
    );
  });

  test('lets EventBridge use it for the bus only (aws:SourceArn and the event-bus encryption context)', () => {
    const statement = flat(keyStatements(template, 'EventRouterKey')).find(
      (s: any) => s.Principal?.Service === 'events.amazonaws.com' && s.Condition?.StringEquals?.['aws:SourceArn'] === BUS_ARN,
    );
    expect(statement).toBeDefined();
    expect(statement.Action).toEqual(expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey']));
    expect(statement.Condition.StringEquals['kms:EncryptionContext:aws:events:event-bus:arn']).toBe(BUS_ARN);
  });

  test('gotcha: the key policy grants EventBridge what it needs to encrypt the archive', () => {
    // Without it the Archive resource fails to create, or stores nothing.
    const statements = flat(keyStatements(template, 'EventRouterKey')).filter((s: any) => s.Principal?.Service === 'events.amazonaws.com');
    const archive = statements.find(
      (s: any) =>
        s.Condition?.StringEquals?.['kms:EncryptionContext:aws:events:event-bus:arn'] === BUS_ARN &&
        s.Condition.StringEquals['aws:SourceArn'] === undefined,
    );
    expect(archive.Action).toEqual(expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey', 'kms:ReEncrypt*']));
    expect(statements.some((s: any) => s.Action === 'kms:DescribeKey' || s.Action.includes?.('kms:DescribeKey'))).toBe(true);
  });

  test('every statement letting a service encrypt or decrypt carries a condition', () => {
    const unscoped = keyStatements(template, 'EventRouterKey').filter(
      (s) =>
        s.Principal?.Service !== undefined && [s.Action].flat().some((a: string) => a !== 'kms:DescribeKey') && s.Condition === undefined,
    );
    expect(unscoped).toEqual([]);
  });
});

describe('event bus', () => {
  test('is named loan-events, encrypted with the key, with a bus-level dead-letter queue', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.hasResourceProperties('AWS::Events::EventBus', {
      Name: 'loan-events',
      KmsKeyIdentifier: keyArn,
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(template, 'AWS::SQS::Queue', 'EventRouterDeadLetterQueue'), 'Arn'] } },
    });
  });

  test('the bus dead-letter queue has a key of its own, keeps 14 days, and accepts only this bus over TLS', () => {
    // It receives events that failed because of the bus key, so it must not need that key.
    const queue = resourceById(template, 'AWS::SQS::Queue', 'EventRouterDeadLetterQueue');
    const deadLetterKey = logicalId(template, 'AWS::KMS::Key', 'EventRouterDeadLetterKey');
    expect(queue).toEqual({
      KmsMasterKeyId: { 'Fn::GetAtt': [deadLetterKey, 'Arn'] },
      KmsDataKeyReusePeriodSeconds: 300,
      MessageRetentionPeriod: 1209600,
      RedriveAllowPolicy: { redrivePermission: 'denyAll' },
    });
    expect(deadLetterKey).not.toBe(keyId);
    const events = flat(keyStatements(template, 'EventRouterDeadLetterKey')).filter(
      (s: any) => s.Principal?.Service === 'events.amazonaws.com',
    );
    expect(events).toEqual([
      expect.objectContaining({
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Condition: { StringEquals: { 'aws:SourceArn': BUS_ARN, 'aws:SourceAccount': '<AccountId>' } },
      }),
    ]);
    const [, policy] = resourcesOf(template, 'AWS::SQS::QueuePolicy').filter(([id]) =>
      id.startsWith('EventRouterDeadLetterQueuePolicy'),
    )[0]!;
    const statements = flat(policy.PolicyDocument.Statement);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Condition: { ArnEquals: { 'aws:SourceArn': BUS_ARN } },
      }),
    );
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
  });

  test('archives every event, encrypted with the key, for 365 days by default', () => {
    const archive = flat(resourceById(template, 'AWS::Events::Archive', 'EventRouterArchive'));
    expect(archive.SourceArn).toBe(BUS_ARN);
    expect(archive.EventPattern).toBeUndefined(); // no pattern: every event, from any account
    expect(archive.RetentionDays).toBe(365);
    expect(resourceById(template, 'AWS::Events::Archive', 'EventRouterArchive').KmsKeyIdentifier).toEqual(keyArn);
  });

  test('archive retention comes from archiveRetention', () => {
    const { template: t } = buildRouter({ archiveRetention: Duration.days(30) });
    t.hasResourceProperties('AWS::Events::Archive', { RetentionDays: 30 });
  });

  test('the schema registry holds one draft-4 schema per catalog event type', () => {
    template.hasResourceProperties('AWS::EventSchemas::Registry', { RegistryName: 'loan-events-schemas' });
    const schemas = resourcesOf(template, 'AWS::EventSchemas::Schema').map(([, p]) => p);
    expect(schemas.map((s) => s.SchemaName).sort()).toEqual(loanCatalog.events.map((e) => `${e.source}@${e.detailType}`).sort());
    for (const s of schemas) {
      expect(s.Type).toBe('JSONSchemaDraft4');
      const content = JSON.parse(s.Content);
      expect(content.$schema).toBe('http://json-schema.org/draft-04/schema#');
      expect(content.properties.detail.properties).toHaveProperty('metadata');
      expect(content.properties.detail.properties).toHaveProperty('data');
      expect(content.properties.detail.$schema).toBeUndefined();
    }
  });
});

describe('publisher roles', () => {
  test('one role per same-account catalog publisher, with a readable logical id, assumable only by principals tagged with its name', () => {
    expect(Object.keys(stack.router.publisherRoles)).toEqual(['loan-intake']);
    const role = flat(resourceById(template, 'AWS::IAM::Role', 'EventRouterLoanIntakePublisherRole'));
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { AWS: 'arn:<Partition>:iam::<AccountId>:root' },
        Condition: { StringEquals: { 'aws:PrincipalTag/event-router:publisher': 'loan-intake' } },
      },
    ]);
    expect(role.MaxSessionDuration).toBe(3600);
  });

  test('publisherPrincipals names who may assume a publisher role, in this account or another', () => {
    const principals = ['arn:aws:iam::123456789012:role/Intake', 'arn:aws:iam::210987654321:role/ci/*'];
    const { template: t } = buildRouter({ publisherPrincipals: { 'loan-intake': principals } });
    const trust = flat(resourceById(t, 'AWS::IAM::Role', 'EventRouterLoanIntakePublisherRole').AssumeRolePolicyDocument.Statement);
    // One statement per account, each confined to the named principals.
    expect(trust).toEqual(
      ['123456789012', '210987654321'].map((account) => ({
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { AWS: `arn:<Partition>:iam::${account}:root` },
        Condition: { ArnLike: { 'aws:PrincipalArn': principals } },
      })),
    );
  });

  test.each([
    [
      { 'loan-intak': ['arn:aws:iam::123456789012:role/Intake'] },
      "'publisherPrincipals' names 'loan-intak', which is not a same-account publisher of the catalog (known: loan-intake)",
    ],
    [{ 'loan-intake': [] }, "'publisherPrincipals' of 'loan-intake' is empty: list at least one principal ARN"],
    [
      { 'loan-intake': ['arn:aws:iam::*:role/Intake'] },
      "'publisherPrincipals' of 'loan-intake' must hold IAM role or user ARNs with an account id (given 'arn:aws:iam::*:role/Intake')",
    ],
    [{ 'loan-intake': ['*'] }, "'publisherPrincipals' of 'loan-intake' must hold IAM role or user ARNs with an account id (given '*')"],
  ])('publisherPrincipals %j fails synthesis', (publisherPrincipals, message) => {
    expect(() => buildStack({ publisherPrincipals })).toThrow(message);
  });

  test('publisherTrust replaces the account-root trust', () => {
    const { template: t } = buildRouter({ publisherTrust: new ArnPrincipal('arn:aws:iam::123456789012:role/intake-service') });
    expect(resourceById(t, 'AWS::IAM::Role', 'EventRouterLoanIntakePublisherRole').AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:role/intake-service' } },
    ]);
  });

  test('may PutEvents on this bus only, with the catalog source and detail-types as conditions', () => {
    const [, policy] = resourcesOf(template, 'AWS::IAM::Policy').filter(([id]) => id.startsWith('EventRouterLoanIntakePublisherRole'))[0]!;
    expect(flat(policy.PolicyDocument.Statement)).toEqual([
      {
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: BUS_ARN,
        Condition: {
          'ForAllValues:StringEquals': { 'events:source': 'com.example.loans.intake', 'events:detail-type': ['LoanApplicationSubmitted'] },
          Null: { 'events:source': 'false', 'events:detail-type': 'false' },
        },
      },
    ]);
  });

  test("no role anywhere has an AWS managed policy; the only managed policies are the publishers' permissions boundaries", () => {
    for (const [, role] of resourcesOf(template, 'AWS::IAM::Role')) expect(role.ManagedPolicyArns).toBeUndefined();
    const sameAccount = loanCatalog.publishers.filter((p) => p.account === undefined);
    template.resourceCountIs('AWS::IAM::ManagedPolicy', sameAccount.length);
    for (const p of sameAccount) {
      const role = resourceById(template, 'AWS::IAM::Role', `EventRouter${pascalCase(p.name)}PublisherRole`);
      expect(role.RoleName).toBe(`LoanEvents-pub-${p.name}`);
      expect(role.PermissionsBoundary).toEqual({
        Ref: logicalId(template, 'AWS::IAM::ManagedPolicy', `EventRouter${pascalCase(p.name)}PublishBoundary`),
      });
    }
  });

  test("a publisher's permissions boundary caps PutEvents at its catalog entry and leaves every other action to its policies", () => {
    const boundary = flat(resourceById(template, 'AWS::IAM::ManagedPolicy', 'EventRouterLoanIntakePublishBoundary'));
    expect(boundary.PolicyDocument.Statement).toEqual([
      { Sid: 'EverythingButPutEvents', Effect: 'Allow', NotAction: 'events:PutEvents', Resource: '*' },
      {
        Sid: 'CatalogPutEvents0ComExampleLoansIntake',
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: BUS_ARN,
        Condition: {
          'ForAllValues:StringEquals': { 'events:source': 'com.example.loans.intake', 'events:detail-type': ['LoanApplicationSubmitted'] },
          Null: { 'events:source': 'false', 'events:detail-type': 'false' },
        },
      },
    ]);
  });

  test('no identity policy grants events:PutEvents without source and detail-type conditions', () => {
    for (const [, policy] of resourcesOf(template, 'AWS::IAM::Policy')) {
      for (const s of policy.PolicyDocument.Statement) {
        if ([s.Action].flat().some((a: string) => a.startsWith('events:'))) {
          expect(flat(s.Resource)).toBe(BUS_ARN);
          expect(Object.keys(s.Condition['ForAllValues:StringEquals']).sort()).toEqual(['events:detail-type', 'events:source']);
          expect(s.Condition.Null).toEqual({ 'events:source': 'false', 'events:detail-type': 'false' });
        }
      }
    }
  });

  test('gotcha: no statement tests the multivalued events:source or events:detail-type with a single-valued operator', () => {
    // IAM never matches a plain StringEquals or StringNotEquals on an ArrayOfString key: such an
    // Allow grants nothing and such a Deny never fires.
    const policies = [...resourcesOf(template, 'AWS::IAM::Policy').map(([, p]) => p.PolicyDocument), busPolicy(template)];
    const offending: string[] = [];
    const visit = (v: unknown): void => {
      if (Array.isArray(v)) {
        v.forEach(visit);
        return;
      }
      if (v === null || typeof v !== 'object') return;
      const o = v as Record<string, unknown>;
      if (o.Condition && typeof o.Condition === 'object') {
        for (const [op, keys] of Object.entries(o.Condition as Record<string, object>)) {
          for (const key of Object.keys(keys)) {
            if (/^events:(source|detail-type)$/.test(key) && !/^For(AllValues|AnyValue):/.test(op) && op !== 'Null')
              offending.push(`${String(o.Sid)}: ${op} ${key}`);
          }
        }
      }
      Object.values(o).forEach(visit);
    };
    visit(policies);
    expect(JSON.stringify(policies)).toContain('events:source');
    expect(offending).toEqual([]);
  });
});

describe('bus policy', () => {
  const policy = flat(busPolicy(template));

  test('denies PutEvents to every principal but the app-named publisher and consumer roles, sparing AWS services', () => {
    const deny = busPolicy(template).DenyPutEventsFromUnlistedPrincipals!;
    expect(deny).toMatchObject({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 'events:PutEvents' });
    expect(flat(deny.Resource)).toBe(BUS_ARN);
    // Archive replays are put by EventBridge itself, which a Principal * deny would block.
    expect(deny.Condition.Bool).toEqual({ 'aws:PrincipalIsAWSService': 'false' });
    // Patterns, not one ARN per role: the policy does not grow with the catalog.
    expect(flat(deny.Condition.ArnNotLike['aws:PrincipalArn'])).toEqual([
      'arn:<Partition>:iam::<AccountId>:role/LoanEvents-pub-*',
      'arn:<Partition>:iam::<AccountId>:role/LoanEvents-*-handler',
    ]);
  });

  test('names no consumer: consumers are recognised by the naming policy, and bounded by their own stacks', () => {
    const text = JSON.stringify(busPolicy(template));
    for (const c of loanCatalog.consumers) expect(text).not.toContain(`LoanEvents-${c.name}`);
  });

  test('a consumer that publishes nothing has a boundary that allows no PutEvents', () => {
    for (const c of loanCatalog.consumers.filter((x) => x.publishes.length === 0)) {
      const t = consumers[c.name]!;
      const boundary = resourceById(t, 'AWS::IAM::ManagedPolicy', `${pascalCase(c.name)}PublishBoundary`);
      expect(boundary.PolicyDocument.Statement).toEqual([
        { Sid: 'EverythingButPutEvents', Effect: 'Allow', NotAction: 'events:PutEvents', Resource: '*' },
      ]);
    }
  });

  test('denies creating or changing rules and targets on the bus to all but the CDK deployment role', () => {
    const deny = policy.DenySubscribingToAllButDeploymentRoles;
    expect(deny.Effect).toBe('Deny');
    expect(deny.Principal).toEqual({ AWS: '*' });
    expect(deny.Action).toEqual([...SUBSCRIBE_ACTIONS, 'events:TagResource', 'events:UntagResource']);
    expect(deny.Resource).toBe('arn:<Partition>:events:<Region>:<AccountId>:rule/loan-events/*');
    expect(deny.Condition).toEqual({
      ArnNotLike: {
        'aws:PrincipalArn': [
          { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/cdk-hnb659fds-cfn-exec-role-${AWS::AccountId}-${AWS::Region}' },
        ],
      },
      Bool: { 'aws:PrincipalIsAWSService': 'false' },
    });
  });

  test('deploymentRoleArns and ruleManagerArns replace the default rule managers', () => {
    const { template: t } = buildRouter({
      deploymentRoleArns: ['arn:aws:iam::123456789012:role/deployer'],
      ruleManagerArns: ['arn:aws:iam::123456789012:role/operator'],
    });
    expect(busPolicy(t).DenySubscribingToAllButDeploymentRoles!.Condition.ArnNotLike['aws:PrincipalArn']).toEqual([
      'arn:aws:iam::123456789012:role/deployer',
      'arn:aws:iam::123456789012:role/operator',
    ]);
  });

  /** The example with an operator role, built once for the two tests that read it. */
  let withOperator: ReturnType<typeof buildRouter> | undefined;
  const builtWithOperator = () => (withOperator ??= buildRouter({ operatorRoleArns: ['arn:aws:iam::123456789012:role/operator'] }));

  test('operatorRoleArns may manage rules too', () => {
    const { template: t } = builtWithOperator();
    expect(busPolicy(t).DenySubscribingToAllButDeploymentRoles!.Condition.ArnNotLike['aws:PrincipalArn']).toContain(
      'arn:aws:iam::123456789012:role/operator',
    );
  });

  test('the management guard is in the template metadata: a Deny of every bus, archive, replay and rule management action to all but the deployment and operator roles', () => {
    const { router } = builtWithOperator();
    const guard = flat(router.resolve(router.templateOptions.metadata?.EventRouterManagementGuard));
    expect(guard.Statement).toHaveLength(2);
    const [deny, permissions] = guard.Statement;
    expect(deny.Effect).toBe('Deny');
    expect(deny.Action).toEqual(expect.arrayContaining(['events:DeleteEventBus', 'events:StartReplay', 'events:PutRule']));
    expect(deny.Resource).toEqual(expect.arrayContaining([BUS_ARN, 'arn:<Partition>:events:<Region>:<AccountId>:archive/*']));
    // No resource-level permissions for these two: denied on "*".
    expect(permissions).toMatchObject({ Effect: 'Deny', Action: ['events:PutPermission', 'events:RemovePermission'], Resource: '*' });
    expect(permissions.Condition).toEqual(deny.Condition);
    expect(deny.Condition.ArnNotLike['aws:PrincipalArn']).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/cdk-hnb659fds-cfn-exec-role-${AWS::AccountId}-${AWS::Region}' },
      'arn:aws:iam::123456789012:role/operator',
    ]);
  });

  test('has no Allow statement for a same-account catalog', () => {
    expect(Object.values(policy).filter((s: any) => s.Effect !== 'Deny')).toEqual([]);
  });
});

describe('a publisher of several sources', () => {
  // GIVEN a same-account publisher of two partner detail-types and one audit detail-type.
  const catalog = defineCatalog({
    events: [ExternalSubmitted, ExternalWithdrawn, Audited],
    publishers: [
      definePublisher({
        name: 'gateway',
        description: 'Publishes for partners and audit.',
        publishes: [ExternalSubmitted, Audited, ExternalWithdrawn],
      }),
    ],
    consumers: [],
  });
  const { template: t } = buildStack({ catalog }, 'MultiSource');

  test('gets one IAM statement per source, so source and detail-type pairs stay exact', () => {
    const [, policy] = resourcesOf(t, 'AWS::IAM::Policy').filter(([id]) => id.startsWith('EventRouterGatewayPublisherRole'))[0]!;
    expect(policy.PolicyDocument.Statement.map((s: any) => s.Condition['ForAllValues:StringEquals'])).toEqual([
      { 'events:source': 'com.partner.loans', 'events:detail-type': ['PartnerApplicationSubmitted', 'PartnerApplicationWithdrawn'] },
      { 'events:source': 'com.example.audit', 'events:detail-type': ['ApplicationAudited'] },
    ]);
  });

  test('gets one boundary statement per source, and no statement of its own in the bus policy', () => {
    const boundary = resourceById(t, 'AWS::IAM::ManagedPolicy', 'EventRouterGatewayPublishBoundary');
    expect(boundary.PolicyDocument.Statement.slice(1).map((s: any) => s.Condition['ForAllValues:StringEquals'])).toEqual([
      { 'events:source': 'com.partner.loans', 'events:detail-type': ['PartnerApplicationSubmitted', 'PartnerApplicationWithdrawn'] },
      { 'events:source': 'com.example.audit', 'events:detail-type': ['ApplicationAudited'] },
    ]);
    expect(JSON.stringify(busPolicy(t))).not.toContain('Gateway');
  });
});

describe('publishers in other accounts', () => {
  const {
    router: xStack,
    template: xTemplate,
    consumers: xConsumers,
  } = buildStack({ catalog: crossAccountCatalog, handlersDir: fixtureHandlers }, 'CrossAccount');
  const xPolicy = flat(busPolicy(xTemplate));

  test('get a bus-policy Allow with the same source and detail-type conditions, and no role', () => {
    expect(xStack.router.publisherRoles).toEqual({});
    expect(xPolicy.AllowPutEventsFromPartnerBroker0).toEqual({
      Sid: 'AllowPutEventsFromPartnerBroker0',
      Effect: 'Allow',
      Principal: { AWS: `arn:<Partition>:iam::${partnerAccount}:root` },
      Action: 'events:PutEvents',
      Resource: BUS_ARN,
      Condition: {
        'ForAllValues:StringEquals': {
          'events:source': 'com.partner.loans',
          'events:detail-type': ['PartnerApplicationSubmitted', 'PartnerApplicationWithdrawn'],
        },
        Null: { 'events:source': 'false', 'events:detail-type': 'false' },
      },
    });
  });

  test('are in the allow list by account and bound to their own events by the deny statements', () => {
    const accountPattern = `arn:<Partition>:iam::${partnerAccount}:*`;
    expect(xPolicy.DenyPutEventsFromUnlistedPrincipals.Condition.ArnNotLike['aws:PrincipalArn']).toContain(accountPattern);
    expect(xPolicy.DenyOtherSourcesFromPartnerBroker.Condition).toEqual({
      ArnLike: { 'aws:PrincipalArn': accountPattern },
      'ForAnyValue:StringNotEquals': { 'events:source': ['com.partner.loans'] },
    });
  });

  test('the consumer rule carries the catalog $or pattern unchanged', () => {
    xConsumers.auditor!.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        $or: [
          { source: ['com.partner.loans'], 'detail-type': ['PartnerApplicationSubmitted'] },
          {
            source: ['com.partner.loans'],
            'detail-type': ['PartnerApplicationWithdrawn'],
            detail: { data: { applicationId: [{ prefix: 'app-' }] } },
          },
        ],
      },
      EventBusName: 'loan-events',
    });
  });
});
