/**
 * The typed resource model: every stack of a cloud assembly with its resolver, and typed views of
 * the resource types the runtime, the CLI and the tests read. A view's `properties` are resolved
 * for the stack's environment under the caller's naming policy; `raw` keeps the template's
 * references for readers that follow logical ids (the CLI's diagram).
 */
import { ResourceEnv } from './arn';
import { CloudAssembly, StackArtifact } from './cloud-assembly';
import { TemplateError, where } from './errors';
import { asNumber, isRecord, JsonObject, own } from './json';
import { ResolverOptions, StackResolver } from './resolver';
import { CfnResource } from './template';

/** `{ Arn }` blocks (dead-letter configs). */
export interface ArnRef {
  readonly Arn?: string;
}

export interface EventBusProperties {
  readonly Name?: string;
  readonly Description?: string;
  readonly DeadLetterConfig?: ArnRef;
  readonly KmsKeyIdentifier?: string;
  readonly Policy?: JsonObject;
}
export interface TargetProperties {
  readonly Id?: string;
  readonly Arn?: string;
  readonly RoleArn?: string;
  readonly Input?: string;
  readonly InputPath?: string;
  readonly InputTransformer?: { readonly InputPathsMap?: Record<string, string>; readonly InputTemplate?: string };
  readonly RetryPolicy?: { readonly MaximumRetryAttempts?: number; readonly MaximumEventAgeInSeconds?: number };
  readonly DeadLetterConfig?: ArnRef;
  readonly SqsParameters?: { readonly MessageGroupId?: string };
}
export interface RuleProperties {
  readonly Name?: string;
  readonly EventBusName?: string;
  readonly EventPattern?: unknown;
  readonly ScheduleExpression?: string;
  readonly State?: string;
  readonly Description?: string;
  readonly Targets?: readonly TargetProperties[];
}
export interface ArchiveProperties {
  readonly ArchiveName?: string;
  readonly SourceArn?: string;
  readonly EventPattern?: unknown;
  readonly RetentionDays?: number;
  readonly Description?: string;
}
export interface EventBusPolicyProperties {
  readonly EventBusName?: string;
  readonly StatementId?: string;
  readonly Statement?: JsonObject;
  readonly Action?: string;
  readonly Principal?: string;
  readonly Condition?: JsonObject;
}
export interface QueueProperties {
  readonly QueueName?: string;
  readonly FifoQueue?: boolean | string;
  readonly KmsMasterKeyId?: string;
  readonly KmsDataKeyReusePeriodSeconds?: number;
  readonly VisibilityTimeout?: number;
  readonly RedrivePolicy?: JsonObject | string;
  readonly Tags?: unknown;
  readonly [attribute: string]: unknown;
}
export interface QueuePolicyProperties {
  readonly Queues?: readonly string[];
  readonly PolicyDocument?: JsonObject;
}
export interface FunctionProperties {
  readonly FunctionName?: string;
  readonly Handler?: string;
  readonly Runtime?: string;
  readonly Role?: string;
  readonly Code?: { readonly ZipFile?: string; readonly S3Bucket?: string; readonly S3Key?: string };
  readonly Environment?: { readonly Variables?: Record<string, unknown> };
  readonly Timeout?: number;
  readonly MemorySize?: number;
  readonly Architectures?: readonly string[];
}
export interface EventSourceMappingProperties {
  readonly FunctionName?: string;
  readonly EventSourceArn?: string;
  readonly BatchSize?: number;
  readonly MaximumBatchingWindowInSeconds?: number;
  readonly FunctionResponseTypes?: readonly string[];
  readonly ScalingConfig?: { readonly MaximumConcurrency?: number };
  readonly Enabled?: boolean | string;
}
export interface TableProperties {
  readonly TableName?: string;
  readonly [key: string]: unknown;
}
export interface RoleProperties {
  readonly RoleName?: string;
  readonly Path?: string;
  readonly AssumeRolePolicyDocument?: JsonObject;
  readonly Policies?: readonly { readonly PolicyName?: string; readonly PolicyDocument?: JsonObject }[];
  readonly ManagedPolicyArns?: readonly string[];
  readonly PermissionsBoundary?: string;
}
export interface PolicyProperties {
  readonly PolicyName?: string;
  readonly PolicyDocument?: JsonObject;
  readonly Roles?: readonly string[];
}
export interface ManagedPolicyProperties {
  readonly ManagedPolicyName?: string;
  readonly PolicyDocument?: JsonObject;
  readonly Roles?: readonly string[];
}
export interface KeyProperties {
  readonly KeyPolicy?: JsonObject;
  readonly EnableKeyRotation?: boolean;
}
export interface TopicProperties {
  readonly TopicName?: string;
  readonly KmsMasterKeyId?: string;
}
export interface LogGroupProperties {
  readonly LogGroupName?: string;
  readonly RetentionInDays?: number;
  readonly KmsKeyId?: string;
}
export interface AlarmProperties {
  readonly AlarmName?: string;
  readonly MetricName?: string;
  readonly Namespace?: string;
  readonly Threshold?: number;
  readonly AlarmActions?: readonly string[];
}
export interface TrailProperties {
  readonly TrailName?: string;
  readonly S3BucketName?: string;
  readonly CloudWatchLogsLogGroupArn?: string;
  readonly CloudWatchLogsRoleArn?: string;
}

