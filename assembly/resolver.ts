/**
 * One intrinsic resolver: Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split, Fn::If with
 * Conditions (Fn::Equals/And/Or/Not), Fn::FindInMap, Fn::Base64, Fn::GetAZs, Fn::ImportValue and
 * the pseudo parameters, for one stack in its own environment: a stack synthesized for
 * `aws://ACCOUNT/REGION` resolves `AWS::AccountId`/`AWS::Region`/`AWS::Partition` to those, an
 * environment-agnostic stack to the caller's defaults. Names the template leaves to CloudFormation
 * come from a NamingPolicy.
 *
 * A template is input: lookups read own properties only, `__proto__` keys are copied as plain
 * keys, reference chains are bounded and cycles are errors that name the stack and logical id.
 */
import { arn, arns, busNameOf, partitionOf, ResourceEnv, urlSuffixOf } from './arn';
import type { StackEnvironment } from './cloud-assembly';
import { TemplateError, where } from './errors';
import { isRecord, JsonObject, own, setOwn } from './json';
import { NamingContext, NamingPolicy } from './naming';
import type { CfnResource, CfnTemplate } from './template';

/** `{ Ref: 'AWS::NoValue' }`: removes the property or list element that holds it. */
export const NO_VALUE: unique symbol = Symbol('AWS::NoValue');

/** How deep references may chain (a name that refers to a resource whose name refers to ...). */
export const MAX_REFERENCE_DEPTH = 100;

/** The account and region for stacks synthesized without them. */
export interface EnvironmentDefaults {
  readonly account: string;
  readonly region: string;
  /** @default the partition of the stack's region */
  readonly partition?: string;
}

export interface ResolverOptions {
  readonly naming: NamingPolicy;
  readonly defaults: EnvironmentDefaults;
  /** Values for template parameters; a parameter not given takes its Default. */
  readonly parameters?: Readonly<Record<string, string>>;
  /**
   * `resolve`: Fn::ImportValue reads the export from another stack of the assembly.
   * `error`: it is an error (the app's stacks refer to each other by deterministic names).
   * @default 'resolve'
   */
  readonly imports?: 'resolve' | 'error';
}

/** The value of an export, looked up in the other stacks of an assembly. */
export type ExportLookup = (name: string) => unknown;

export interface StackInput {
  readonly stackName: string;
  readonly template: CfnTemplate;
  readonly environment?: StackEnvironment;
}

type Rule = {
  /** Property holding the physical name, if the type has one. */
  readonly nameProperty?: string;
  /** Value of `Ref`; the physical name when absent. */
  readonly ref?: (r: StackResolver, id: string, name: string) => string;
  /** Values of `Fn::GetAtt`, by attribute name. */
  readonly attributes: Readonly<Record<string, (r: StackResolver, id: string, name: string) => string>>;
};

const pathOf = (r: StackResolver, id: string): string => {
  const p = r.property(id, 'Path');
  return typeof p === 'string' && p !== '' ? p : '/';
};

const ruleBus = (r: StackResolver, id: string): string => busNameOf(r.property(id, 'EventBusName'));

