import { renderMermaid, summarizePattern } from '../../cli/mermaid';
import { parseTemplate } from '../../cli/topology';

describe('summarizePattern', () => {
  test('lists detail-types and content filters, and joins $or branches', () => {
    const pattern = {
      $or: [
        { source: ['a'], 'detail-type': ['Approved', 'Rejected'] },
        { source: ['a'], 'detail-type': ['Submitted'], detail: { data: { amount: [{ numeric: ['>=', 250000] }], channel: ['web'] } } },
      ],
    };
    expect(summarizePattern(pattern)).toBe('Approved, Rejected or Submitted where amount >= 250000 and channel = "web"');
  });
});

describe('parseTemplate', () => {
  // GIVEN a minimal template: a rule to a queue with a DLQ, read by a function that may publish
  const template = {
    Resources: {
      Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'orders' } },
      Q: {
        Type: 'AWS::SQS::Queue',
        Properties: { QueueName: 'orders-q', RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['D', 'Arn'] }, maxReceiveCount: 4 } },
      },
      D: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'orders-dlq' } },
      R: {
        Type: 'AWS::Events::Rule',
        Properties: {
          Name: 'orders-rule',
          EventBusName: { Ref: 'Bus' },
          EventPattern: { 'detail-type': ['OrderPlaced'] },
          Targets: [{ Id: 't', Arn: { 'Fn::GetAtt': ['Q', 'Arn'] } }],
        },
      },
      Role: { Type: 'AWS::IAM::Role', Properties: {} },
      Pol: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          Roles: [{ Ref: 'Role' }],
          PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: '*' }] },
        },
      },
      F: {
        Type: 'AWS::Lambda::Function',
        Properties: { FunctionName: 'orders-fn', Role: { 'Fn::GetAtt': ['Role', 'Arn'] }, MemorySize: 512, Architectures: ['arm64'] },
      },
      M: {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: { FunctionName: { Ref: 'F' }, EventSourceArn: { 'Fn::GetAtt': ['Q', 'Arn'] }, BatchSize: 7 },
      },
    },
  };

  test('follows references from rule to queue to DLQ and function', () => {
    const t = parseTemplate(template);
    expect(t.busName).toBe('orders');
    expect(t.rules[0]?.targets[0]).toMatchObject({ queueId: 'Q' });
    expect(t.queues.get('Q')?.redrive).toEqual({ deadLetterQueueId: 'D', maxReceiveCount: 4 });
    expect(t.functions[0]).toMatchObject({
      name: 'orders-fn',
      memoryMB: 512,
      publishes: true,
      sources: [{ queueId: 'Q', batchSize: 7, batchingWindowSeconds: 0 }],
    });
  });

  test('draws it without an archive or delivery DLQ when the template has none', () => {
    const m = renderMermaid(parseTemplate(template));
    expect(m).toContain('Rule orders-rule<br/>OrderPlaced');
    expect(m).toContain('q_Q -. "after 4 receives" .-> q_D');
    expect(m).toContain('q_Q -- "batches of 7" --> fn_F');
    expect(m).toContain('fn_F -. "PutEvents" .-> bus');
    expect(m).not.toContain('archive');
    expect(m).not.toContain('delivery failed');
  });

  test('a file that is not a template is a clear error', () => {
    expect(() => parseTemplate({ hello: 1 })).toThrow('the template has no Resources section');
  });
});
