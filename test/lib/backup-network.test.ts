/**
 * The state tables' backup plan and locked vault, and the `isolated` deployment: functions in a
 * VPC with no route out, reaching AWS through VPC endpoints, with the stacks still independent.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { app as loanApp } from '../../catalog';
import { TableBackup } from '../../lib/backup';
import { propsFromContext } from '../../lib/context';
import { ISOLATED_INTERFACE_ENDPOINTS, networkParameterNames, networkStackName } from '../../lib/network';
import { buildStacks } from '../../lib/stacks';
import { defineApp, defineCatalog, names } from '../../sdk/catalog';
import { CUSTOMER_ACCOUNT, ordersApp, ordersHandlers } from '../fixtures/orders/catalog';
import { TEST_APP } from '../support/cdk';
import { buildApp, consumerTemplate, resourcesOf } from './helpers';

const catalog = loanApp.catalog;
const fromContext = (context: Record<string, unknown>) => propsFromContext(new App({ context }).node);
const only = <T>(items: T[], what: string): T => {
  if (items.length !== 1) throw new Error(`expected one ${what}, found ${items.length}`);
  return items[0] as T;
};

/**
 * The example with its first consumer only, for a test that reads that consumer's stack under some
 * props: a consumer's stack is built from its own catalog entry and the app's props, not from the
 * other consumers (test/lib/independence.test.ts), so this is its stack in the whole app, built
 * and synthesized with two stacks instead of the example's six.
 */
const firstConsumerOnly = defineApp({ ...loanApp, catalog: defineCatalog({ ...catalog, consumers: catalog.consumers.slice(0, 1) }) });

/** The example as deployed by default, built once for both halves: no test changes it. */
const example = buildApp();