/** Ref and Fn::GetAtt of the resource types the project's stacks use. */
const RULES: Readonly<Record<string, Rule>> = {
  'AWS::SQS::Queue': {
    nameProperty: 'QueueName',
    ref: (r, _id, name) => r.naming.queueUrl(r.env, name),
    attributes: {
      Arn: (r, _id, name) => arns.queue(r.env, name),
      QueueName: (_r, _id, name) => name,
      QueueUrl: (r, _id, name) => r.naming.queueUrl(r.env, name),
    },
  },
  'AWS::Events::EventBus': {
    nameProperty: 'Name',
    attributes: { Arn: (r, _id, name) => arns.eventBus(r.env, name), Name: (_r, _id, name) => name },
  },
  'AWS::Events::Rule': {
    nameProperty: 'Name',
    ref: (r, id, name) => {
      const bus = ruleBus(r, id);
      return bus === 'default' ? name : `${bus}|${name}`;
    },
    attributes: { Arn: (r, id, name) => arns.rule(r.env, ruleBus(r, id), name) },
  },
  'AWS::Events::Archive': {
    nameProperty: 'ArchiveName',
    attributes: { Arn: (r, _id, name) => arns.archive(r.env, name), ArchiveName: (_r, _id, name) => name },
  },
  'AWS::Lambda::Function': {
    nameProperty: 'FunctionName',
    attributes: { Arn: (r, _id, name) => arns.function(r.env, name) },
  },
  'AWS::DynamoDB::Table': {
    nameProperty: 'TableName',
    attributes: {
      Arn: (r, _id, name) => arns.table(r.env, name),
      StreamArn: (r, _id, name) => `${arns.table(r.env, name)}/stream/1970-01-01T00:00:00.000`,
    },
  },
  'AWS::IAM::Role': {
    nameProperty: 'RoleName',
    attributes: {
      Arn: (r, id, name) => arns.role(r.env, name, pathOf(r, id)),
      RoleId: (_r, _id, name) =>
        `AROA${name
          .toUpperCase()
          .replace(/[^A-Z0-9]/g, '')
          .slice(0, 17)}`,
    },
  },
  'AWS::IAM::ManagedPolicy': {
    nameProperty: 'ManagedPolicyName',
    ref: (r, id, name) => arns.managedPolicy(r.env, name, pathOf(r, id)),
    attributes: {},
  },
  'AWS::IAM::Policy': { nameProperty: 'PolicyName', attributes: {} },
  'AWS::KMS::Key': {
    ref: (r, id) => r.naming.keyId(r.namingContext(id)),
    attributes: {
      Arn: (r, id) => arns.key(r.env, r.naming.keyId(r.namingContext(id))),
      KeyId: (r, id) => r.naming.keyId(r.namingContext(id)),
    },
  },
  'AWS::KMS::Alias': { nameProperty: 'AliasName', attributes: {} },
  'AWS::Logs::LogGroup': {
    nameProperty: 'LogGroupName',
    attributes: { Arn: (r, _id, name) => arns.logGroup(r.env, name) },
  },
  'AWS::SNS::Topic': {
    nameProperty: 'TopicName',
    ref: (r, _id, name) => arns.topic(r.env, name),
    attributes: { TopicArn: (r, _id, name) => arns.topic(r.env, name), TopicName: (_r, _id, name) => name },
  },
  'AWS::S3::Bucket': {
    nameProperty: 'BucketName',
    attributes: {
      Arn: (r, _id, name) => arns.bucket(r.env, name),
      DomainName: (r, _id, name) => `${name}.s3.${urlSuffixOf(r.env.partition)}`,
      RegionalDomainName: (r, _id, name) => `${name}.s3.${r.env.region}.${urlSuffixOf(r.env.partition)}`,
    },
  },
  'AWS::CloudTrail::Trail': {
    nameProperty: 'TrailName',
    attributes: { Arn: (r, _id, name) => arns.trail(r.env, name) },
  },
  'AWS::CloudWatch::Alarm': {
    nameProperty: 'AlarmName',
    attributes: { Arn: (r, _id, name) => arns.alarm(r.env, name) },
  },
  'AWS::CloudWatch::Dashboard': { nameProperty: 'DashboardName', attributes: {} },
  'AWS::EventSchemas::Registry': {
    nameProperty: 'RegistryName',
    ref: (r, _id, name) => arns.schemaRegistry(r.env, name),
    attributes: { RegistryName: (_r, _id, name) => name, RegistryArn: (r, _id, name) => arns.schemaRegistry(r.env, name) },
  },
  'AWS::Lambda::EventSourceMapping': { attributes: {} },
  'AWS::SQS::QueuePolicy': { attributes: {} },
  'AWS::Events::EventBusPolicy': { attributes: {} },
};

