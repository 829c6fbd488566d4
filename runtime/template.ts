/**
 * Reads a cloud assembly (cdk.out) and turns its CloudFormation templates into the local
 * topology: buses, rules, archives, queues, functions, event source mappings and tables.
 * Intrinsics (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split, Fn::If, ...) and
 * pseudo parameters resolve to local names, ARNs and URLs. Nothing here reads the catalog:
 * the template is the truth, so any CDK app built from these resource types runs.
 */
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface LocalContext {
  region: string;
  accountId: string;
  /** Base URL of the local endpoint, for queue URLs. */
  endpoint: string;
}

export interface TargetDef {
  id: string;
  arn: string;
  input?: string;
  inputPath?: string;
  inputTransformer?: { inputPathsMap?: Record<string, string>; inputTemplate: string };
  retryPolicy?: { maximumRetryAttempts?: number; maximumEventAgeInSeconds?: number };
  deadLetterArn?: string;
  sqsMessageGroupId?: string;
}

export interface RuleDef {
  name: string;
  busName: string;
  pattern?: string;
  scheduleExpression?: string;
  state: string;
  description?: string;
  targets: TargetDef[];
}

export interface FunctionDef {
  name: string;
  logicalId: string;
  codeDir: string;
  handler: string;
  runtime?: string;
  environment: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
}

export interface MappingDef {
  uuid: string;
  functionName: string;
  eventSourceArn: string;
  batchSize: number;
  maximumBatchingWindowInSeconds: number;
  reportBatchItemFailures: boolean;
  maximumConcurrency?: number;
  enabled: boolean;
}

export interface TableDef {
  name: string;
  definition: Record<string, unknown>;
}

export interface Topology {
  stacks: string[];
  buses: { name: string; description?: string; deadLetterArn?: string }[];
  rules: RuleDef[];
  archives: { name: string; sourceArn: string; pattern?: string; retentionDays?: number; description?: string }[];
  queues: { name: string; attributes: Record<string, string> }[];
  functions: FunctionDef[];
  mappings: MappingDef[];
  tables: TableDef[];
  /** Resource types present but not emulated, with counts. */
  unsupported: Record<string, number>;
  /** Resources skipped for a reason the person should see (e.g. a function without local code). */
  warnings: string[];
}

export const EMULATED_TYPES = new Set([
  'AWS::Events::EventBus',
  'AWS::Events::Rule',
  'AWS::Events::Archive',
  'AWS::SQS::Queue',
  'AWS::Lambda::Function',
  'AWS::Lambda::EventSourceMapping',
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
]);

/** Types that exist only for deployment bookkeeping; not worth a warning. */
const SILENT_TYPES = new Set(['AWS::CDK::Metadata']);

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

interface StackArtifact {
  name: string;
  templatePath: string;
  dir: string;
}

/** Stack templates of an assembly, including nested assemblies (CDK stages). */
export function listStacks(assemblyDir: string): StackArtifact[] {
  const manifestPath = path.join(assemblyDir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new TemplateError(`No cloud assembly at ${assemblyDir}: manifest.json is missing (run cdk synth)`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    artifacts?: Record<string, { type: string; properties?: Record<string, string>; displayName?: string }>;
  };
  const out: StackArtifact[] = [];
  for (const [id, a] of Object.entries(manifest.artifacts ?? {})) {
    if (a.type === 'aws:cloudformation:stack' && a.properties?.templateFile) {
      out.push({ name: a.properties.stackName ?? id, templatePath: path.join(assemblyDir, a.properties.templateFile), dir: assemblyDir });
    } else if (a.type === 'cdk:cloud-assembly' && a.properties?.directoryName) {
      out.push(...listStacks(path.join(assemblyDir, a.properties.directoryName)));
    }
  }
  return out;
}

export function loadTopology(assemblyDir: string, ctx: LocalContext): Topology {
  const topo: Topology = {
    stacks: [],
    buses: [],
    rules: [],
    archives: [],
    queues: [],
    functions: [],
    mappings: [],
    tables: [],
    unsupported: {},
    warnings: [],
  };
  const stacks = listStacks(assemblyDir);
  if (stacks.length === 0) throw new TemplateError(`The cloud assembly at ${assemblyDir} has no stacks`);
  for (const s of stacks) {
    const template = JSON.parse(readFileSync(s.templatePath, 'utf8')) as Template;
    new StackReader(s.name, s.dir, template, ctx, topo).read();
    topo.stacks.push(s.name);
  }
  // Dead-letter queues first, so each RedrivePolicy finds its target.
  const order = (q: { attributes: Record<string, string> }) => (q.attributes.RedrivePolicy ? 1 : 0);
  topo.queues.sort((a, b) => order(a) - order(b));
  return topo;
}

interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  Condition?: string;
}

