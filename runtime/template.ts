/**
 * The local topology, mapped from the cloud assembly model (`assembly/`): buses, rules, archives,
 * queues, functions, event source mappings and tables of every stack, with intrinsics resolved
 * under the local naming policy (names `<stack>-<logicalId>`, queue URLs on the local endpoint).
 * Each resource carries the account and region of its stack, so an app whose stacks have explicit
 * environments keeps them. Nothing here reads the catalog: the template is the truth.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  arns,
  Assembly,
  asBoolean,
  asNumber,
  busNameOf,
  CloudAssembly,
  isRecord,
  localNaming,
  own,
  parseArn,
  Resource,
  setOwn,
  TemplateError,
  type FunctionProperties,
  ENTRY_METADATA_KEY,
} from '../assembly';

export { busNameOf, TemplateError } from '../assembly';

export interface LocalContext {
  /** Region of environment-agnostic stacks. */
  region: string;
  /** Account of environment-agnostic stacks. */
  accountId: string;
  /** Base URL of the local endpoint, for queue URLs. */
  endpoint: string;
  /**
   * Receives each folder the reader writes a function's inline code (`Code.ZipFile`) into, for
   * whoever runs the functions to remove when it stops.
   */
  inlineCodeDirs?: string[];
}

/** Where a resource lives: its stack, and that stack's account and region. */
export interface Placement {
  stack: string;
  account: string;
  region: string;
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
  /** The role EventBridge assumes to deliver (RoleArn), when the target names one. */
  roleArn?: string;
}

export interface RuleDef extends Placement {
  name: string;
  arn: string;
  busName: string;
  pattern?: string;
  scheduleExpression?: string;
  state: string;
  description?: string;
  targets: TargetDef[];
}

export interface FunctionDef extends Partial<Placement> {
  name: string;
  logicalId: string;
  codeDir: string;
  handler: string;
  runtime?: string;
  environment: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
  arn?: string;
  /** `LoggingConfig`: where and how its output goes. @default - text lines in /aws/lambda/<name> */
  logging?: FunctionLogging;
  /** Its handler entry relative to the app's root (`event-router:entry` metadata), for watch mode. @default - not rebuilt on edits */
  sourceEntry?: string;
}

/** A function's `LoggingConfig`, as Lambda applies it. */
export interface FunctionLogging {
  logGroup?: string;
  /** @default 'Text' */
  logFormat?: 'Text' | 'JSON';
  /** JSON format only. @default 'INFO' */
  applicationLogLevel?: string;
  /** JSON format only. @default 'INFO' */
  systemLogLevel?: string;
}

/** A log group the stack creates (it exists, with its retention, before anything writes to it). */
export interface LogGroupDef extends Partial<Placement> {
  name: string;
  retentionInDays?: number;
}

/** A trail that delivers to CloudWatch Logs, with its selectors as the template declares them. */
export interface TrailDef extends Partial<Placement> {
  name: string;
  /** The log group named by CloudWatchLogsLogGroupArn. */
  logGroupName: string;
  /** The template's properties (EventSelectors, AdvancedEventSelectors), resolved. */
  properties: Record<string, unknown>;
}

export interface MappingDef extends Partial<Placement> {
  uuid: string;
  functionName: string;
  /** The function's ARN when the template names it by ARN or reference (accounts differ across stacks). */
  functionArn?: string;
  eventSourceArn: string;
  batchSize: number;
  maximumBatchingWindowInSeconds: number;
  reportBatchItemFailures: boolean;
  maximumConcurrency?: number;
  enabled: boolean;
}

export interface TableDef extends Partial<Placement> {
  name: string;
  arn?: string;
  definition: Record<string, unknown>;
}

export interface QueueDef extends Partial<Placement> {
  name: string;
  arn?: string;
  /** CreateQueue attributes: every property but QueueName and Tags, as strings. */
  attributes: Record<string, string>;
}

export interface Topology {
  stacks: string[];
  buses: ({ name: string; description?: string; deadLetterArn?: string } & Partial<Placement> & { arn?: string })[];
  rules: RuleDef[];
  archives: ({
    name: string;
    arn: string;
    sourceArn: string;
    pattern?: string;
    retentionDays?: number;
    description?: string;
  } & Partial<Placement>)[];
  queues: QueueDef[];
  functions: FunctionDef[];
  mappings: MappingDef[];
  tables: TableDef[];
  logGroups: LogGroupDef[];
  trails: TrailDef[];
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
  'AWS::Logs::LogGroup',
  'AWS::CloudTrail::Trail',
  // Read by runtime/metrics.ts, not into the topology.
  'AWS::CloudWatch::Alarm',
  'AWS::Logs::MetricFilter',
]);

/** Types that exist only for deployment bookkeeping; not worth a warning. */
const SILENT_TYPES = new Set(['AWS::CDK::Metadata']);

/**
 * The account and region the app's stacks name, each when every stack that names one agrees
 * (a single-account app deployed with an explicit `env`). The runtime runs in that account and
 * region, so the ARNs in its templates match the runtime's resources. An app that spans accounts
 * gets none here: its resources carry their own accounts in the topology.
 */