/** The property holding a resource type's physical name, if it has one. */
export function nameProperty(type: string): string | undefined {
  return own(RULES, type) === undefined ? undefined : RULES[type]?.nameProperty;
}

const SERVICE_OF_TYPE: Readonly<Record<string, string>> = { CloudWatch: 'cloudwatch', CloudTrail: 'cloudtrail', DynamoDB: 'dynamodb' };

/** Resolves the intrinsics of one stack's template. */
export class StackResolver {
  public readonly stackName: string;
  public readonly template: CfnTemplate;
  /** The pseudo parameters of this stack. */
  public readonly env: ResourceEnv;
  public readonly naming: NamingPolicy;
  private readonly names = new Map<string, string>();
  private readonly conditions = new Map<string, boolean>();
  private readonly inProgress = new Set<string>();
  /** Logical ids whose properties are being resolved, innermost last, for error messages. */
  private readonly at: string[] = [];
  private depth = 0;

  constructor(
    stack: StackInput,
    private readonly options: ResolverOptions,
    private readonly lookupExport?: ExportLookup,
  ) {
    this.stackName = stack.stackName;
    this.template = stack.template;
    this.naming = options.naming;
    const region = stack.environment?.region ?? options.defaults.region;
    this.env = {
      account: stack.environment?.account ?? options.defaults.account,
      region,
      partition: stack.environment?.region === undefined ? (options.defaults.partition ?? partitionOf(region)) : partitionOf(region),
    };
  }

  /** The resource with a logical id; an error names the stack. */
  resource(logicalId: string): CfnResource {
    const r = own(this.template.Resources, logicalId) as CfnResource | undefined;
    if (r === undefined) this.fail(`No resource '${logicalId}'`);
    return r;
  }

  /** Logical ids of the resources of one type, in template order. */
  ofType(type: string): string[] {
    return Object.keys(this.template.Resources).filter((id) => this.template.Resources[id]?.Type === type);
  }

  /** False when the resource has a Condition that is false. */
  isEnabled(logicalId: string): boolean {
    const c = this.resource(logicalId).Condition;
    return c === undefined || this.condition(c);
  }

  /** The resource's properties with every intrinsic resolved. */
  properties(logicalId: string): JsonObject {
    const r = this.resource(logicalId);
    return this.within(logicalId, () => {
      const v = this.resolveValue(r.Properties ?? {}, 0);
      return isRecord(v) ? v : {};
    });
  }

  /** One property of a resource, resolved (undefined when absent or AWS::NoValue). */
  property(logicalId: string, name: string): unknown {
    const raw = own(this.resource(logicalId).Properties, name);
    if (raw === undefined) return undefined;
    return this.within(logicalId, () => {
      const v = this.resolveValue(raw, 0);
      return v === NO_VALUE ? undefined : v;
    });
  }

  /** Resolves every intrinsic in `value`; AWS::NoValue at the top becomes undefined. */
  resolve(value: unknown): unknown {
    const v = this.resolveValue(value, 0);
    return v === NO_VALUE ? undefined : v;
  }

  /** Like `resolve`, for a value that must end up a string (numbers are written as CloudFormation does). */
  str(value: unknown): string {
    const v = this.resolve(value);
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    this.fail(`Expected a string, got ${short(v)}`);
  }

  /** The physical name: the name property, else the naming policy's generated name. */
  physicalName(logicalId: string): string {
    const known = this.names.get(logicalId);
    if (known !== undefined) return known;
    const r = this.resource(logicalId);
    const prop = nameProperty(r.Type);
    const given = prop === undefined ? undefined : own(r.Properties, prop);
    const name =
      given === undefined
        ? this.naming.generatedName(this.namingContext(logicalId))
        : this.guarded(`${logicalId}.${prop}`, () => this.within(logicalId, () => this.str(given)));
    this.names.set(logicalId, name);
    return name;
  }