interface Template {
  Resources?: Record<string, Resource>;
  Parameters?: Record<string, { Default?: unknown }>;
  Conditions?: Record<string, unknown>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
}

const NO_VALUE = Symbol('AWS::NoValue');
const SERVICE: Record<string, string> = {
  SQS: 'sqs',
  Events: 'events',
  Lambda: 'lambda',
  DynamoDB: 'dynamodb',
  KMS: 'kms',
  IAM: 'iam',
  SNS: 'sns',
  Logs: 'logs',
  S3: 's3',
};

class StackReader {
  private readonly resources: Record<string, Resource>;
  private readonly conditions = new Map<string, boolean>();
  private readonly resolving = new Set<string>();

  constructor(
    private readonly stack: string,
    private readonly dir: string,
    private readonly t: Template,
    private readonly ctx: LocalContext,
    private readonly topo: Topology,
  ) {
    this.resources = t.Resources ?? {};
  }

  read(): void {
    for (const [id, r] of Object.entries(this.resources)) {
      if (r.Condition && !this.condition(r.Condition)) continue;
      if (!EMULATED_TYPES.has(r.Type)) {
        if (!SILENT_TYPES.has(r.Type)) this.topo.unsupported[r.Type] = (this.topo.unsupported[r.Type] ?? 0) + 1;
        continue;
      }
      const p = (this.resolve(r.Properties ?? {}) ?? {}) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      this.add(id, r, p);
    }
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private add(id: string, r: Resource, p: Record<string, any>): void {
    switch (r.Type) {
      case 'AWS::Events::EventBus':
        this.topo.buses.push({ name: this.physicalName(id), description: p.Description, deadLetterArn: p.DeadLetterConfig?.Arn });
        return;
      case 'AWS::Events::Rule':
        this.topo.rules.push({
          name: this.ruleName(id),
          busName: busNameOf(p.EventBusName),
          pattern:
            p.EventPattern === undefined ? undefined : typeof p.EventPattern === 'string' ? p.EventPattern : JSON.stringify(p.EventPattern),
          scheduleExpression: p.ScheduleExpression,
          state: p.State ?? 'ENABLED',
          description: p.Description,
          targets: (p.Targets ?? []).map(targetFromApi),
        });
        return;
      case 'AWS::Events::Archive':
        this.topo.archives.push({
          name: this.physicalName(id),
          sourceArn: p.SourceArn,
          pattern:
            p.EventPattern === undefined ? undefined : typeof p.EventPattern === 'string' ? p.EventPattern : JSON.stringify(p.EventPattern),
          retentionDays: p.RetentionDays,
          description: p.Description,
        });
        return;
      case 'AWS::SQS::Queue': {
        const attributes: Record<string, string> = {};
        for (const [k, v] of Object.entries(p)) {
          if (k === 'QueueName' || k === 'Tags' || v === undefined) continue;
          attributes[k] = typeof v === 'object' ? JSON.stringify(v) : String(v);
        }
        this.topo.queues.push({ name: this.physicalName(id), attributes });
        return;
      }
      case 'AWS::Lambda::Function': {
        let codeDir: string;
        try {
          codeDir = this.codeDir(id, r, p);
        } catch (e) {
          this.topo.warnings.push(`function ${this.physicalName(id)} is not run: ${(e as Error).message}`);
          return;
        }
        this.topo.functions.push({
          name: this.physicalName(id),
          logicalId: id,
          codeDir,
          handler: p.Handler ?? 'index.handler',
          runtime: p.Runtime,
          environment: Object.fromEntries(
            Object.entries((p.Environment?.Variables ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]),
          ),
          timeoutSeconds: Number(p.Timeout ?? 3),
          memoryMb: Number(p.MemorySize ?? 128),
        });
        return;
      }
      case 'AWS::Lambda::EventSourceMapping':
        this.topo.mappings.push({
          uuid: `${this.stack}-${id}`,
          functionName: lastSegment(String(p.FunctionName)),
          eventSourceArn: p.EventSourceArn,
          batchSize: Number(p.BatchSize ?? 10),
          maximumBatchingWindowInSeconds: Number(p.MaximumBatchingWindowInSeconds ?? 0),
          reportBatchItemFailures: Array.isArray(p.FunctionResponseTypes) && p.FunctionResponseTypes.includes('ReportBatchItemFailures'),
          maximumConcurrency: p.ScalingConfig?.MaximumConcurrency === undefined ? undefined : Number(p.ScalingConfig.MaximumConcurrency),
          enabled: p.Enabled !== false && p.Enabled !== 'false',
        });
        return;
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable':
        this.topo.tables.push({ name: this.physicalName(id), definition: p });
        return;
    }
  }

  /** The folder holding the function's code: the asset named in metadata, or inline ZipFile code. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private codeDir(id: string, r: Resource, p: Record<string, any>): string {
    const asset = r.Metadata?.['aws:asset:path'];
    if (typeof asset === 'string') return path.resolve(this.dir, asset);
    if (typeof p.Code?.ZipFile === 'string') {
      const dir = mkdtempSync(path.join(os.tmpdir(), `inline-${id}-`));
      const file = String(p.Handler ?? 'index.handler').split('.')[0];
      writeFileSync(path.join(dir, `${file}.js`), p.Code.ZipFile);
      return dir;
    }
    throw new TemplateError(`Function ${id} in stack ${this.stack} has no local code: neither aws:asset:path metadata nor Code.ZipFile`);
  }

  private nameProperty(type: string): string | undefined {
    return {
      'AWS::SQS::Queue': 'QueueName',
      'AWS::Events::EventBus': 'Name',
      'AWS::Events::Rule': 'Name',
      'AWS::Events::Archive': 'ArchiveName',
      'AWS::Lambda::Function': 'FunctionName',
      'AWS::DynamoDB::Table': 'TableName',
      'AWS::DynamoDB::GlobalTable': 'TableName',
      'AWS::IAM::Role': 'RoleName',
      'AWS::Logs::LogGroup': 'LogGroupName',
      'AWS::SNS::Topic': 'TopicName',
    }[type];
  }

  /** Name as CloudFormation would give it: the name property, else stack-logicalId (deterministic here). */
  private physicalName(id: string): string {
    const r = this.resources[id];
    const prop = this.nameProperty(r.Type);
    const given = prop ? r.Properties?.[prop] : undefined;
    if (given !== undefined) return String(this.resolve(given));
    const fifo = r.Type === 'AWS::SQS::Queue' && (r.Properties?.FifoQueue === true || r.Properties?.FifoQueue === 'true');
    const max = r.Type === 'AWS::SQS::Queue' ? 80 - (fifo ? 5 : 0) : r.Type.startsWith('AWS::Events::') ? 64 : 140;
    return `${this.stack}-${id}`.slice(0, max) + (fifo ? '.fifo' : '');
  }

  private ruleName(id: string): string {
    return this.physicalName(id);
  }

  private arnOf(id: string): string {
    const r = this.resources[id];
    const { region, accountId } = this.ctx;
    const name = this.physicalName(id);
    switch (r.Type) {
      case 'AWS::SQS::Queue':
        return `arn:aws:sqs:${region}:${accountId}:${name}`;
      case 'AWS::Events::EventBus':
        return `arn:aws:events:${region}:${accountId}:event-bus/${name}`;
      case 'AWS::Events::Rule': {
        const bus = busNameOf(this.resolve(r.Properties?.EventBusName));
        return `arn:aws:events:${region}:${accountId}:rule/${bus === 'default' ? '' : `${bus}/`}${name}`;
      }
      case 'AWS::Events::Archive':
        return `arn:aws:events:${region}:${accountId}:archive/${name}`;
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${region}:${accountId}:function:${name}`;
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable':
        return `arn:aws:dynamodb:${region}:${accountId}:table/${name}`;
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${accountId}:role/${name}`;
      case 'AWS::KMS::Key':
        return `arn:aws:kms:${region}:${accountId}:key/${name}`;
      default: {
        const svc = SERVICE[r.Type.split('::')[1]] ?? r.Type.split('::')[1].toLowerCase();
        return `arn:aws:${svc}:${region}:${accountId}:${name}`;
      }
    }
  }

  private ref(name: string): unknown {
    const { region, accountId } = this.ctx;
    switch (name) {
      case 'AWS::Region':
        return region;
      case 'AWS::AccountId':
        return accountId;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return this.stack;
      case 'AWS::StackId':
        return `arn:aws:cloudformation:${region}:${accountId}:stack/${this.stack}/00000000-0000-0000-0000-000000000000`;
      case 'AWS::NoValue':
        return NO_VALUE;
      case 'AWS::NotificationARNs':
        return [];
    }
    const param = this.t.Parameters?.[name];
    if (param) return param.Default ?? '';
    const r = this.resources[name];
    if (!r) throw new TemplateError(`Ref to unknown resource or parameter ${name} in stack ${this.stack}`);
    this.guard(name);
    try {
      switch (r.Type) {
        case 'AWS::SQS::Queue':
          return `${this.ctx.endpoint}/${accountId}/${this.physicalName(name)}`;
        case 'AWS::SNS::Topic':
          return this.arnOf(name);
        case 'AWS::Events::Rule': {
          const bus = busNameOf(this.resolve(r.Properties?.EventBusName));
          return bus === 'default' ? this.physicalName(name) : `${bus}|${this.physicalName(name)}`;
        }
        default:
          return this.physicalName(name);
      }
    } finally {
      this.resolving.delete(name);
    }
  }

  private getAtt(id: string, attr: string): unknown {
    const r = this.resources[id];
    if (!r) throw new TemplateError(`Fn::GetAtt on unknown resource ${id} in stack ${this.stack}`);
    this.guard(id);
    try {
      if (attr === 'Arn') return this.arnOf(id);
      if (r.Type === 'AWS::SQS::Queue') {
        if (attr === 'QueueName') return this.physicalName(id);
        if (attr === 'QueueUrl') return `${this.ctx.endpoint}/${this.ctx.accountId}/${this.physicalName(id)}`;
      }
      if (attr === 'Name' || attr === 'ArchiveName' || attr === 'TableName') return this.physicalName(id);
      if (attr === 'StreamArn') return `${this.arnOf(id)}/stream/1970-01-01T00:00:00.000`;
      if (attr === 'KeyId') return this.physicalName(id);
      return `${this.physicalName(id)}.${attr}`;
    } finally {
      this.resolving.delete(id);
    }
  }

  private guard(id: string): void {
    if (this.resolving.has(id)) throw new TemplateError(`Circular reference through ${id} in stack ${this.stack}`);
    this.resolving.add(id);
  }

  private condition(name: string): boolean {
    const known = this.conditions.get(name);
    if (known !== undefined) return known;
    const def = this.t.Conditions?.[name];
    if (def === undefined) throw new TemplateError(`Unknown condition ${name} in stack ${this.stack}`);
    const v = Boolean(this.resolve(def));
    this.conditions.set(name, v);
    return v;
  }

  resolve(v: unknown): unknown {
    if (Array.isArray(v)) return v.map((x) => this.resolve(x)).filter((x) => x !== NO_VALUE);
    if (v === null || typeof v !== 'object') return v;
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      const [k] = keys;
      const a = o[k];
      switch (k) {
        case 'Ref':
          return this.ref(String(a));
        case 'Fn::GetAtt': {
          const [id, ...attr] = Array.isArray(a) ? a.map(String) : String(a).split('.');
          return this.getAtt(id, attr.join('.'));
        }
        case 'Fn::Join': {
          const [sep, parts] = a as [string, unknown];
          return (this.resolve(parts) as unknown[]).map(String).join(sep);
        }
        case 'Fn::Sub':
          return this.sub(a);
        case 'Fn::Select': {
          const [i, list] = a as [unknown, unknown];
          const arr = this.resolve(list) as unknown[];
          const idx = Number(this.resolve(i));
          if (!Array.isArray(arr) || idx < 0 || idx >= arr.length)
            throw new TemplateError(`Fn::Select index ${idx} out of range in stack ${this.stack}`);
          return arr[idx];
        }
        case 'Fn::Split': {
          const [sep, s] = a as [string, unknown];
          return String(this.resolve(s)).split(sep);
        }
        case 'Fn::If': {
          const [c, yes, no] = a as [string, unknown, unknown];
          return this.resolve(this.condition(c) ? yes : no);
        }
        case 'Fn::Equals': {
          const [x, y] = a as [unknown, unknown];
          return JSON.stringify(this.resolve(x)) === JSON.stringify(this.resolve(y));
        }
        case 'Fn::Or':
          return (a as unknown[]).some((x) => Boolean(this.resolve(x)));
        case 'Fn::And':
          return (a as unknown[]).every((x) => Boolean(this.resolve(x)));
        case 'Fn::Not':
          return !this.resolve((a as unknown[])[0]);
        case 'Condition':
          return this.condition(String(a));
        case 'Fn::Base64':
          return Buffer.from(String(this.resolve(a))).toString('base64');
        case 'Fn::GetAZs':
          return ['a', 'b', 'c'].map((z) => `${this.ctx.region}${z}`);
        case 'Fn::FindInMap': {
          const [m, k1, k2] = (a as unknown[]).map((x) => String(this.resolve(x)));
          const found = this.t.Mappings?.[m]?.[k1]?.[k2];
          if (found === undefined) throw new TemplateError(`Fn::FindInMap ${m}/${k1}/${k2} not found in stack ${this.stack}`);
          return found;
        }
        case 'Fn::ImportValue':
          throw new TemplateError(
            `Fn::ImportValue is not supported locally (stack ${this.stack}); deploy the exporting stack's resources in the same app`,
          );
      }
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) {
      const r = this.resolve(x);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  }

  private sub(a: unknown): string {
    const [text, vars] = Array.isArray(a) ? (a as [string, Record<string, unknown>]) : [String(a), {}];
    return text.replace(/\$\{([^}]+)\}/g, (whole, name: string) => {
      if (name.startsWith('!')) return `\${${name.slice(1)}}`;
      if (vars && name in vars) return String(this.resolve(vars[name]));
      if (name.includes('.') && !name.startsWith('AWS::')) {
        const [id, ...attr] = name.split('.');
        return String(this.getAtt(id, attr.join('.')));
      }
      const v = this.ref(name);
      return v === NO_VALUE ? whole : String(v);
    });
  }
}

