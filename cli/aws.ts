/**
 * AWS clients configured the way the AWS CLI configures itself: `--profile` / AWS_PROFILE,
 * `--region` / AWS_REGION / AWS_DEFAULT_REGION (or the profile's region), and
 * `--endpoint-url` / AWS_ENDPOINT_URL_<SERVICE> / AWS_ENDPOINT_URL. Pointing every command at
 * the local runtime is therefore one variable: AWS_ENDPOINT_URL=http://127.0.0.1:4566.
 * @see https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { UsageError } from './errors';

export { silenceSdkNodeVersionWarning } from '../sdk/node-version-notice';

/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * The SDK's client packages, required when a command first builds a request: the command modules
 * import only their types, so registering the commands (help lists them all) loads no SDK, which
 * was about half the CPU time of `loan-events --help`.
 */
export const sdk = {
  eventBridge: () => require('@aws-sdk/client-eventbridge') as typeof import('@aws-sdk/client-eventbridge'),
  sqs: () => require('@aws-sdk/client-sqs') as typeof import('@aws-sdk/client-sqs'),
  logs: () => require('@aws-sdk/client-cloudwatch-logs') as typeof import('@aws-sdk/client-cloudwatch-logs'),
};
/* eslint-enable @typescript-eslint/no-require-imports */

export interface AwsOptions {
  readonly region?: string;
  readonly profile?: string;
  readonly endpointUrl?: string;
}

/** Static keys, as the SDK's credential identity. */
export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface ClientConfig {
  region?: string;
  profile?: string;
  endpoint?: string;
  credentials?: StaticCredentials;
  /** Our own retries are visible (publisher, polling); the SDK's standard mode covers the rest. */
  maxAttempts?: number;
}

/** Region used against a local endpoint when none is configured, as the runtime accepts any. */
export const LOCAL_DEFAULT_REGION = 'us-east-1';

/** True for http(s)://localhost, 127.0.0.0/8 and [::1]: the local runtime. */
export function isLocalEndpoint(endpoint: string | undefined): boolean {
  if (!endpoint) return false;
  try {
    const host = new URL(endpoint).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}

/**
 * The client configuration for one service. `service` is the SDK's service id as used in
 * AWS_ENDPOINT_URL_<SERVICE> (EVENTBRIDGE, SQS).
 */
export function clientConfig(
  service: 'EVENTBRIDGE' | 'SQS',
  options: AwsOptions,
  env: Readonly<Record<string, string | undefined>>,
): ClientConfig {
  const endpoint = options.endpointUrl ?? env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL;
  if (endpoint !== undefined) {
    try {
      new URL(endpoint);
    } catch {
      throw new UsageError(`--endpoint-url: '${endpoint}' is not a URL (expected e.g. http://127.0.0.1:4566)`);
    }
  }
  const profile = options.profile ?? env.AWS_PROFILE;
  const config: ClientConfig = {};
  const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (region) config.region = region;
  else if (isLocalEndpoint(endpoint)) config.region = LOCAL_DEFAULT_REGION;
  if (profile) config.profile = profile;
  if (endpoint) config.endpoint = endpoint;
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY && !options.profile) {
    // Explicit, so that the environment given to a command (not only process.env) is honoured.
    config.credentials = {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    };
  } else if (!profile && isLocalEndpoint(endpoint)) {
    // The local runtime accepts any signature; sparing users fake keys keeps "one variable" true.
    config.credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  }
  return config;
}

/** The clients of one command run, created on first use. */
export class AwsClients {
  private eb?: EventBridgeClient;
  private sq?: SQSClient;

  public constructor(
    private readonly options: AwsOptions,
    private readonly env: Readonly<Record<string, string | undefined>>,
  ) {}

  // The SDK packages are required with the first client, so commands that call no AWS API
  // (cost, pattern, diagram, access) do not load them.
  public get eventBridge(): EventBridgeClient {
    if (!this.eb) {
      this.eb = new (sdk.eventBridge().EventBridgeClient)(clientConfig('EVENTBRIDGE', this.options, this.env));
    }
    return this.eb;
  }

  public get sqs(): SQSClient {
    if (!this.sq) {
      this.sq = new (sdk.sqs().SQSClient)(clientConfig('SQS', this.options, this.env));
    }
    return this.sq;
  }

  /** Closes the HTTP agents so the process (or a test) can exit promptly. */
  public destroy(): void {
    this.eb?.destroy();
    this.sq?.destroy();
  }
}
