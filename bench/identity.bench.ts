/**
 * What enforcing the app's policies costs (`npm run bench -- identity`): PutEvents requests per
 * second of 10 entries each, 8 in flight, from a publisher's role session to the app's bus, with
 * `--iam off` and with `--iam enforce`, on the synthesized app. Each mode runs in its own runtime;
 * the figure is the median of the runs. The events flow on to the app's consumers in both modes.
 * Second, the decision alone, in process: one PutEvents check of a publisher session against the
 * compiled store, as the runtime makes it per request and bus (less sensitive to machine load).
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { app } from '../catalog';
import { ensureSynth } from '../assembly';
import { names } from '../sdk/catalog';
import { startLocalRuntime } from '../runtime';
import type { IamMode } from '../runtime/iam-mode';
import { appEnvironment, homeAccount } from '../runtime/template';
import { silenceSdkNodeVersionWarning } from '../sdk/node-version-notice';
import { PolicyEvaluator, principalOf } from '../iam';
import { loadAppPolicies } from '../runtime/identity';
import { header, measureRate, runsOf, settings, spread } from './measure';

silenceSdkNodeVersionWarning();

const IN_FLIGHT = 8;
const ENTRIES = 10;

async function requestsPerSecond(dir: string, iam: IamMode): Promise<number[]> {
  const account = appEnvironment(dir).account ?? homeAccount(dir) ?? '000000000000';
  const developer = { accessKeyId: 'BENCHDEV', secretAccessKey: 'bench' };
  const rt = await startLocalRuntime({
    assemblyDir: dir,
    port: 0,
    iam,
    quiet: true,
    log: () => undefined,
    prewarm: false,
    users: [
      {
        ...developer,
        arn: `arn:aws:iam::${account}:user/bench`,
        policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }] }],
      },
    ],
  });
  try {
    const publisher = app.catalog.publishers[0];
    const event = publisher?.publishes[0];
    if (!publisher || !event) throw new Error('the catalog has no publisher');
    const sts = new STSClient({ endpoint: rt.endpoint, region: 'us-east-1', credentials: developer });
    const r = await sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${account}:role/${names.publisherRole(app, publisher.name)}`,
        RoleSessionName: 'bench',
      }),
    );
    sts.destroy();
    const eb = new EventBridgeClient({
      endpoint: rt.endpoint,
      region: 'us-east-1',
      credentials: {
        accessKeyId: r.Credentials!.AccessKeyId!,
        secretAccessKey: r.Credentials!.SecretAccessKey!,
        sessionToken: r.Credentials!.SessionToken!,
      },
    });
    const entries = Array.from({ length: ENTRIES }, () => ({
      EventBusName: app.eventBusName,
      Source: event.source,
      DetailType: event.detailType,
      Detail: '{}',
    }));
    const burst = async (seconds: number) => {
      let requests = 0;
      const end = performance.now() + seconds * 1000;
      const start = performance.now();
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (performance.now() < end) {
            const out = await eb.send(new PutEventsCommand({ Entries: entries }));
            if (out.FailedEntryCount !== 0) throw new Error(`PutEvents failed in --iam ${iam}: ${JSON.stringify(out.Entries?.[0])}`);
            requests++;
          }
        }),
      );
      return requests / ((performance.now() - start) / 1000);
    };
    const { runs, seconds, warmupSeconds } = settings();
    await burst(warmupSeconds);
    const out: number[] = [];
    for (let i = 0; i < runs; i++) out.push(await burst(seconds));
    eb.destroy();
    return out;
  } finally {
    await rt.close();
  }
}

async function main(): Promise<void> {
  console.log(header());
  const dir = await ensureSynth();
  const fmt = (x: number) => `${x.toFixed(0)} req/s`;
  const off = runsOf(await requestsPerSecond(dir, 'off'));
  const enforce = runsOf(await requestsPerSecond(dir, 'enforce'));
  console.log(`PutEvents (${ENTRIES} entries, ${IN_FLIGHT} in flight), --iam off:     ${spread(off, fmt)}`);
  console.log(`PutEvents (${ENTRIES} entries, ${IN_FLIGHT} in flight), --iam enforce: ${spread(enforce, fmt)}`);
  console.log(`enforce / off: ${((enforce.median / off.median) * 100).toFixed(1)} %`);

  const account = appEnvironment(dir).account ?? homeAccount(dir) ?? '000000000000';
  const policies = loadAppPolicies(dir, { region: 'us-east-1', accountId: account, endpoint: 'http://127.0.0.1:4566' });
  const evaluator = new PolicyEvaluator(policies.store);
  const publisher = app.catalog.publishers[0]!;
  const event = publisher.publishes[0]!;
  const principal = principalOf(`arn:aws:sts::${account}:assumed-role/${names.publisherRole(app, publisher.name)}/bench`);
  const resource = `arn:aws:events:us-east-1:${account}:event-bus/${app.eventBusName}`;
  const decisions = measureRate(() => {
    const d = evaluator.evaluate({
      principal,
      action: 'events:PutEvents',
      resource,
      context: { 'events:source': [event.source], 'events:detail-type': [event.detailType], 'aws:SecureTransport': 'true' },
    });
    if (d.decision !== 'Allow') throw new Error(`the publisher's own event was denied: ${d.explanation}`);
    return 1;
  });
  console.log(
    `one PutEvents decision (in process): ${spread(decisions, (x) => `${(x / 1000).toFixed(1)}k/s`)} = ${(1e6 / decisions.median).toFixed(1)} us each`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
