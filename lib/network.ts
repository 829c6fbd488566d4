/**
 * The `isolated` deployment: consumer functions run in private subnets with no route out of the
 * VPC (no internet gateway, no NAT), and reach AWS only through VPC endpoints.
 *
 * One network stack per account and region holds the VPC, the endpoints and their security
 * group, and publishes the VPC, subnet and security-group ids as SSM parameters under
 * `/<App>/network/`. Consumer stacks read those parameters when CloudFormation deploys them
 * (`AWS::SSM::Parameter::Value<…>` template parameters): no export, no lookup at synth, no
 * dependency in the cloud assembly, so a consumer stack still deploys alone and the router's
 * template never changes for it. Each function gets a security group of its own that allows
 * nothing in and only HTTPS out.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html
 * @see https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html
 * @see https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-ddb.html
 */
import { Fn, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { defaultDeploymentRoleArn, managedKey } from './keys';
import { AppDefinition } from '../sdk/catalog';
import { acknowledgeDedicatedRoleInlinePolicy } from './compliance';
import { encryptedLogGroup } from './defaults';

/**
 * The services the functions may reach, each through an interface endpoint with private DNS.
 * The handlers call EventBridge (publishing) and DynamoDB (idempotency and state); SQS, KMS,
 * CloudWatch Logs and STS are there for handlers that call them (sending to a queue, encrypting
 * with KMS directly, writing logs with the SDK, assuming a role). Lambda itself polls the buffer
 * queue and ships the function's logs outside the VPC.
 */
export const ISOLATED_INTERFACE_ENDPOINTS = {
  EventBridge: ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE,
  Sqs: ec2.InterfaceVpcEndpointAwsService.SQS,
  Kms: ec2.InterfaceVpcEndpointAwsService.KMS,
  CloudWatchLogs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
  Sts: ec2.InterfaceVpcEndpointAwsService.STS,
} as const;

/** @default CIDR of the isolated VPC. */
export const DEFAULT_ISOLATED_VPC_CIDR = '10.64.0.0/16';

/** Names of the SSM parameters a network stack publishes and consumer stacks read. */
export function networkParameterNames(app: AppDefinition) {
  const root = `/${app.name}/network`;
  return {
    vpcId: `${root}/vpc-id`,
    subnetIds: `${root}/isolated-subnet-ids`,
    endpointSecurityGroupId: `${root}/endpoint-security-group-id`,
  };
}

/**
 * Stack id of the network stack of an account and region: `<App>-Network` beside the router,
 * `<App>-Network-<account>[-<region>]` for consumers in another account (and another region).
 */
export function networkStackName(app: AppDefinition, account?: string, region?: string): string {
  if (account === undefined || account === app.router?.account) return `${app.name}-Network`;
  return region === undefined || region === app.router?.region
    ? `${app.name}-Network-${account}`
    : `${app.name}-Network-${account}-${region}`;
}

export interface NetworkStackProps extends StackProps {
  readonly app: AppDefinition;
  /** Key administrators (context `keyAdminArns`). @default - the deployment role and the root user */
  readonly keyAdminArns?: readonly string[];
  /**
   * CIDR of the VPC.
   * @default '10.64.0.0/16'
   */
  readonly cidr?: string;
  /**
   * Availability zones the subnets (and every interface endpoint) span. Lambda recommends at least two.
   * @default 2
   */
  readonly maxAzs?: number;
}

/** The isolated VPC of one account and region, with its endpoints and flow logs. */
export class NetworkStack extends Stack {
  private readonly azCount: number;
  public readonly vpc: ec2.Vpc;
  public readonly cidr: string;
  /** Admits HTTPS from inside the VPC to the interface endpoints; nothing else. */
  public readonly endpointSecurityGroup: ec2.SecurityGroup;
  public readonly interfaceEndpoints: Record<keyof typeof ISOLATED_INTERFACE_ENDPOINTS, ec2.InterfaceVpcEndpoint>;
  public readonly dynamoDbEndpoint: ec2.GatewayVpcEndpoint;
  /** Encrypts the flow-log group. */
  public readonly encryptionKey: kms.Key;
  public readonly flowLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    const app = props.app;
    const maxAzs = props.maxAzs ?? 2;
    // A literal, not the VPC's CidrBlock attribute: the security group rule is then readable by
    // reviewers and by the compliance packs' rules.
    this.cidr = props.cidr ?? DEFAULT_ISOLATED_VPC_CIDR;
    if (!Number.isInteger(maxAzs) || maxAzs < 1 || maxAzs > 6) {
      throw new Error(`'maxAzs' must be an integer between 1 and 6 inclusive (given ${maxAzs})`);
    }
    this.azCount = maxAzs;
    // Administered by name like every key of the app; CloudWatch Logs is admitted for the flow-log group only.
    this.encryptionKey = managedKey(this, 'Key', {
      description: `Encrypts the ${app.name} VPC flow logs`,
      alias: `${app.name}-network`,
      administrators: props.keyAdminArns,
      deployers: [defaultDeploymentRoleArn(this)],
      services: ['logs'],
    });
    this.flowLogGroup = encryptedLogGroup(this, 'FlowLogGroup', {
      encryptionKey: this.encryptionKey,
      logGroupName: `/${app.name}/network/flow-logs`,
    });
    this.flowLogGroup.applyRemovalPolicy(RemovalPolicy.RETAIN);

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(this.cidr),
      maxAzs,
      natGateways: 0,
      // Isolated subnets only: no internet gateway, no NAT, no public IPs.
      subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 }],
      restrictDefaultSecurityGroup: true,
    });
    const flowLog = this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });
    const flowLogRole = flowLog.node.tryFindChild('IAMRole');
    if (flowLogRole) acknowledgeDedicatedRoleInlinePolicy(flowLogRole, 'VPC Flow Logs delivery to the flow-log group');

    this.endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      description: 'Interface endpoints: HTTPS from inside the VPC only',
      allowAllOutbound: false,
    });
    this.endpointSecurityGroup.addIngressRule(ec2.Peer.ipv4(this.cidr), ec2.Port.tcp(443), 'HTTPS from the VPC');

    const subnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    // Only this account's principals may use the endpoints: stolen credentials of another account
    // cannot carry data out through them.
    const ownPrincipals = new iam.PolicyStatement({
      sid: 'OwnAccountPrincipalsOnly',
      principals: [new iam.AnyPrincipal()],
      actions: ['*'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:PrincipalAccount': this.account } },
    });
    const endpoints: Partial<Record<keyof typeof ISOLATED_INTERFACE_ENDPOINTS, ec2.InterfaceVpcEndpoint>> = {};
    for (const [name, service] of Object.entries(ISOLATED_INTERFACE_ENDPOINTS) as [
      keyof typeof ISOLATED_INTERFACE_ENDPOINTS,
      ec2.InterfaceVpcEndpointAwsService,
    ][]) {
      const endpoint = this.vpc.addInterfaceEndpoint(name, {
        service,
        subnets,
        privateDnsEnabled: true,
        securityGroups: [this.endpointSecurityGroup],
        open: false,
      });
      endpoint.addToPolicy(ownPrincipals);
      endpoints[name] = endpoint;
    }
    this.interfaceEndpoints = endpoints as Record<keyof typeof ISOLATED_INTERFACE_ENDPOINTS, ec2.InterfaceVpcEndpoint>;

    // The gateway endpoint reaches only this app's tables in this account.
    this.dynamoDbEndpoint = this.vpc.addGatewayEndpoint('DynamoDb', {
      service: ec2.GatewayVpcEndpointAwsService.DYNAMODB,
      subnets: [subnets],
    });
    this.dynamoDbEndpoint.addToPolicy(
      new iam.PolicyStatement({
        sid: 'OwnAppTablesOnly',
        principals: [new iam.AnyPrincipal()],
        actions: ['dynamodb:*'],
        resources: [this.formatArn({ service: 'dynamodb', resource: 'table', resourceName: `${app.name}-*` })],
        conditions: { StringEquals: { 'aws:PrincipalAccount': this.account } },
      }),
    );

    const parameters = networkParameterNames(app);
    new ssm.StringParameter(this, 'VpcIdParameter', {
      parameterName: parameters.vpcId,
      stringValue: this.vpc.vpcId,
      description: `VPC of the ${app.name} isolated functions`,
    });
    new ssm.StringListParameter(this, 'SubnetIdsParameter', {
      parameterName: parameters.subnetIds,
      stringListValue: this.vpc.isolatedSubnets.map((s) => s.subnetId),
      description: `Isolated subnets of the ${app.name} functions`,
    });
    new ssm.StringParameter(this, 'EndpointSecurityGroupIdParameter', {
      parameterName: parameters.endpointSecurityGroupId,
      stringValue: this.endpointSecurityGroup.securityGroupId,
      description: `Security group of the ${app.name} interface endpoints`,
    });
  }

  /**
   * The first `maxAzs` zones of the Region, resolved by CloudFormation (`Fn::GetAZs`) even when
   * the stack has an account and Region: the default would look them up at synth time, which
   * needs credentials, and write zone names into the template.
   */
  public override get availabilityZones(): string[] {
    return Array.from({ length: this.azCount }, (_, i) => Fn.select(i, Fn.getAzs()));
  }
}

