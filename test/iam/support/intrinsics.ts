/**
 * Resolves the CloudFormation intrinsics in a synthesized template into the concrete strings
 * CloudFormation would produce in one fixed environment, so that policies can be handed to a
 * policy simulator as they will exist after deployment.
 *
 * Resources without a physical name get a deterministic one derived from their logical id. Every
 * reference goes through this resolver, so the names only have to be unique and stable, not equal
 * to what CloudFormation would generate.
 */
import { createHash } from 'crypto';

/** The account, region and partition the template is resolved for. */
export interface Environment {
  readonly account: string;
  readonly region: string;
  readonly partition: string;
  readonly stackName: string;
}

export const TEST_ENV: Environment = {
  account: '111111111111',
  region: 'us-east-1',
  partition: 'aws',
  stackName: 'LoanEvents',
};

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
}

/** Ref and Fn::GetAtt values of one resource type. */
interface TypeRule {
  /** Property holding the physical name, if the type has one. */
  readonly nameProperty?: string;
  /** Value of `Ref`. */
  ref(name: string, props: Record<string, unknown>, r: Resolver): string;
  /** Values of `Fn::GetAtt`, by attribute name. */
  readonly attributes: Record<string, (name: string, props: Record<string, unknown>, r: Resolver) => string>;
}

const arn = (env: Environment, service: string, resource: string, region = env.region, account = env.account) =>
  `arn:${env.partition}:${service}:${region}:${account}:${resource}`;

/** A UUID-shaped key id, stable for a logical id. */
function keyId(logicalId: string): string {
  const h = createHash('sha256').update(logicalId).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

const TYPES: Record<string, TypeRule> = {
  'AWS::IAM::Role': {
    nameProperty: 'RoleName',
    ref: (name) => name,
    attributes: {
      Arn: (name, props, r) => `arn:${r.env.partition}:iam::${r.env.account}:role${(props.Path as string | undefined) ?? '/'}${name}`,
      RoleId: (name) =>
        `AROA${name
          .toUpperCase()
          .replace(/[^A-Z0-9]/g, '')
          .slice(0, 17)}`,
    },
  },
  'AWS::IAM::ManagedPolicy': {
    nameProperty: 'ManagedPolicyName',
    ref: (name, props, r) => `arn:${r.env.partition}:iam::${r.env.account}:policy${(props.Path as string | undefined) ?? '/'}${name}`,
    attributes: {},
  },
  'AWS::SQS::Queue': {
    nameProperty: 'QueueName',
    ref: (name, _p, r) => `https://sqs.${r.env.region}.amazonaws.com/${r.env.account}/${name}`,
    attributes: {
      Arn: (name, _p, r) => arn(r.env, 'sqs', name),
      QueueName: (name) => name,
      QueueUrl: (name, _p, r) => `https://sqs.${r.env.region}.amazonaws.com/${r.env.account}/${name}`,
    },
  },
  'AWS::Events::EventBus': {
    nameProperty: 'Name',
    ref: (name) => name,
    attributes: {
      Arn: (name, _p, r) => arn(r.env, 'events', `event-bus/${name}`),
      Name: (name) => name,
    },
  },
  'AWS::Events::Rule': {
    nameProperty: 'Name',
    ref: (name, props, r) => {
      const bus = props.EventBusName === undefined ? 'default' : r.busName(props.EventBusName);
      return bus === 'default' ? name : `${bus}|${name}`;
    },
    attributes: {
      Arn: (name, props, r) => {
        const bus = props.EventBusName === undefined ? 'default' : r.busName(props.EventBusName);
        return arn(r.env, 'events', bus === 'default' ? `rule/${name}` : `rule/${bus}/${name}`);
      },
    },
  },
  'AWS::Events::Archive': {
    nameProperty: 'ArchiveName',
    ref: (name) => name,
    attributes: { Arn: (name, _p, r) => arn(r.env, 'events', `archive/${name}`) },
  },
  'AWS::KMS::Key': {
    ref: (name) => keyId(name),
    attributes: {
      Arn: (name, _p, r) => arn(r.env, 'kms', `key/${keyId(name)}`),
      KeyId: (name) => keyId(name),
    },
  },
  'AWS::KMS::Alias': {
    nameProperty: 'AliasName',
    ref: (name) => name,
    attributes: {},
  },
  'AWS::DynamoDB::Table': {
    nameProperty: 'TableName',
    ref: (name) => name,
    attributes: {
      Arn: (name, _p, r) => arn(r.env, 'dynamodb', `table/${name}`),
      StreamArn: (name, _p, r) => arn(r.env, 'dynamodb', `table/${name}/stream/2026-01-01T00:00:00.000`),
    },
  },
  'AWS::Logs::LogGroup': {
    nameProperty: 'LogGroupName',
    ref: (name) => name,
    // CloudFormation's Arn attribute of a log group ends in `:*`.
    attributes: { Arn: (name, _p, r) => arn(r.env, 'logs', `log-group:${name}:*`) },
  },
  'AWS::Lambda::Function': {
    nameProperty: 'FunctionName',
    ref: (name) => name,
    attributes: { Arn: (name, _p, r) => arn(r.env, 'lambda', `function:${name}`) },
  },
  'AWS::SNS::Topic': {
    nameProperty: 'TopicName',
    ref: (name, _p, r) => arn(r.env, 'sns', name),
    attributes: {
      TopicArn: (name, _p, r) => arn(r.env, 'sns', name),
      TopicName: (name) => name,
    },
  },
  'AWS::S3::Bucket': {
    nameProperty: 'BucketName',
    ref: (name) => name,
    attributes: {
      Arn: (name, _p, r) => `arn:${r.env.partition}:s3:::${name}`,
      DomainName: (name) => `${name}.s3.amazonaws.com`,
      RegionalDomainName: (name, _p, r) => `${name}.s3.${r.env.region}.amazonaws.com`,
    },
  },
  'AWS::CloudTrail::Trail': {
    nameProperty: 'TrailName',
    ref: (name) => name,
    attributes: { Arn: (name, _p, r) => arn(r.env, 'cloudtrail', `trail/${name}`) },
  },
  'AWS::EventSchemas::Registry': {
    nameProperty: 'RegistryName',
    ref: (name, _p, r) => arn(r.env, 'schemas', `registry/${name}`),
    attributes: {
      RegistryName: (name) => name,
      RegistryArn: (name, _p, r) => arn(r.env, 'schemas', `registry/${name}`),
    },
  },
  'AWS::CloudWatch::Alarm': {
    nameProperty: 'AlarmName',
    ref: (name) => name,
    attributes: { Arn: (name, _p, r) => arn(r.env, 'cloudwatch', `alarm:${name}`) },
  },
};

const PSEUDO = (env: Environment): Record<string, string> => ({
  'AWS::AccountId': env.account,
  'AWS::Region': env.region,
  'AWS::Partition': env.partition,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': env.stackName,
  'AWS::StackId': `arn:${env.partition}:cloudformation:${env.region}:${env.account}:stack/${env.stackName}/00000000-0000-0000-0000-000000000000`,
});

export class UnresolvableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnresolvableError';
  }
}

