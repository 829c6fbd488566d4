import '../support/sdk-warning';
import { runDemo, type DemoResult } from '../../scripts/demo';
import { app } from '../../catalog';
import { LoanApplicationSubmitted } from '../../catalog/loans';
import { names } from '../../sdk/catalog';

// The README's main job, run as a test: if the demo stops showing the flow it promises, this fails.
// It runs on virtual time (the clock jumps whenever the app is idle), so the poison message's
// five receives take no real waiting, with the template's own visibility timeout.
describe('npm run demo', () => {
  let result: DemoResult | undefined;
  const narration: string[] = [];

  beforeAll(async () => {
    result = await runDemo({ port: 0, quiet: true, log: () => undefined, say: (line) => narration.push(line), virtualTime: true });
  }, 180_000);

  afterAll(async () => {
    await result?.runtime.close();
  });

  test('the approved and large applications are approved and the low credit score is rejected', () => {
    expect(result!.notifications).toEqual({
      'app-demo-approved': 'loan-approved',
      'app-demo-rejected': 'loan-rejected',
      'app-demo-large': 'loan-approved',
    });
  });

  test('only the large application opens a manual-review case', () => {
    expect(result!.reviewCases).toEqual(['app-demo-large']);
  });

  test('with IAM enforced, the forged publish is refused in AWS’s words, naming the publisher’s session and the bus', () => {
    const f = result!.forged;
    const publisher = app.catalog.publishers.find((p) => p.publishes.includes(LoanApplicationSubmitted))!;
    // An event type the publisher's catalog entry does not list.
    expect(publisher.publishes.some((e) => e.detailType === f.detailType)).toBe(false);
    expect(f.principal).toContain(`:assumed-role/${names.publisherRole(app, publisher.name)}/`);
    expect(f.error).toBe('AccessDeniedException');
    expect(f.message).toContain(`User: ${f.principal} is not authorized to perform: events:PutEvents on resource: `);
    expect(f.message).toContain(`:event-bus/${app.eventBusName}`);
    expect(narration.some((l) => l.startsWith(`== forged ${f.detailType}`) && l.includes('AccessDeniedException'))).toBe(true);
  });

  test('the poison message reaches the underwriting DLQ after exactly maxReceiveCount receives', () => {
    expect(result!.deadLetter).toEqual({ applicationId: 'app-demo-poison', receiveCount: 5 });
    expect(narration).toContain('== dead letter in LoanEvents-underwriting-dlq: app-demo-poison after 5 receives');
  });

  test('it ends with the trace of the approved application: publications, handler runs and the events they caused', () => {
    const trace = result!.trace;
    // Submitted -> LoanApplicationApproved (underwriting) -> ApplicantNotified (notifications)
    expect(trace[0]).toBe('correlation demo-app-demo-approved: 3 event(s)');
    // Published by the intake publisher's role session: the demo runs with IAM enforced.
    const publisher = app.catalog.publishers.find((p) => p.publishes.includes(LoanApplicationSubmitted))!;
    expect(trace[1]).toMatch(/^LoanApplicationSubmitted \S+ published \S+ by arn:aws:sts::\d{12}:assumed-role\/(\S+)\/\S+$/);
    expect(trace[1]).toContain(`:assumed-role/${names.publisherRole(app, publisher.name)}/`);
    expect(trace[2]).toBe('  rule LoanEvents-underwriting -> LoanEvents-underwriting');
    expect(trace).toContainEqual(expect.stringMatching(/^ {2}LoanEvents-underwriting receive 1: processed at /));
    expect(trace).toContain('    rule LoanEvents-notifications -> LoanEvents-notifications');
    expect(trace).toContainEqual(expect.stringMatching(/^ {2}LoanApplicationApproved \S+ published /));
    expect(trace).toContainEqual(expect.stringMatching(/^ {4}LoanEvents-notifications receive 1: processed at /));
    expect(trace).toContainEqual(expect.stringMatching(/^ {4}ApplicantNotified \S+ published /));
    expect(narration).toContain('== trace of app-demo-approved (npm run cli -- trace demo-app-demo-approved):');
  });

  test('the poison message raises the alarm on the underwriting DLQ, which notifies the alarm topic', () => {
    const alarm = result!.deadLetterAlarm;
    expect(alarm.state).toBe('ALARM');
    expect(alarm.notified).toEqual([expect.stringMatching(/^arn:aws:sns:[a-z0-9-]+:\d{12}:LoanEvents-alarms$/)]);
    expect(narration.some((l) => l.startsWith(`== alarm ${alarm.name}: ALARM (Threshold Crossed: `))).toBe(true);
  });
});