  /** `Fn::GetAtt [id, 'Arn']`, the common case. */
  arnOf(logicalId: string): string {
    return this.getAtt(logicalId, 'Arn');
  }

  namingContext(logicalId: string): NamingContext {
    const r = this.resource(logicalId);
    return { stackName: this.stackName, logicalId, type: r.Type, properties: r.Properties ?? {}, env: this.env };
  }

  /** `Ref` of a resource, parameter or pseudo parameter. */
  ref(name: string): unknown {
    switch (name) {
      case 'AWS::AccountId':
        return this.env.account;
      case 'AWS::Region':
        return this.env.region;
      case 'AWS::Partition':
        return this.env.partition;
      case 'AWS::URLSuffix':
        return urlSuffixOf(this.env.partition);
      case 'AWS::StackName':
        return this.stackName;
      case 'AWS::StackId':
        return arns.stack(this.env, this.stackName, '00000000-0000-0000-0000-000000000000');
      case 'AWS::NoValue':
        return NO_VALUE;
      case 'AWS::NotificationARNs':
        return [];
    }
    const param = own(this.template.Parameters, name) as { Default?: unknown } | undefined;
    if (param !== undefined) {
      const given = own(this.options.parameters, name);
      if (given !== undefined) return given;
      if (param.Default === undefined) this.fail(`Parameter ${name} has no Default and no value was given`);
      return param.Default;
    }
    if (own(this.template.Resources, name) === undefined) {
      const external = this.naming.external?.(name, undefined);
      if (external === undefined) this.fail(`Ref to unknown resource or parameter ${name}`);
      return external;
    }
    const r = this.resource(name);
    return this.guarded(name, () => {
      const rule = own(RULES, r.Type) as Rule | undefined;
      if (rule?.ref) return rule.ref(this, name, this.physicalName(name));
      if (rule) return this.physicalName(name);
      const fallback = this.naming.fallback?.(this.namingContext(name), this.physicalName(name), undefined);
      if (fallback === undefined) this.fail(`Ref ${name}: no rule for resource type ${r.Type} (naming policy '${this.naming.name}')`);
      return fallback;
    });
  }

  /** `Fn::GetAtt` of a resource attribute, computed from its type. */
  getAtt(logicalId: string, attribute: string): string {
    if (own(this.template.Resources, logicalId) === undefined) {
      const external = this.naming.external?.(logicalId, attribute);
      if (external !== undefined) return external;
    }
    const r = this.resource(logicalId);
    return this.guarded(logicalId, () => {
      const rule = own(RULES, r.Type) as Rule | undefined;
      const fn = rule ? (own(rule.attributes, attribute) as Rule['attributes'][string] | undefined) : undefined;
      if (fn) return fn(this, logicalId, this.physicalName(logicalId));
      const name = this.physicalName(logicalId);
      if (attribute === 'Arn' && !rule && this.naming.fallback) {
        const [, service = 'unknown'] = r.Type.split('::');
        const svc = own(SERVICE_OF_TYPE, service) ?? service.toLowerCase();
        return arn({
          partition: this.env.partition,
          service: String(svc),
          region: this.env.region,
          account: this.env.account,
          resource: name,
        });
      }
      const fallback = this.naming.fallback?.(this.namingContext(logicalId), name, attribute);
      if (fallback === undefined) this.fail(`Fn::GetAtt ${logicalId}.${attribute}: no rule for attribute '${attribute}' of ${r.Type}`);
      return fallback;
    });
  }

  /** The value of a named condition. */
  condition(name: string): boolean {
    const known = this.conditions.get(name);
    if (known !== undefined) return known;
    const def = own(this.template.Conditions, name);
    if (def === undefined) this.fail(`Unknown condition ${name}`);
    const v = this.guarded(`Condition ${name}`, () => this.resolveValue(def, 0));
    if (typeof v !== 'boolean') this.fail(`Condition ${name} is not a boolean (got ${short(v)})`);
    this.conditions.set(name, v);
    return v;
  }