/** The property shapes of the resource types readers ask for by name. */
export interface ResourceTypes {
  'AWS::Events::EventBus': EventBusProperties;
  'AWS::Events::Rule': RuleProperties;
  'AWS::Events::Archive': ArchiveProperties;
  'AWS::Events::EventBusPolicy': EventBusPolicyProperties;
  'AWS::SQS::Queue': QueueProperties;
  'AWS::SQS::QueuePolicy': QueuePolicyProperties;
  'AWS::Lambda::Function': FunctionProperties;
  'AWS::Lambda::EventSourceMapping': EventSourceMappingProperties;
  'AWS::DynamoDB::Table': TableProperties;
  'AWS::DynamoDB::GlobalTable': TableProperties;
  'AWS::IAM::Role': RoleProperties;
  'AWS::IAM::Policy': PolicyProperties;
  'AWS::IAM::ManagedPolicy': ManagedPolicyProperties;
  'AWS::KMS::Key': KeyProperties;
  'AWS::SNS::Topic': TopicProperties;
  'AWS::Logs::LogGroup': LogGroupProperties;
  'AWS::CloudWatch::Alarm': AlarmProperties;
  'AWS::CloudTrail::Trail': TrailProperties;
}

/**
 * Checks that a resolved property has the type the model declares, so that readers can rely on
 * it: strings are strings, numbers come from numbers or numeric strings, lists are lists.
 */
const CHECKS: { readonly [T in keyof ResourceTypes]?: Readonly<Record<string, 'string' | 'number' | 'object' | 'list'>> } = {
  'AWS::Events::EventBus': { Name: 'string', Description: 'string', DeadLetterConfig: 'object' },
  'AWS::Events::Rule': {
    Name: 'string',
    EventBusName: 'string',
    ScheduleExpression: 'string',
    State: 'string',
    Description: 'string',
    Targets: 'list',
  },
  'AWS::Events::Archive': { ArchiveName: 'string', SourceArn: 'string', RetentionDays: 'number', Description: 'string' },
  'AWS::SQS::Queue': { QueueName: 'string' },
  'AWS::Lambda::Function': {
    FunctionName: 'string',
    Handler: 'string',
    Runtime: 'string',
    Code: 'object',
    Environment: 'object',
    Timeout: 'number',
    MemorySize: 'number',
    Architectures: 'list',
  },
  'AWS::Lambda::EventSourceMapping': {
    FunctionName: 'string',
    EventSourceArn: 'string',
    BatchSize: 'number',
    MaximumBatchingWindowInSeconds: 'number',
    FunctionResponseTypes: 'list',
    ScalingConfig: 'object',
  },
  'AWS::DynamoDB::Table': { TableName: 'string' },
  'AWS::IAM::Role': { RoleName: 'string', Path: 'string', Policies: 'list', ManagedPolicyArns: 'list' },
  'AWS::IAM::Policy': { PolicyName: 'string', PolicyDocument: 'object', Roles: 'list' },
  'AWS::IAM::ManagedPolicy': { PolicyDocument: 'object', Roles: 'list' },
  'AWS::KMS::Key': { KeyPolicy: 'object' },
  'AWS::SQS::QueuePolicy': { Queues: 'list', PolicyDocument: 'object' },
};

function checked(stack: string, id: string, type: string, props: JsonObject): JsonObject {
  const checks = own(CHECKS as Record<string, unknown>, type) as Record<string, string> | undefined;
  if (!checks) return props;
  for (const [key, kind] of Object.entries(checks)) {
    const v = own(props, key);
    if (v === undefined) continue;
    const ok =
      kind === 'string'
        ? typeof v === 'string'
        : kind === 'number'
          ? asNumber(v) !== undefined
          : kind === 'list'
            ? Array.isArray(v)
            : isRecord(v);
    if (!ok) throw new TemplateError(`${key} must be a ${kind}, got ${JSON.stringify(v)?.slice(0, 80)} (${where(stack, id, key)})`);
    if (kind === 'number' && typeof v === 'string') props[key] = asNumber(v);
  }
  return props;
}

