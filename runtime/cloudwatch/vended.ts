/**
 * The metrics AWS vends for the stack's resources, built in one place from the runtime's typed
 * events: AWS/Events per rule and per PutEvents request, AWS/SQS per queue, AWS/Lambda per
 * function, with AWS's names, dimensions and units. `runtime/metrics.ts` maps the event stream
 * onto these shapes.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html
 * @see https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
 */
import type { Datapoint, Dimension } from './metric-store';

export type VendedEvent =
  /**
   * The rule matched an event (MatchedEvents, TriggeredRules). `firstForEvent` is set on the
   * first rule an event matched, so the bus-level MatchedEvents counts events, not rules.
   */
  | {
      readonly type: 'rule.matched';
      readonly time: number;
      readonly busName: string;
      readonly ruleName: string;
      readonly firstForEvent?: boolean;
    }
  /**
   * A target invocation ended: delivered, failed for good (FailedInvocations), moved to the
   * target's dead-letter queue (InvocationsSentToDlq) or not even that
   * (InvocationsFailedToBeSentToDlq). Retries that later succeed are not reported, as on AWS.
   */
  | {
      readonly type: 'target.delivered';
      readonly time: number;
      readonly busName: string;
      readonly ruleName: string;
      readonly outcome: 'delivered' | 'failed' | 'dead-lettered' | 'dead-letter-failed';
    }
  /** One PutEvents request that was accepted: its entries and how many of them failed. */
  | { readonly type: 'put-events'; readonly time: number; readonly entries: number; readonly failed: number }
  | { readonly type: 'message.sent'; readonly time: number; readonly queueName: string; readonly bytes: number }
  | { readonly type: 'message.received' | 'message.deleted'; readonly time: number; readonly queueName: string; readonly count: number }
  /** ReceiveMessage calls that returned nothing (long polls included), summed over a minute. */
  | { readonly type: 'message.empty-receive'; readonly time: number; readonly queueName: string; readonly count?: number }
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
      /** Invocations of every function of the account running at that moment. @default concurrent */
      readonly accountConcurrent?: number;
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
      const rule = ruleDimensions(e.busName, e.ruleName);
      const bus = [{ Name: 'EventBusName', Value: e.busName }];
      return [
        point('AWS/Events', 'MatchedEvents', rule, e.time, 1, 'Count'),
        ...(e.firstForEvent ? [point('AWS/Events', 'MatchedEvents', bus, e.time, 1, 'Count')] : []),
        // TriggeredRules: by rule, by bus and for the account (no dimension).
        ...[rule, bus, []].map((d) => point('AWS/Events', 'TriggeredRules', d, e.time, 1, 'Count')),
      ];
    }
    case 'target.delivered': {
      const rule = ruleDimensions(e.busName, e.ruleName);
      const byRule: Record<typeof e.outcome, string[]> = {
        delivered: [],
        failed: ['FailedInvocations'],
        'dead-lettered': ['FailedInvocations', 'InvocationsSentToDlq'],
        'dead-letter-failed': ['FailedInvocations', 'InvocationsFailedToBeSentToDlq'],
      };
      return [
        // Invocations: by rule and for the account.
        point('AWS/Events', 'Invocations', rule, e.time, 1, 'Count'),
        point('AWS/Events', 'Invocations', [], e.time, 1, 'Count'),
        ...byRule[e.outcome].map((n) => point('AWS/Events', n, rule, e.time, 1, 'Count')),
      ];
    }
    case 'put-events':
      // Account-wide: AWS publishes the PutEvents metrics with no dimension, not per bus.
      return [
        point('AWS/Events', 'PutEventsApproximateCallCount', [], e.time, 1, 'Count'),
        point('AWS/Events', 'PutEventsApproximateSuccessCount', [], e.time, 1, 'Count'),
        point('AWS/Events', 'PutEventsEntriesCount', [], e.time, e.entries, 'Count'),
        point('AWS/Events', 'PutEventsFailedEntriesCount', [], e.time, e.failed, 'Count'),
      ];
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
      return [point('AWS/SQS', 'NumberOfEmptyReceives', [{ Name: 'QueueName', Value: e.queueName }], e.time, e.count ?? 1, 'Count')];
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
      // By function and aggregated over the account's functions (no dimension), as Lambda publishes them.
      const sets: [Dimension[], number][] = [
        [[{ Name: 'FunctionName', Value: e.functionName }], e.concurrent],
        [[], e.accountConcurrent ?? e.concurrent],
      ];
      // Throttled requests are not invocations and have no duration.
      if (e.outcome === 'throttled') return sets.map(([d]) => point('AWS/Lambda', 'Throttles', d, e.time, 1, 'Count'));
      return sets.flatMap(([d, concurrent]) => [
        point('AWS/Lambda', 'Invocations', d, e.time, 1, 'Count'),
        point('AWS/Lambda', 'Errors', d, e.time, e.outcome === 'error' ? 1 : 0, 'Count'),
        point('AWS/Lambda', 'Duration', d, e.time, e.durationMs, 'Milliseconds'),
        point('AWS/Lambda', 'ConcurrentExecutions', d, e.time, concurrent, 'Count'),
      ]);
    }
  }
}

/**
 * A rule's dimensions: `RuleName` alone for the default bus, `EventBusName` and `RuleName` for a
 * custom bus, as the EventBridge User Guide documents them.
 */
export function ruleDimensions(busName: string, ruleName: string): Dimension[] {
  if (busName === 'default') return [{ Name: 'RuleName', Value: ruleName }];
  return [
    { Name: 'EventBusName', Value: busName },
    { Name: 'RuleName', Value: ruleName },
  ];
}