  /** Throws a TemplateError naming the stack and the resource being resolved. */
  fail(message: string): never {
    const id = this.at[this.at.length - 1];
    throw new TemplateError(`${message} (${where(this.stackName, id)})`);
  }

  private within<T>(logicalId: string, fn: () => T): T {
    this.at.push(logicalId);
    try {
      return fn();
    } finally {
      this.at.pop();
    }
  }

  /** Runs `fn` for `key`, failing on a reference cycle or a chain deeper than MAX_REFERENCE_DEPTH. */
  private guarded<T>(key: string, fn: () => T): T {
    if (this.inProgress.has(key)) this.fail(`Circular reference through ${key}`);
    if (this.depth >= MAX_REFERENCE_DEPTH) this.fail(`References nest deeper than ${MAX_REFERENCE_DEPTH} levels at ${key}`);
    this.inProgress.add(key);
    this.depth++;
    try {
      return fn();
    } finally {
      this.depth--;
      this.inProgress.delete(key);
    }
  }

  private resolveValue(v: unknown, depth: number): unknown {
    if (depth > MAX_REFERENCE_DEPTH) this.fail(`A value nests deeper than ${MAX_REFERENCE_DEPTH} levels`);
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      for (const x of v) {
        const r = this.resolveValue(x, depth + 1);
        if (r !== NO_VALUE) out.push(r);
      }
      return out;
    }
    if (!isRecord(v)) return v;
    const keys = Object.keys(v);
    const [only] = keys;
    if (keys.length === 1 && only !== undefined && (only === 'Ref' || only === 'Condition' || only.startsWith('Fn::'))) {
      return this.intrinsic(only, v[only], depth + 1);
    }
    const out: JsonObject = {};
    for (const k of keys) {
      const r = this.resolveValue(v[k], depth + 1);
      if (r !== NO_VALUE) setOwn(out, k, r);
    }
    return out;
  }

  private list(fn: string, arg: unknown, min: number): unknown[] {
    if (!Array.isArray(arg) || arg.length < min) this.fail(`${fn} takes a list of at least ${min} elements, got ${short(arg)}`);
    return arg;
  }

  private text(fn: string, v: unknown, depth: number): string {
    const r = this.resolveValue(v, depth);
    if (typeof r === 'string') return r;
    if (typeof r === 'number' || typeof r === 'boolean') return String(r);
    this.fail(`${fn}: expected a string, got ${short(r)}`);
  }

  private intrinsic(fn: string, arg: unknown, depth: number): unknown {
    switch (fn) {
      case 'Ref':
        if (typeof arg !== 'string') this.fail(`Ref takes a name, got ${short(arg)}`);
        return this.ref(arg);
      case 'Condition':
        if (typeof arg !== 'string') this.fail(`Condition takes a name, got ${short(arg)}`);
        return this.condition(arg);
      case 'Fn::GetAtt': {
        const parts = Array.isArray(arg) ? arg.map((a) => this.text(fn, a, depth)) : typeof arg === 'string' ? arg.split('.') : [];
        const [id, ...attr] = parts;
        if (id === undefined || attr.length === 0) this.fail(`Fn::GetAtt takes [logicalId, attribute], got ${short(arg)}`);
        return this.getAtt(id, attr.join('.'));
      }
      case 'Fn::Join': {
        const [sep, parts] = this.list(fn, arg, 2);
        if (typeof sep !== 'string') this.fail(`Fn::Join separator is not a string: ${short(sep)}`);
        const items = this.resolveValue(parts, depth);
        if (!Array.isArray(items)) this.fail(`Fn::Join over ${short(items)}, not a list`);
        return items.map((p) => this.text(fn, p, depth)).join(sep);
      }
      case 'Fn::Sub':
        return this.sub(arg, depth);
      case 'Fn::Select': {
        const [index, list] = this.list(fn, arg, 2);
        const items = this.resolveValue(list, depth);
        const i = Number(this.resolveValue(index, depth));
        if (!Array.isArray(items)) this.fail(`Fn::Select from ${short(items)}, not a list`);
        if (!Number.isInteger(i) || i < 0 || i >= items.length) this.fail(`Fn::Select index ${i} out of range (list of ${items.length})`);
        return items[i];
      }
      case 'Fn::Split': {
        const [sep, source] = this.list(fn, arg, 2);
        if (typeof sep !== 'string' || sep === '') this.fail(`Fn::Split separator is not a non-empty string: ${short(sep)}`);
        return this.text(fn, source, depth).split(sep);
      }
      case 'Fn::If': {
        const [c, yes, no] = this.list(fn, arg, 3);
        if (typeof c !== 'string') this.fail(`Fn::If takes a condition name, got ${short(c)}`);
        return this.resolveValue(this.condition(c) ? yes : no, depth);
      }
      case 'Fn::Equals': {
        const [a, b] = this.list(fn, arg, 2);
        return JSON.stringify(this.resolveValue(a, depth)) === JSON.stringify(this.resolveValue(b, depth));
      }
      case 'Fn::And':
        return this.list(fn, arg, 1).every((x) => this.bool(fn, x, depth));
      case 'Fn::Or':
        return this.list(fn, arg, 1).some((x) => this.bool(fn, x, depth));
      case 'Fn::Not':
        return !this.bool(fn, this.list(fn, arg, 1)[0], depth);
      case 'Fn::FindInMap': {
        const [m, k1, k2] = this.list(fn, arg, 3).map((x) => this.text(fn, x, depth));
        const found = own(
          own(own(this.template.Mappings, m ?? '') as JsonObject | undefined, k1 ?? '') as JsonObject | undefined,
          k2 ?? '',
        );
        if (found === undefined) this.fail(`Fn::FindInMap ${m}/${k1}/${k2} not found`);
        return found;
      }
      case 'Fn::Base64':
        return Buffer.from(this.text(fn, arg, depth)).toString('base64');
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((z) => `${this.env.region}${z}`);
      case 'Fn::ImportValue': {
        const name = this.text(fn, arg, depth);
        if (this.options.imports === 'error' || !this.lookupExport) {
          this.fail(
            `Fn::ImportValue ${name}: exports are not resolved here; stacks of this app refer to each other by deterministic names`,
          );
        }
        return this.guarded(`Fn::ImportValue ${name}`, () => (this.lookupExport as ExportLookup)(name));
      }
      default:
        this.fail(`Intrinsic ${fn} is not supported: ${short(arg)}`);
    }
  }

  private bool(fn: string, v: unknown, depth: number): boolean {
    const r = this.resolveValue(v, depth);
    if (typeof r !== 'boolean') this.fail(`${fn} takes conditions, got ${short(r)}`);
    return r;
  }

  private sub(arg: unknown, depth: number): string {
    const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
    if (typeof text !== 'string') this.fail(`Fn::Sub takes a string, got ${short(text)}`);
    if (!isRecord(vars)) this.fail(`Fn::Sub variables are not an object: ${short(vars)}`);
    return text.replace(/\$\{([^}]*)\}/g, (_whole, name: string) => {
      if (name.startsWith('!')) return `\${${name.slice(1)}}`;
      const given = own(vars, name);
      if (given !== undefined) return this.text('Fn::Sub', given, depth);
      if (name.includes('.') && !name.startsWith('AWS::')) {
        const [id = '', ...attr] = name.split('.');
        return this.getAtt(id, attr.join('.'));
      }
      const v = this.ref(name);
      if (typeof v !== 'string' && typeof v !== 'number') this.fail(`Fn::Sub \${${name}} is not a string`);
      return String(v);
    });
  }
}

/** A value, shortened for an error message. */
function short(v: unknown): string {
  let s: string;
  try {
    s = v === undefined ? 'undefined' : typeof v === 'symbol' ? v.toString() : JSON.stringify(v);
  } catch {
    s = String(v);
  }
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}