export class Resolver {
  constructor(
    public readonly template: CfnTemplate,
    public readonly env: Environment = TEST_ENV,
  ) {}

  /** Resolves every intrinsic in `value`, recursively. Throws on anything it cannot resolve. */
  public resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
      return this.intrinsic(keys[0], obj[keys[0]]);
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = this.resolve(obj[k]);
    return out;
  }

  /** Like `resolve`, for a value that must end up a string. */
  public str(value: unknown): string {
    const v = this.resolve(value);
    if (typeof v !== 'string') throw new UnresolvableError(`Expected a string, got ${JSON.stringify(v)}`);
    return v;
  }

  /** The physical name of a resource: its name property, or one derived from its logical id. */
  public physicalName(logicalId: string): string {
    const res = this.resource(logicalId);
    const rule = TYPES[res.Type];
    const prop = rule?.nameProperty;
    const named = prop !== undefined ? res.Properties?.[prop] : undefined;
    return named !== undefined ? this.str(named) : logicalId;
  }

  /** The resource `Ref` points at, for a logical id. */
  public resource(logicalId: string): CfnResource {
    const res = this.template.Resources[logicalId];
    if (!res) throw new UnresolvableError(`No resource '${logicalId}' in the template`);
    return res;
  }

  /** Name of a bus given as a name, an ARN or a Ref. */
  public busName(value: unknown): string {
    const v = this.str(value);
    return v.startsWith('arn:') ? v.slice(v.indexOf(':event-bus/') + ':event-bus/'.length) : v;
  }

  /** Logical ids of the resources of one type. */
  public ofType(type: string): string[] {
    return Object.keys(this.template.Resources).filter((id) => this.template.Resources[id].Type === type);
  }

  /** Fn::GetAtt of a resource attribute, computed from its type. */
  public getAtt(logicalId: string, attribute: string): string {
    const res = this.resource(logicalId);
    const rule = TYPES[res.Type];
    const fn = rule?.attributes[attribute];
    if (!fn) throw new UnresolvableError(`Fn::GetAtt ${logicalId}.${attribute}: no rule for attribute '${attribute}' of ${res.Type}`);
    return fn(this.physicalName(logicalId), res.Properties ?? {}, this);
  }

  private ref(name: string): string {
    const pseudo = PSEUDO(this.env)[name];
    if (pseudo !== undefined) return pseudo;
    const res = this.resource(name);
    const rule = TYPES[res.Type];
    if (!rule) throw new UnresolvableError(`Ref ${name}: no rule for resource type ${res.Type}`);
    return rule.ref(this.physicalName(name), res.Properties ?? {}, this);
  }

  private intrinsic(fn: string, arg: unknown): unknown {
    switch (fn) {
      case 'Ref':
        return this.ref(arg as string);
      case 'Fn::GetAtt': {
        const [id, attr] = Array.isArray(arg) ? (arg as string[]) : (arg as string).split('.');
        return this.getAtt(id, attr);
      }
      case 'Fn::Join': {
        const [sep, parts] = arg as [string, unknown[]];
        const resolved = this.resolve(parts);
        if (!Array.isArray(resolved)) throw new UnresolvableError(`Fn::Join over ${JSON.stringify(resolved)}`);
        return resolved
          .map((p) => {
            if (typeof p !== 'string') throw new UnresolvableError(`Fn::Join part is not a string: ${JSON.stringify(p)}`);
            return p;
          })
          .join(sep);
      }
      case 'Fn::Sub': {
        const [text, vars] = Array.isArray(arg) ? (arg as [string, Record<string, unknown>]) : [arg as string, {}];
        return text
          .replace(/\$\{([^}!][^}]*)\}/g, (_m, name: string) => {
            if (name in vars) return this.str(vars[name]);
            if (name.includes('.')) {
              const [id, attr] = name.split('.');
              return this.getAtt(id, attr);
            }
            return this.ref(name);
          })
          .replace(/\$\{!/g, '${');
      }
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        const items = this.resolve(list) as unknown[];
        return items[Number(this.resolve(index))];
      }
      case 'Fn::Split': {
        const [sep, text] = arg as [string, unknown];
        return this.str(text).split(sep);
      }
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((z) => `${this.env.region}${z}`);
      default:
        throw new UnresolvableError(`Intrinsic ${fn} is not supported: ${JSON.stringify(arg)}`);
    }
  }
}
