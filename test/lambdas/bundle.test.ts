/**
 * The manual-review handler as a minified bundle (sdk/build.ts), loaded like the local
 * runtime and Lambda load it: zod 4 and the Powertools parser must work once bundled,
 * with English messages although only the English locale is kept.
 */
import { readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { LoanApplicationSubmitted } from '../../catalog/loans';
import { bundleHandler } from '../../sdk/build';
import { submittedData } from '../sdk/factories';
import { projectScratchDir } from '../support/scratch';
import { captureOutput, eventBridgeEvent, lambdaContext, sqsEvent, sqsRecord, startLocalAws, type LocalAws } from './support';

let aws: LocalAws;
let outdir: string;
let bundled: string;

beforeAll(async () => {
  aws = await startLocalAws('manual-review');
  // Inside the project, so that the bundle finds @aws-sdk/* as it would in the Lambda runtime.
  outdir = projectScratchDir('bundle-');
  bundled = await bundleHandler({ entry: path.join(__dirname, '..', '..', 'lambdas', 'manual-review', 'index.ts'), outdir });
});
afterAll(async () => {
  await aws.close();
  rmSync(outdir, { recursive: true, force: true });
});

test('the bundle keeps no locale but English', () => {
  const code = readFileSync(bundled, 'utf8');
  expect(code).toContain('Invalid input');
  // A phrase from zod's German locale.
  expect(code).not.toContain('Ungültige Eingabe');
});

test('the bundled handler parses, validates and processes records', async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { handler } = require(bundled) as { handler: (e: SQSEvent, c: unknown) => Promise<SQSBatchResponse> };
  const good = sqsRecord(
    eventBridgeEvent(LoanApplicationSubmitted, {
      metadata: { correlationId: 'corr-b1', schemaVersion: '1' },
      data: submittedData({ applicationId: 'app-b1', amount: 400_000 }),
    }),
  );
  const bad = sqsRecord(
    eventBridgeEvent(LoanApplicationSubmitted, {
      metadata: { correlationId: 'corr-b2', schemaVersion: '1' },
      data: { ...submittedData(), currency: 42 },
    }),
  );
  const { result, lines } = await captureOutput(() => handler(sqsEvent(good, bad), lambdaContext('manual-review')));
  expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: bad.messageId }] });
  const failure = lines.find((l) => l.message === 'Event can never be processed; it will reach the DLQ');
  expect((failure?.error as { message: string }).message).toBe(
    `Invalid event in SQS record ${bad.messageId}: body.detail.data.currency: Invalid option: expected one of "USD"|"EUR"|"GBP"`,
  );
  const items = (await aws.dynamodb.send(new ScanCommand({ TableName: 'manual-review-state' }))).Items ?? [];
  expect(items.map((i) => i.applicationId?.S)).toEqual(['app-b1']);
});
