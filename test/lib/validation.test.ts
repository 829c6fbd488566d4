import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, LegacyStackSynthesizer, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { z } from 'zod';
import { app as loanApp } from '../../catalog';
import { underwriting } from '../../catalog/loans';
import {
  ConsumerTuning,
  defineApp,
  defineCatalog,
  defineConsumer,
  defineEvent,
  definePublisher,
  EventCatalog,
  on,
} from '../../sdk/catalog';
import { AuditTrail } from '../../lib/audit-trail';
import { BufferedConsumer } from '../../lib/buffered-consumer';
import { busReference } from '../../lib/bus-reference';
import { buildStacks, EventRouterAppProps, EventRouterStacks } from '../../lib/stacks';
import { crossAccountCatalog, fixtureHandlers, loanHandlers, testApp } from './helpers';
import { TEST_APP } from '../support/cdk';

const noBundling = { 'aws:cdk:bundling-stacks': [] };

type Props = Partial<EventRouterAppProps> & { catalog?: EventCatalog };

function stackWith(props: Props): () => EventRouterStacks {
  const { catalog, ...rest } = props;
  return () => {
    const app = new App({ ...TEST_APP, context: noBundling });
    const stacks = buildStacks(app, catalog ? testApp(catalog) : loanApp, { handlersDir: loanHandlers, ...rest });
    return stacks;
  };
}

const Ping = defineEvent({ source: 'com.example.ping', detailType: 'Ping', version: '1', description: 'A ping.', data: z.object({}) });
function catalogWithTuning(tuning: ConsumerTuning) {
  return defineCatalog({
    events: [Ping],
    publishers: [definePublisher({ name: 'pinger', description: 'Pings.', publishes: [Ping] })],
    consumers: [defineConsumer({ name: 'auditor', description: 'Hears pings.', subscriptions: [on(Ping)], publishes: [], tuning })],
  });
}

describe('app definition', () => {
  test('fails on an event bus name with a slash', () => {
    expect(() => defineApp({ ...loanApp, eventBusName: 'loan/events' })).toThrow(
      "App 'LoanEvents' eventBusName must be 1 to 256 characters of letters, digits, '.', '-' or '_', and not 'default' (given 'loan/events')",
    );
  });

  test('fails on a stack prefix that is not PascalCase', () => {
    expect(() => defineApp({ ...loanApp, name: 'loan-events' })).toThrow(
      "App name 'loan-events' must be PascalCase: a capital letter, then letters or digits, at most 24 characters",
    );
  });

  test('fails on a consumer in another account when the router has no explicit account and Region', () => {
    const catalog = defineCatalog({
      ...loanApp.catalog,
      consumers: [
        defineConsumer({ name: 'remote', description: 'Elsewhere.', subscriptions: [on(Ping)], publishes: [], account: '444455556666' }),
      ],
      events: [Ping],
      publishers: [],
    });
    expect(() => testApp(catalog)).toThrow(
      "Consumer 'remote' is in account 444455556666: set the app's router.account and router.region, so its subscription and policies can name the bus's account",
    );
  });
});

describe('router and consumer stack props', () => {
  test('fails on an archive retention that is not whole days', () => {
    expect(stackWith({ archiveRetention: Duration.hours(36) })).toThrow(
      "'archiveRetention' must be a whole number of days (given 1 day 12 hours)",
    );
  });

  test('fails on empty deploymentRoleArns, since the bus policy would lock out CloudFormation', () => {
    expect(stackWith({ deploymentRoleArns: [] })).toThrow(
      "'deploymentRoleArns' must list at least one role: the bus policy denies rule changes to everyone else, including CloudFormation",
    );
  });

  test('fails on a rule manager that is not an IAM ARN', () => {
    expect(stackWith({ ruleManagerArns: ['operator'] })).toThrow(
      "'deploymentRoleArns', 'ruleManagerArns', 'operatorRoleArns' and 'keyAdminArns' must hold IAM principal ARNs (given 'operator')",
    );
  });

  test('fails without deploymentRoleArns when the synthesizer has no bootstrap execution role', () => {
    expect(stackWith({ synthesizer: new LegacyStackSynthesizer() })).toThrow(
      "'deploymentRoleArns' is required when the stack does not use the DefaultStackSynthesizer (given LegacyStackSynthesizer)",
    );
  });

  test('fails on an alarm email that is not an address', () => {
    expect(stackWith({ alarmEmail: 'oncall' })).toThrow("'alarmEmail' must be an email address (given 'oncall')");
  });

  test('fails on a message-age alarm threshold under a minute', () => {
    expect(stackWith({ maxMessageAge: Duration.seconds(30) })).toThrow("'maxMessageAge' must be at least 1 minute (given 30 seconds)");
  });

  test('fails when a catalog consumer has no handler file, naming the consumer and the path', () => {
    expect(stackWith({ catalog: catalogWithTuning({}), handlersDir: '/nowhere' })).toThrow(
      "Consumer 'auditor' has no handler file: expected /nowhere/auditor/index.ts exporting 'handler' (add it, or set 'entry')",
    );
  });
});