/** A target as CloudFormation and the PutTargets API spell it (the same PascalCase shape). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function targetFromApi(t: any): TargetDef {
  return {
    id: t?.Id,
    arn: t?.Arn,
    input: t?.Input,
    inputPath: t?.InputPath,
    inputTransformer: t?.InputTransformer
      ? { inputPathsMap: t.InputTransformer.InputPathsMap, inputTemplate: t.InputTransformer.InputTemplate }
      : undefined,
    retryPolicy: t?.RetryPolicy
      ? { maximumRetryAttempts: t.RetryPolicy.MaximumRetryAttempts, maximumEventAgeInSeconds: t.RetryPolicy.MaximumEventAgeInSeconds }
      : undefined,
    deadLetterArn: t?.DeadLetterConfig?.Arn,
    sqsMessageGroupId: t?.SqsParameters?.MessageGroupId,
  };
}

/** EventBusName may be a name or an ARN; absent means the default bus. */
export function busNameOf(v: unknown): string {
  if (v === undefined || v === null || v === '') return 'default';
  const s = String(v);
  return s.startsWith('arn:') ? s.slice(s.indexOf('event-bus/') + 'event-bus/'.length) : s;
}

function lastSegment(s: string): string {
  return s.startsWith('arn:') ? (s.split(':')[6] ?? s) : s;
}
