/**
 * The metrics AWS vends for the stack's resources, built in one place from the runtime's typed
 * events: AWS/Events per rule, AWS/SQS per queue, AWS/Lambda per function, with AWS's names,
 * dimensions and units. The event shapes below are what this module needs; the runtime's event
 * stream maps onto them where it is plugged in.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html
 * @see https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
 */
import type { Datapoint, Dimension } from './metric-store';

export type VendedEvent =
  /** The rule matched an event (MatchedEvents, TriggeredRules). */
  | { readonly type: 'rule.matched'; readonly time: number; readonly busName: string; readonly ruleName: string }
  /**
   * A target invocation ended: delivered, failed for good (FailedInvocations), moved to the
   * target's dead-letter queue (DeadLetterInvocations) or not even that
   * (InvocationsFailedToBeSentToDlq). Retries that later succeed are not reported, as on AWS.
   */
  | {
      readonly type: 'target.delivered';
      readonly time: number;
      readonly busName: string;
      readonly ruleName: string;
      readonly outcome: 'delivered' | 'failed' | 'dead-lettered' | 'dead-letter-failed';
    }
  | { readonly type: 'message.sent'; readonly time: number; readonly queueName: string; readonly bytes: number }
  | { readonly type: 'message.received' | 'message.deleted'; readonly time: number; readonly queueName: string; readonly count: number }
  | { readonly type: 'message.empty-receive'; readonly time: number; readonly queueName: string }
  /** A queue's gauges, sampled once a minute as SQS publishes them. */
  | {
      readonly type: 'queue.sampled';
      readonly time: number;
      readonly queueName: string;
      readonly visible: number;
      readonly notVisible: number;
      readonly delayed: number;
      readonly oldestAgeSeconds: number;
    }
  | {
      readonly type: 'function.invoked';
      readonly time: number;
      readonly functionName: string;
      readonly outcome: 'ok' | 'error' | 'throttled';
      readonly durationMs: number;
      /** Invocations of the function running at that moment, this one included. */
      readonly concurrent: number;
    };

const point = (namespace: string, metricName: string, dimensions: Dimension[], time: number, value: number, unit: string): Datapoint => ({
  namespace,
  metricName,
  dimensions,
  timestamp: time,
  value,
  unit,
});

/** The datapoints one runtime event produces (none for events AWS publishes no metric about). */
export function vendedDatapoints(e: VendedEvent): Datapoint[] {
  switch (e.type) {
    case 'rule.matched': {
      // EventBridge publishes rule metrics with [RuleName] and with [EventBusName, RuleName].
      const sets = ruleDimensions(e.busName, e.ruleName);
      return sets.flatMap((d) => [
        point('AWS/Events', 'MatchedEvents', d, e.time, 1, 'Count'),
        point('AWS/Events', 'TriggeredRules', d, e.time, 1, 'Count'),
      ]);
    }
    case 'target.delivered': {
      const names: Record<typeof e.outcome, string[]> = {
        delivered: ['Invocations'],
        failed: ['Invocations', 'FailedInvocations'],
        'dead-lettered': ['Invocations', 'FailedInvocations', 'DeadLetterInvocations'],
        'dead-letter-failed': ['Invocations', 'FailedInvocations', 'InvocationsFailedToBeSentToDlq'],
      };
      return ruleDimensions(e.busName, e.ruleName).flatMap((d) =>
        names[e.outcome].map((n) => point('AWS/Events', n, d, e.time, 1, 'Count')),
      );
    }
    case 'message.sent': {
      const d = [{ Name: 'QueueName', Value: e.queueName }];
      return [
        point('AWS/SQS', 'NumberOfMessagesSent', d, e.time, 1, 'Count'),
        point('AWS/SQS', 'SentMessageSize', d, e.time, e.bytes, 'Bytes'),
      ];
    }
    case 'message.received':
      return [point('AWS/SQS', 'NumberOfMessagesReceived', [{ Name: 'QueueName', Value: e.queueName }], e.time, e.count, 'Count')];
    case 'message.deleted':
      return [point('AWS/SQS', 'NumberOfMessagesDeleted', [{ Name: 'QueueName', Value: e.queueName }], e.time, e.count, 'Count')];
    case 'message.empty-receive':
      return [point('AWS/SQS', 'NumberOfEmptyReceives', [{ Name: 'QueueName', Value: e.queueName }], e.time, 1, 'Count')];
    case 'queue.sampled': {
      const d = [{ Name: 'QueueName', Value: e.queueName }];
      return [
        point('AWS/SQS', 'ApproximateNumberOfMessagesVisible', d, e.time, e.visible, 'Count'),
        point('AWS/SQS', 'ApproximateNumberOfMessagesNotVisible', d, e.time, e.notVisible, 'Count'),
        point('AWS/SQS', 'ApproximateNumberOfMessagesDelayed', d, e.time, e.delayed, 'Count'),
        point('AWS/SQS', 'ApproximateAgeOfOldestMessage', d, e.time, e.oldestAgeSeconds, 'Seconds'),
      ];
    }
    case 'function.invoked': {
      const d = [{ Name: 'FunctionName', Value: e.functionName }];
      // Throttled requests are not invocations and have no duration.
      if (e.outcome === 'throttled') return [point('AWS/Lambda', 'Throttles', d, e.time, 1, 'Count')];
      return [
        point('AWS/Lambda', 'Invocations', d, e.time, 1, 'Count'),
        point('AWS/Lambda', 'Errors', d, e.time, e.outcome === 'error' ? 1 : 0, 'Count'),
        point('AWS/Lambda', 'Duration', d, e.time, e.durationMs, 'Milliseconds'),
        point('AWS/Lambda', 'ConcurrentExecutions', d, e.time, e.concurrent, 'Count'),
      ];
    }
  }
}

function ruleDimensions(busName: string, ruleName: string): Dimension[][] {
  return [
    [{ Name: 'RuleName', Value: ruleName }],
    [
      { Name: 'EventBusName', Value: busName },
      { Name: 'RuleName', Value: ruleName },
    ],
  ];
}