describe('catalog names', () => {
  test('fails when two consumers would create the same queue', () => {
    const catalog = defineCatalog({
      events: [Ping],
      publishers: [definePublisher({ name: 'pinger', description: 'Pings.', publishes: [Ping] })],
      consumers: ['auditor', 'auditor-dlq'].map((name) =>
        defineConsumer({ name, description: 'Hears pings.', subscriptions: [on(Ping)], publishes: [] }),
      ),
    });
    expect(stackWith({ catalog, handlersDir: fixtureHandlers })).toThrow(
      "Consumers 'auditor' and 'auditor-dlq' would both create the queue 'LoanEvents-auditor-dlq'; rename one of them in the catalog",
    );
  });

  test('fails on a filter the pattern engine rejects, naming the consumer and the subscription', () => {
    const catalog = defineCatalog({
      events: [Ping],
      publishers: [],
      consumers: [
        defineConsumer({
          name: 'auditor',
          description: 'Hears pings.',
          subscriptions: [on(Ping), on(Ping, { n: [{ numeric: ['>>', 1] }] } as never)],
          publishes: [],
        }),
      ],
    });
    expect(stackWith({ catalog, handlersDir: fixtureHandlers })).toThrow(/^Consumer 'auditor', subscription 1 \(Ping\): invalid filter: /);
  });
});

describe('policy sizes, checked at synthesis', () => {
  test('fails when the bus policy would exceed busPolicySizeLimit', () => {
    const stack = stackWith({ busPolicySizeLimit: 500 })().router;
    expect(() => Template.fromStack(stack)).toThrow(
      /The bus policy would be up to \d+ characters, over the 500-character limit \('busPolicySizeLimit', EventBridge quota "Event bus policy size"\): merge publishers in other accounts or raise the quota and the prop/,
    );
  });

  test('the loan catalog fits the default bus policy quota', () => {
    expect(() => Template.fromStack(stackWith({})().router)).not.toThrow();
  });
});

describe('consumer tuning from the catalog', () => {
  test.each<[ConsumerTuning, string]>([
    [
      { batchSize: 11 },
      "Consumer 'auditor': tuning.batchSize above 10 requires tuning.maxBatchingWindowSeconds of at least 1 (given batchSize 11, maxBatchingWindowSeconds 0)",
    ],
    [{ batchSize: 0 }, "Consumer 'auditor': tuning.batchSize must be an integer between 1 and 10000 inclusive (given 0)"],
    [
      { maxBatchingWindowSeconds: 301 },
      "Consumer 'auditor': tuning.maxBatchingWindowSeconds must be an integer between 0 and 300 inclusive (given 301)",
    ],
    [{ maxConcurrency: 1 }, "Consumer 'auditor': tuning.maxConcurrency must be an integer between 2 and 1000 inclusive (given 1)"],
    [{ timeoutSeconds: 901 }, "Consumer 'auditor': tuning.timeoutSeconds must be an integer between 1 and 900 inclusive (given 901)"],
    [{ memoryMB: 64 }, "Consumer 'auditor': tuning.memoryMB must be an integer between 128 and 10240 inclusive (given 64)"],
    [{ maxReceiveCount: 0 }, "Consumer 'auditor': tuning.maxReceiveCount must be an integer between 1 and 1000 inclusive (given 0)"],
    [{ timeoutSeconds: 2.5 }, "Consumer 'auditor': tuning.timeoutSeconds must be an integer between 1 and 900 inclusive (given 2.5)"],
  ])('rejects %j', (tuning, message) => {
    expect(stackWith({ catalog: catalogWithTuning(tuning), handlersDir: fixtureHandlers })).toThrow(message);
  });

  test('accepts the largest tuning (visibility timeout 6 x 900 + 300 s stays under the SQS maximum)', () => {
    const stack = stackWith({
      catalog: catalogWithTuning({ timeoutSeconds: 900, maxBatchingWindowSeconds: 300, batchSize: 10000 }),
      handlersDir: fixtureHandlers,
    })();
    expect(stack.consumers.auditor?.consumer.visibilityTimeout.toSeconds()).toBe(5700);
  });
});