export function appEnvironment(assemblyDir: string): { account?: string; region?: string } {
  let stacks: readonly { environment: { account?: string; region?: string } }[];
  try {
    stacks = CloudAssembly.load(assemblyDir).stacks;
  } catch {
    return {}; // loadTopology reports what is wrong with the assembly.
  }
  const only = (values: (string | undefined)[]) => {
    const set = new Set(values.filter((v): v is string => v !== undefined));
    return set.size === 1 ? [...set][0] : undefined;
  };
  const account = only(stacks.map((s) => s.environment.account));
  const region = only(stacks.map((s) => s.environment.region));
  return { ...(account ? { account } : {}), ...(region ? { region } : {}) };
}

/**
 * The account callers act in when the app's stacks span accounts: that of the first stack naming
 * one, in the assembly's deployment order (the router stack of a split app, which the consumer
 * stacks depend on). Undefined when no stack names an account.
 */
export function homeAccount(assemblyDir: string): string | undefined {
  try {
    return CloudAssembly.load(assemblyDir)
      .inDependencyOrder()
      .find((s) => s.environment.account !== undefined)?.environment.account;
  } catch {
    return undefined;
  }
}

/** The account the runtime runs an app in unless told otherwise: the one all its stacks name, else the home account, else 000000000000. */
export function runtimeAccount(assemblyDir: string): string {
  return appEnvironment(assemblyDir).account ?? homeAccount(assemblyDir) ?? '000000000000';
}

/** Reads every stack of the assembly in `assemblyDir` into the local topology. */
export function loadTopology(assemblyDir: string, ctx: LocalContext): Topology {
  const assembly = new Assembly(CloudAssembly.load(assemblyDir), {
    naming: localNaming(ctx.endpoint),
    defaults: { account: ctx.accountId, region: ctx.region },
  });
  if (assembly.stacks.length === 0) throw new TemplateError(`The cloud assembly at ${assemblyDir} has no stacks`);
  const topo: Topology = {
    stacks: [],
    buses: [],
    rules: [],
    archives: [],
    queues: [],
    functions: [],
    mappings: [],
    tables: [],
    logGroups: [],
    trails: [],
    unsupported: {},
    warnings: [],
  };
  for (const stack of assembly.stacks) {
    for (const r of stack.all()) {
      if (EMULATED_TYPES.has(r.type)) add(topo, r, ctx.inlineCodeDirs);
      else if (!SILENT_TYPES.has(r.type)) setOwn(topo.unsupported, r.type, Number(own(topo.unsupported, r.type) ?? 0) + 1);
    }
    topo.stacks.push(stack.name);
  }
  // Dead-letter queues first, so each RedrivePolicy finds its target.
  const order = (q: QueueDef) => (q.attributes.RedrivePolicy ? 1 : 0);
  topo.queues.sort((a, b) => order(a) - order(b));
  return topo;
}

const placement = (r: Resource): Placement => ({ stack: r.stack.name, account: r.env.account, region: r.env.region });

const patternText = (p: unknown): string | undefined => (p === undefined ? undefined : typeof p === 'string' ? p : JSON.stringify(p));