describe('backups of the consumers state', () => {
  // GIVEN the example as deployed by default
  const built = example;

  test.each(catalog.consumers.map((c) => [c.name, c] as const))(
    '%s: a daily plan backs up every table of the stack into its locked vault',
    (name, consumer) => {
      const template = consumerTemplate(built, name);
      const tables = resourcesOf(template, 'AWS::DynamoDB::Table');
      // THEN the idempotency table and, when the catalog asks for one, the state table
      expect(tables.map(([, t]) => t.TableName).sort()).toEqual(
        [`LoanEvents-${name}-idempotency`, ...(consumer.stateTable ? [`LoanEvents-${name}-state`] : [])].sort(),
      );
      const [vaultId, vault] = only(resourcesOf(template, 'AWS::Backup::BackupVault'), 'vault');
      expect(vault.BackupVaultName).toBe(`LoanEvents-${name}-backup`);
      // Compliance mode: a lock date (ChangeableForDays) makes the lock immutable after the cooling-off period.
      expect(vault.LockConfiguration).toEqual({ MinRetentionDays: 35, ChangeableForDays: 3 });
      expect(template.findResources('AWS::Backup::BackupVault')[vaultId]?.DeletionPolicy).toBe('Retain');
      const deny = vault.AccessPolicy.Statement.find((s: any) => s.Effect === 'Deny');
      expect(deny).toMatchObject({ Principal: { AWS: '*' } });
      expect([deny.Action].flat()).toEqual(expect.arrayContaining(['backup:DeleteRecoveryPoint', 'backup:UpdateRecoveryPointLifecycle']));

      const [, plan] = only(resourcesOf(template, 'AWS::Backup::BackupPlan'), 'plan');
      const rule = only(plan.BackupPlan.BackupPlanRule as any[], 'plan rule');
      expect(rule.TargetBackupVault).toEqual({ 'Fn::GetAtt': [vaultId, 'BackupVaultName'] });
      expect(rule.Lifecycle).toEqual({ DeleteAfterDays: 35 });

      const [, selection] = only(resourcesOf(template, 'AWS::Backup::BackupSelection'), 'selection');
      const selected = JSON.stringify(selection.BackupSelection.Resources);
      for (const [tableId] of tables) expect(selected).toContain(tableId);
      expect(selection.BackupSelection.Resources).toHaveLength(tables.length);
    },
  );

  test('the vault key is not the data key: backups outlive a disabled or deleted data key', () => {
    for (const c of catalog.consumers) {
      const template = consumerTemplate(built, c.name);
      const [, vault] = only(resourcesOf(template, 'AWS::Backup::BackupVault'), 'vault');
      const [, table] = resourcesOf(template, 'AWS::DynamoDB::Table')[0] as [string, Record<string, any>];
      expect(vault.EncryptionKeyArn['Fn::GetAtt'][0]).toMatch(/^BackupKey/);
      expect(vault.EncryptionKeyArn).not.toEqual(table.SSESpecification.KMSMasterKeyId);
    }
  });

  test('the backup role is assumable by AWS Backup of this account only', () => {
    const template = consumerTemplate(built, catalog.consumers[0]!.name);
    const [, role] = only(
      resourcesOf(template, 'AWS::IAM::Role').filter(([id]) => id.startsWith('BackupRole')),
      'backup role',
    );
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Principal: { Service: 'backup.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      }),
    ]);
  });

  test('the vault key admits the backup role only through AWS Backup, and grants only for AWS resources', () => {
    const name = catalog.consumers[0]!.name;
    const template = consumerTemplate(built, name);
    const [, key] = only(
      resourcesOf(template, 'AWS::KMS::Key').filter(([id]) => id.startsWith('BackupKey')),
      'backup key',
    );
    expect(key.EnableKeyRotation).toBe(true);
    const forRole = (key.KeyPolicy.Statement as any[]).filter((s) =>
      JSON.stringify(s.Principal).includes(`role/LoanEvents-${name}-backup`),
    );
    expect(forRole.map((s) => s.Sid).sort()).toEqual(['AllowBackupRoleGrantsForBackup', 'AllowBackupRoleThroughBackup']);
    for (const s of forRole) {
      expect(s.Condition.StringEquals['kms:ViaService']).toEqual({
        'Fn::Join': ['', ['backup.', { Ref: 'AWS::Region' }, '.amazonaws.com']],
      });
    }
    const grants = forRole.find((s) => s.Sid === 'AllowBackupRoleGrantsForBackup');
    expect(grants.Action).toBe('kms:CreateGrant');
    expect(grants.Condition.Bool).toEqual({ 'kms:GrantIsForAWSResource': 'true' });
    // The role those statements name is the backup role the selection uses.
    const [, role] = only(
      resourcesOf(template, 'AWS::IAM::Role').filter(([id]) => id.startsWith('BackupRole')),
      'backup role',
    );
    expect(role.RoleName).toBe(`LoanEvents-${name}-backup`);
  });

  test('the retention comes from deploy context and sets both the plan and the lock', () => {
    // GIVEN -c backupRetentionDays=400
    const props = fromContext({ backupRetentionDays: '400' });
    expect(props.backupRetention?.toDays()).toBe(400);
    // WHEN
    const template = consumerTemplate(buildApp(firstConsumerOnly, { backupRetention: props.backupRetention }), catalog.consumers[0]!.name);
    // THEN
    const [, vault] = only(resourcesOf(template, 'AWS::Backup::BackupVault'), 'vault');
    const [, plan] = only(resourcesOf(template, 'AWS::Backup::BackupPlan'), 'plan');
    expect(vault.LockConfiguration.MinRetentionDays).toBe(400);
    expect(plan.BackupPlan.BackupPlanRule[0].Lifecycle.DeleteAfterDays).toBe(400);
  });

  test.each(['0', '36501', '7.5', 'forever', ''])('context backupRetentionDays %j fails naming the key and the range', (value) => {
    expect(() => fromContext({ backupRetentionDays: value })).toThrow(
      `Context 'backupRetentionDays' must be a whole number of days between 1 and 36500 (given '${value}')`,
    );
  });

  test('the construct refuses a retention of part of a day and an empty table list', () => {
    const scope = new Stack(new App(), 'S');
    expect(() => new TableBackup(scope, 'A', { tables: [], namePrefix: 'x' })).toThrow(
      "'tables' must name at least one table to back up (given none)",
    );
    expect(() => new TableBackup(scope, 'B', { tables: [], namePrefix: 'x', retention: Duration.hours(36) })).toThrow(
      "'retention' must be a whole number of days between 1 and 36500 inclusive (given 1 day 12 hours)",
    );
  });
});