describe('BufferedConsumer props', () => {
  const build = (props: Partial<ConstructorParameters<typeof BufferedConsumer>[2]>) => () => {
    const stack = new Stack(new App({ context: noBundling }), 'S');
    new BufferedConsumer(stack, 'Underwriting', {
      app: loanApp,
      consumer: underwriting,
      bus: busReference(stack, loanApp),
      entry: `${loanHandlers}/underwriting/index.ts`,
      ...props,
    });
  };

  test('fails on more retry attempts than EventBridge allows', () => {
    expect(build({ retryAttempts: 186 })).toThrow("'retryAttempts' must be an integer between 0 and 185 inclusive (given 186)");
  });

  test('fails on a maximum event age under 60 seconds', () => {
    expect(build({ maxEventAge: Duration.seconds(30) })).toThrow(
      "'maxEventAge' must be between 60 seconds and 24 hours inclusive (given 30 seconds)",
    );
  });

  test('fails on a buffer retention that would leave dead letters no time in their queue', () => {
    expect(build({ queueRetention: Duration.days(14) })).toThrow(
      "'queueRetention' must be between 60 seconds and 7 days inclusive, so messages moved to the 14-day dead-letter queue keep time there (given 14 days)",
    );
  });

  test('fails when a physical name would exceed the EventBridge rule name limit', () => {
    const name = 'a'.repeat(40);
    const app = defineApp({ ...loanApp, name: 'A'.repeat(24) });
    expect(build({ app, consumer: { ...underwriting, name } })).toThrow(
      `'ruleName' must be at most 64 characters (given '${'A'.repeat(24)}-${name}', 65 characters)`,
    );
  });
});

describe('AuditTrail props', () => {
  const build = (props: Partial<ConstructorParameters<typeof AuditTrail>[2]>) => () => {
    const stack = new Stack(new App(), 'S');
    new AuditTrail(stack, 'Audit', {
      encryptionKey: new kms.Key(stack, 'Key'),
      eventBusArn: 'arn:aws:events:eu-west-1:123456789012:event-bus/loan-events',
      ...props,
    });
  };

  test('fails on a Standard-IA transition before 30 days', () => {
    expect(build({ infrequentAccessAfter: Duration.days(10) })).toThrow(
      "'infrequentAccessAfter' must be at least 30 days, the S3 minimum for Standard-IA (given 10 days)",
    );
  });

  test('fails when Glacier would come before Standard-IA', () => {
    expect(build({ glacierAfter: Duration.days(30) })).toThrow(
      "'glacierAfter' (30 days) must be later than 'infrequentAccessAfter' (30 days)",
    );
  });
});

describe('handler bundling', () => {
  test("a handler esbuild cannot bundle fails the synth with esbuild's error, naming the handler", () => {
    // GIVEN a consumer whose handler imports a file that does not exist
    const handlers = fs.mkdtempSync(path.join(os.tmpdir(), 'loan-events-broken-handler-'));
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'loan-events-broken-out-'));
    try {
      fs.mkdirSync(path.join(handlers, 'auditor'));
      fs.writeFileSync(path.join(handlers, 'auditor', 'index.ts'), "export { handler } from './missing';\n");
      // WHEN its stack is built with bundling on, as `cdk synth` builds it
      const build = () => buildStacks(new App({ ...TEST_APP, outdir }), testApp(crossAccountCatalog), { handlersDir: handlers });
      // THEN
      expect(build).toThrow(/sdk\/build\.ts failed to bundle .*auditor\/index\.ts:\n[\s\S]*Could not resolve "\.\/missing"/);
    } finally {
      for (const d of [handlers, outdir]) fs.rmSync(d, { recursive: true, force: true });
    }
  });
});