/** One resource of a stack, typed by its resource type. */
export interface Resource<P = JsonObject> {
  readonly stack: AssemblyStack;
  readonly logicalId: string;
  readonly type: string;
  /** Account, region and partition of the stack the resource is in. */
  readonly env: ResourceEnv;
  /** The template's entry, with references unresolved. */
  readonly raw: CfnResource;
  /** Properties with every intrinsic resolved, checked against the model's types; computed once. */
  readonly properties: P;
  /** The physical name (the name property, or the naming policy's). */
  readonly name: string;
  /** `Fn::GetAtt [id, Arn]`. */
  readonly arn: string;
}

/** One stack: its artifact, resolver and resources. */
export class AssemblyStack {
  public readonly resolver: StackResolver;

  constructor(
    public readonly artifact: StackArtifact,
    options: ResolverOptions,
    exports: (name: string) => unknown,
  ) {
    this.resolver = new StackResolver(
      { stackName: artifact.stackName, template: artifact.template, environment: artifact.environment },
      options,
      exports,
    );
  }

  get name(): string {
    return this.artifact.stackName;
  }

  get env(): ResourceEnv {
    return this.resolver.env;
  }

  /** The stack's resources of one type whose Condition holds, typed. */
  ofType<T extends keyof ResourceTypes>(type: T): Resource<ResourceTypes[T]>[];
  ofType(type: string): Resource[];
  ofType(type: string): Resource[] {
    return this.resolver
      .ofType(type)
      .filter((id) => this.resolver.isEnabled(id))
      .map((id) => this.resource(id));
  }

  /** Every resource whose Condition holds. */
  all(): Resource[] {
    return Object.keys(this.artifact.template.Resources)
      .filter((id) => this.resolver.isEnabled(id))
      .map((id) => this.resource(id));
  }

  /** One resource by logical id. */
  resource(logicalId: string): Resource {
    const raw = this.resolver.resource(logicalId);
    const r = this.resolver;
    const stackName = this.name;
    let props: JsonObject | undefined;
    return {
      stack: this,
      logicalId,
      type: raw.Type,
      env: r.env,
      raw,
      get properties() {
        props ??= checked(stackName, logicalId, raw.Type, r.properties(logicalId));
        return props;
      },
      get name() {
        return r.physicalName(logicalId);
      },
      get arn() {
        return r.arnOf(logicalId);
      },
    };
  }
}

/** A cloud assembly whose stacks resolve under one naming policy and default environment. */
export class Assembly {
  public readonly stacks: readonly AssemblyStack[];
  private exportIndex?: Map<string, { stack: AssemblyStack; value: unknown }>;

  constructor(
    public readonly cloud: CloudAssembly,
    options: ResolverOptions,
  ) {
    this.stacks = cloud.inDependencyOrder().map((a) => new AssemblyStack(a, options, (name) => this.importValue(name)));
  }

  /** Reads the assembly in `dir`. */
  static load(dir: string, options: ResolverOptions): Assembly {
    return new Assembly(CloudAssembly.load(dir), options);
  }

  /** A stack by artifact id, stack name or display name. */
  stack(name: string): AssemblyStack {
    const artifact = this.cloud.stack(name);
    return this.stacks.find((s) => s.artifact === artifact) as AssemblyStack;
  }

  /** Resources of one type across every stack. */
  ofType<T extends keyof ResourceTypes>(type: T): Resource<ResourceTypes[T]>[] {
    return this.stacks.flatMap((s) => s.ofType(type));
  }

  /** The value another stack exports under `name` (its Outputs' Export.Name). */
  private importValue(name: string): unknown {
    if (!this.exportIndex) {
      this.exportIndex = new Map();
      for (const s of this.stacks) {
        for (const [id, out] of Object.entries(s.artifact.template.Outputs ?? {})) {
          if (!isRecord(out) || out.Export === undefined) continue;
          if (typeof out.Condition === 'string' && !s.resolver.condition(out.Condition)) continue;
          const exportName = s.resolver.str(isRecord(out.Export) ? out.Export.Name : undefined);
          if (this.exportIndex.has(exportName))
            throw new TemplateError(`Export ${exportName} is defined twice (${where(s.name)}, output ${id})`);
          this.exportIndex.set(exportName, { stack: s, value: out.Value });
        }
      }
    }
    const found = this.exportIndex.get(name);
    if (!found) throw new TemplateError(`No stack of the assembly exports '${name}'`);
    return found.stack.resolver.resolve(found.value);
  }
}