function add(topo: Topology, r: Resource, inlineCodeDirs: string[] | undefined): void {
  const p = r.properties as Record<string, unknown>;
  switch (r.type) {
    case 'AWS::Events::EventBus': {
      const dlq = isRecord(p.DeadLetterConfig) ? p.DeadLetterConfig.Arn : undefined;
      topo.buses.push({
        name: r.name,
        arn: r.arn,
        ...placement(r),
        description: str(p.Description),
        deadLetterArn: str(dlq),
      });
      return;
    }
    case 'AWS::Events::Rule':
      topo.rules.push({
        name: r.name,
        arn: r.arn,
        ...placement(r),
        busName: busNameOf(p.EventBusName),
        pattern: patternText(p.EventPattern),
        scheduleExpression: str(p.ScheduleExpression),
        state: str(p.State) ?? 'ENABLED',
        description: str(p.Description),
        targets: Array.isArray(p.Targets) ? p.Targets.map(targetFromApi) : [],
      });
      return;
    case 'AWS::Events::Archive':
      topo.archives.push({
        name: r.name,
        arn: r.arn,
        ...placement(r),
        sourceArn: String(p.SourceArn ?? ''),
        pattern: patternText(p.EventPattern),
        retentionDays: asNumber(p.RetentionDays),
        description: str(p.Description),
      });
      return;
    case 'AWS::SQS::Queue': {
      const attributes: Record<string, string> = {};
      for (const [k, v] of Object.entries(p)) {
        if (k === 'QueueName' || k === 'Tags' || v === undefined) continue;
        attributes[k] = typeof v === 'object' ? JSON.stringify(v) : String(v);
      }
      topo.queues.push({ name: r.name, arn: r.arn, ...placement(r), attributes });
      return;
    }
    case 'AWS::Lambda::Function': {
      const fp = p as FunctionProperties;
      let codeDir: string;
      try {
        codeDir = codeDirOf(r, fp, inlineCodeDirs);
      } catch (e) {
        topo.warnings.push(`function ${r.name} is not run: ${(e as Error).message}`);
        return;
      }
      const variables = isRecord(fp.Environment?.Variables) ? fp.Environment.Variables : {};
      const sourceEntry = r.raw.Metadata?.[ENTRY_METADATA_KEY];
      topo.functions.push({
        name: r.name,
        arn: r.arn,
        ...placement(r),
        logicalId: r.logicalId,
        codeDir,
        handler: fp.Handler ?? 'index.handler',
        runtime: fp.Runtime,
        environment: Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)])),
        timeoutSeconds: asNumber(fp.Timeout) ?? 3,
        memoryMb: asNumber(fp.MemorySize) ?? 128,
        ...(isRecord(p.LoggingConfig) ? { logging: loggingOf(p.LoggingConfig) } : {}),
        ...(typeof sourceEntry === 'string' ? { sourceEntry } : {}),
      });
      return;
    }
    case 'AWS::Logs::LogGroup':
      topo.logGroups.push({ name: r.name, ...placement(r), retentionInDays: asNumber(p.RetentionInDays) });
      return;
    case 'AWS::CloudTrail::Trail': {
      // Only delivery to CloudWatch Logs is emulated; a trail that is not logging delivers nothing.
      const group = str(p.CloudWatchLogsLogGroupArn)?.split(':log-group:')[1]?.replace(/:\*$/, '');
      if (group === undefined) topo.warnings.push(`trail ${r.name} delivers to S3 only, which is not emulated`);
      else if (asBoolean(p.IsLogging) !== false) topo.trails.push({ name: r.name, ...placement(r), logGroupName: group, properties: p });
      return;
    }
    case 'AWS::Lambda::EventSourceMapping': {
      const fn = String(p.FunctionName ?? '');
      const fnArn = parseArn(fn);
      const scaling = isRecord(p.ScalingConfig) ? asNumber(p.ScalingConfig.MaximumConcurrency) : undefined;
      topo.mappings.push({
        uuid: `${r.stack.name}-${r.logicalId}`,
        ...placement(r),
        functionName: fnArn ? (fnArn.resource.split(':')[1] ?? fn) : fn,
        ...(fnArn ? { functionArn: fn } : {}),
        eventSourceArn: String(p.EventSourceArn ?? ''),
        batchSize: asNumber(p.BatchSize) ?? 10,
        maximumBatchingWindowInSeconds: asNumber(p.MaximumBatchingWindowInSeconds) ?? 0,
        reportBatchItemFailures: Array.isArray(p.FunctionResponseTypes) && p.FunctionResponseTypes.includes('ReportBatchItemFailures'),
        maximumConcurrency: scaling,
        enabled: asBoolean(p.Enabled) !== false,
      });
      return;
    }
    case 'AWS::DynamoDB::Table':
    case 'AWS::DynamoDB::GlobalTable':
      topo.tables.push({ name: r.name, arn: arns.table(r.env, r.name), ...placement(r), definition: p });
      return;
  }
}

function loggingOf(c: Record<string, unknown>): FunctionLogging {
  const format = str(c.LogFormat);
  return {
    ...(str(c.LogGroup) ? { logGroup: str(c.LogGroup) } : {}),
    ...(format === 'JSON' || format === 'Text' ? { logFormat: format } : {}),
    ...(str(c.ApplicationLogLevel) ? { applicationLogLevel: str(c.ApplicationLogLevel) } : {}),
    ...(str(c.SystemLogLevel) ? { systemLogLevel: str(c.SystemLogLevel) } : {}),
  };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : v === undefined || v === null ? undefined : String(v));

/** The folder holding the function's code: the asset named in metadata, or inline ZipFile code. */
function codeDirOf(r: Resource, p: FunctionProperties, inlineCodeDirs: string[] | undefined): string {
  const asset = r.raw.Metadata?.['aws:asset:path'];
  if (typeof asset === 'string') return path.resolve(r.stack.artifact.dir, asset);
  const zip = p.Code?.ZipFile;
  if (typeof zip === 'string') {
    // The module the worker will load: the handler up to its last dot, inside the code folder.
    const handler = String(p.Handler ?? 'index.handler');
    const file = path.normalize(`${handler.slice(0, Math.max(0, handler.lastIndexOf('.')))}.js`);
    if (path.isAbsolute(file) || file.startsWith('..')) {
      throw new TemplateError(`Function ${r.logicalId} in stack ${r.stack.name}: handler ${handler} points outside its code folder`);
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), `inline-${r.logicalId.replace(/[^A-Za-z0-9]/g, '')}-`));
    inlineCodeDirs?.push(dir);
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), zip);
    return dir;
  }
  throw new TemplateError(
    `Function ${r.logicalId} in stack ${r.stack.name} has no local code: neither aws:asset:path metadata nor Code.ZipFile`,
  );
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
    roleArn: t?.RoleArn,
  };
}