/** Where a function runs in the isolated deployment: subnets and its security groups. */
export interface FunctionPlacement {
  readonly subnetIds: string[];
  readonly securityGroupIds: string[];
}

export interface IsolatedPlacementProps {
  readonly app: AppDefinition;
  /** What the security group is for, in its description. */
  readonly owner: string;
  /**
   * The DynamoDB managed prefix list of the region (`com.amazonaws.<region>.dynamodb`), so the
   * security group allows HTTPS to DynamoDB's gateway endpoint and nowhere else outside the VPC.
   * Find it with `aws ec2 describe-managed-prefix-lists --filters Name=prefix-list-name,Values=com.amazonaws.<region>.dynamodb`.
   * @default - HTTPS to any address; the subnets' route tables have no route out of the VPC but the DynamoDB gateway endpoint's
   */
  readonly dynamoDbPrefixListId?: string;
}

/**
 * A function's security group in the isolated VPC (read from the network stack's SSM parameters
 * at deploy time): no ingress; egress HTTPS to the interface endpoints and to DynamoDB.
 */
export class IsolatedPlacement extends Construct implements FunctionPlacement {
  public readonly subnetIds: string[];
  public readonly securityGroupIds: string[];
  public readonly securityGroup: ec2.CfnSecurityGroup;