describe('the isolated deployment (-c isolated=true)', () => {
  // GIVEN the example, by default and isolated
  const plain = example;
  const isolated = buildApp(loanApp, fromContext({ isolated: 'true' }));
  const network = isolated.stacks.networks[''];
  const net = Template.fromStack(network!);
  const parameters = networkParameterNames(loanApp);

  test('by default there is no network stack and no function in a VPC', () => {
    expect(plain.stacks.networks).toEqual({});
    for (const c of catalog.consumers) {
      const [, fn] = only(resourcesOf(consumerTemplate(plain, c.name), 'AWS::Lambda::Function'), 'function');
      expect(fn.VpcConfig).toBeUndefined();
    }
  });

  test('one network stack beside the router, named for the app', () => {
    expect(Object.keys(isolated.stacks.networks)).toEqual(['']);
    expect(network?.stackName).toBe(networkStackName(loanApp));
    expect(network?.stackName).toBe('LoanEvents-Network');
  });

  test('the VPC has isolated subnets only: no internet gateway, no NAT, no public IPs', () => {
    net.resourceCountIs('AWS::EC2::VPC', 1);
    net.resourceCountIs('AWS::EC2::InternetGateway', 0);
    net.resourceCountIs('AWS::EC2::NatGateway', 0);
    net.resourceCountIs('AWS::EC2::EgressOnlyInternetGateway', 0);
    const subnets = resourcesOf(net, 'AWS::EC2::Subnet');
    expect(subnets).toHaveLength(2);
    for (const [, s] of subnets) expect(s.MapPublicIpOnLaunch).toBe(false);
    // Only the DynamoDB gateway endpoint adds routes: no 0.0.0.0/0 route anywhere.
    for (const [, r] of resourcesOf(net, 'AWS::EC2::Route')) expect(r.DestinationCidrBlock).toBeUndefined();
    net.resourceCountIs('AWS::EC2::Route', 0);
  });

  test('interface endpoints for EventBridge, SQS, KMS, CloudWatch Logs and STS, and a gateway endpoint for DynamoDB', () => {
    const endpoints = resourcesOf(net, 'AWS::EC2::VPCEndpoint');
    const service = (e: Record<string, any>) => JSON.stringify(e.ServiceName);
    const iface = endpoints.filter(([, e]) => e.VpcEndpointType === 'Interface');
    expect(iface).toHaveLength(Object.keys(ISOLATED_INTERFACE_ENDPOINTS).length);
    for (const short of ['events', 'sqs', 'kms', 'logs', 'sts']) {
      const [, e] = only(
        iface.filter(([, x]) => service(x).endsWith(`.${short}"]]}`) || service(x).endsWith(`.${short}"`)),
        `${short} endpoint`,
      );
      expect(e.PrivateDnsEnabled).toBe(true);
      expect(e.PolicyDocument.Statement).toEqual([
        expect.objectContaining({ Effect: 'Allow', Condition: { StringEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } } } }),
      ]);
    }
    const [, ddb] = only(
      endpoints.filter(([, e]) => e.VpcEndpointType === 'Gateway'),
      'gateway endpoint',
    );
    expect(service(ddb)).toContain('dynamodb');
    expect(JSON.stringify(ddb.PolicyDocument.Statement[0].Resource)).toContain(':table/LoanEvents-*');
  });

  test('the endpoints admit HTTPS from the VPC and nothing else', () => {
    const [sgId, sg] = only(
      resourcesOf(net, 'AWS::EC2::SecurityGroup').filter(([id]) => id.startsWith('EndpointSecurityGroup')),
      'endpoint security group',
    );
    expect(sg.SecurityGroupIngress).toEqual([
      expect.objectContaining({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: network?.cidr }),
    ]);
    // allowAllOutbound: false renders CDK's placeholder rule that matches no traffic.
    expect(sg.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '255.255.255.255/32' })]);
    for (const [, e] of resourcesOf(net, 'AWS::EC2::VPCEndpoint').filter(([, x]) => x.VpcEndpointType === 'Interface')) {
      expect(e.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [sgId, 'GroupId'] }]);
    }
  });

  test('flow logs of all traffic go to an encrypted log group', () => {
    const [, flow] = only(resourcesOf(net, 'AWS::EC2::FlowLog'), 'flow log');
    expect(flow.TrafficType).toBe('ALL');
    const [, group] = only(resourcesOf(net, 'AWS::Logs::LogGroup'), 'log group');
    expect(group.KmsKeyId).toBeDefined();
  });

  test('the network stack publishes the ids consumer stacks read, under deterministic names', () => {
    const published = resourcesOf(net, 'AWS::SSM::Parameter')
      .map(([, p]) => p.Name)
      .sort();
    expect(published).toEqual(Object.values(parameters).sort());
  });

  test.each(catalog.consumers.map((c) => [c.name] as const))(
    '%s: the function runs in the isolated subnets with a security group that allows only HTTPS out',
    (name) => {
      const template = consumerTemplate(isolated, name);
      const stackParameters = template.toJSON().Parameters as Record<string, { Type: string; Default: string }>;
      const byName = (n: string) =>
        only(
          Object.entries(stackParameters).filter(([, p]) => p.Default === n),
          `parameter ${n}`,
        )[0];
      const [, fn] = only(resourcesOf(template, 'AWS::Lambda::Function'), 'function');
      expect(fn.VpcConfig.SubnetIds).toEqual({ Ref: byName(parameters.subnetIds) });
      expect(stackParameters[byName(parameters.subnetIds)]?.Type).toBe('AWS::SSM::Parameter::Value<List<AWS::EC2::Subnet::Id>>');
      const [sgId, sg] = only(resourcesOf(template, 'AWS::EC2::SecurityGroup'), 'security group');
      expect(fn.VpcConfig.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [sgId, 'GroupId'] }]);
      expect(sg.VpcId).toEqual({ Ref: byName(parameters.vpcId) });
      expect(sg.SecurityGroupIngress).toBeUndefined();
      expect(sg.SecurityGroupEgress.map((r: any) => [r.IpProtocol, r.FromPort, r.ToPort])).toEqual([
        ['tcp', 443, 443],
        ['tcp', 443, 443],
      ]);
      expect(sg.SecurityGroupEgress[0].DestinationSecurityGroupId).toEqual({ Ref: byName(parameters.endpointSecurityGroupId) });
      // Lambda creates the network interfaces with the execution role, which must allow it before the function is created.
      const policies = resourcesOf(template, 'AWS::IAM::Policy').filter(([id]) => id.includes('RoleDefaultPolicy'));
      const statement = only(
        policies.flatMap(([, p]) => p.PolicyDocument.Statement).filter((s: any) => s.Sid === 'ManageOwnNetworkInterfaces'),
        'ENI statement',
      );
      expect(statement.Action).toContain('ec2:CreateNetworkInterface');
      const fnResource = Object.values(template.findResources('AWS::Lambda::Function'))[0] as { DependsOn: string[] };
      expect(fnResource.DependsOn).toEqual(expect.arrayContaining([only(policies, 'role policy')[0]]));
    },
  );

  test('-c dynamoDbPrefixListId narrows the egress to DynamoDB to its prefix list; a malformed id fails', () => {
    const name = catalog.consumers[0]!.name;
    const template = consumerTemplate(
      buildApp(firstConsumerOnly, fromContext({ isolated: 'true', dynamoDbPrefixListId: 'pl-02cd2c6b' })),
      name,
    );
    const [, sg] = only(resourcesOf(template, 'AWS::EC2::SecurityGroup'), 'security group');
    expect(sg.SecurityGroupEgress[1]).toMatchObject({ DestinationPrefixListId: 'pl-02cd2c6b' });
    expect(sg.SecurityGroupEgress[1].CidrIp).toBeUndefined();
    expect(() => buildApp(firstConsumerOnly, { isolated: true, dynamoDbPrefixListId: '0.0.0.0/0' })).toThrow(
      "'dynamoDbPrefixListId' must be a prefix list id such as pl-02cd2c6b (given '0.0.0.0/0')",
    );
  });

  test('independence holds: the router template is the same in both modes, and no stack depends on another', () => {
    expect(isolated.template.toJSON()).toEqual(plain.template.toJSON());
    const assembly = isolated.app.synth();
    for (const artifact of assembly.stacks)
      expect({ stack: artifact.stackName, deps: artifact.dependencies.map((d) => d.id).filter((id) => !id.endsWith('.assets')) }).toEqual({
        stack: artifact.stackName,
        deps: [],
      });
  });

  test('a consumer in another account gets a network stack in its own account', () => {
    const app = new App({ ...TEST_APP, context: { 'aws:cdk:bundling-stacks': [] } });
    const stacks = buildStacks(app, ordersApp, { handlersDir: ordersHandlers, isolated: true });
    const remote = ordersApp.catalog.consumers.filter((c) => c.account === CUSTOMER_ACCOUNT);
    expect(remote.length).toBeGreaterThan(0);
    expect(
      Object.values(stacks.networks)
        .map((s) => [s.stackName, s.account])
        .sort(),
    ).toEqual(
      [
        [networkStackName(ordersApp), ordersApp.router?.account],
        [networkStackName(ordersApp, CUSTOMER_ACCOUNT), CUSTOMER_ACCOUNT],
      ].sort(),
    );
    for (const c of remote) expect(stacks.consumers[c.name]?.account).toBe(CUSTOMER_ACCOUNT);
    expect(names.routerStack(ordersApp)).toBe(stacks.router.stackName);
  });
});