  constructor(scope: Construct, id: string, props: IsolatedPlacementProps) {
    super(scope, id);
    const parameters = networkParameterNames(props.app);
    if (props.dynamoDbPrefixListId !== undefined && !/^pl-[0-9a-f]{8,17}$/.test(props.dynamoDbPrefixListId)) {
      throw new Error(`'dynamoDbPrefixListId' must be a prefix list id such as pl-02cd2c6b (given '${props.dynamoDbPrefixListId}')`);
    }
    const vpcId = ssm.StringParameter.valueForTypedStringParameterV2(this, parameters.vpcId, ssm.ParameterValueType.AWS_EC2_VPC_ID);
    this.subnetIds = ssm.StringListParameter.valueForTypedListParameter(
      this,
      parameters.subnetIds,
      ssm.ParameterValueType.AWS_EC2_SUBNET_ID,
    );
    const endpointSecurityGroupId = ssm.StringParameter.valueForStringParameter(this, parameters.endpointSecurityGroupId);
    const toDynamoDb: ec2.CfnSecurityGroup.EgressProperty =
      props.dynamoDbPrefixListId === undefined
        ? {
            ipProtocol: 'tcp',
            fromPort: 443,
            toPort: 443,
            cidrIp: '0.0.0.0/0',
            description: 'HTTPS; only the DynamoDB gateway endpoint is routable',
          }
        : {
            ipProtocol: 'tcp',
            fromPort: 443,
            toPort: 443,
            destinationPrefixListId: props.dynamoDbPrefixListId,
            description: 'HTTPS to DynamoDB',
          };
    this.securityGroup = new ec2.CfnSecurityGroup(this, 'SecurityGroup', {
      vpcId,
      groupDescription: `${props.owner}: no ingress, HTTPS to the VPC endpoints only`,
      securityGroupEgress: [
        {
          ipProtocol: 'tcp',
          fromPort: 443,
          toPort: 443,
          destinationSecurityGroupId: endpointSecurityGroupId,
          description: 'HTTPS to the interface endpoints',
        },
        toDynamoDb,
      ],
    });
    this.securityGroupIds = [this.securityGroup.attrGroupId];
  }
}
