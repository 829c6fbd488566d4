/**
 * Delivery of a matched event to a rule's targets (SQS queues, Lambda functions, other
 * buses), with the target's RetryPolicy (exponential backoff on the clock, bounded by
 * attempts and event age) and DeadLetterConfig (the event and the attributes EventBridge adds).
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
 */
import { randomUUID } from 'node:crypto';
import { TargetInput, renderTargetInput } from '../engine';
import type { Clock, ClockTimer } from './clock';
import type { DeliveryAuthorizer } from './delivery-authorization';
import type { AwsError } from './errors';
import type { Rule } from './events';
import { EventBridgeEvent, eventTime } from './events-validation';
import type { MessageAttributeValue, SqsBroker } from './sqs';
import type { EventStream } from './stream';
import type { TargetDef } from './template';

/** RetryPolicy defaults of a rule target: 24 hours and 185 attempts. */
export const DEFAULT_RETRY = { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86400 };

export interface DeliveryRetryOptions {
  /** First retry delay; doubles per attempt with jitter. @default 1000 */
  baseDelayMs?: number;
  /** Longest delay between two attempts. @default 60000 */
  maxDelayMs?: number;
  /** Source of jitter in [0, 1). @default Math.random */
  random?: () => number;
}

/** The outcome of one function invocation (lambda.ts). */
export type InvocationOutcome =
  | { ok: true; payload: string; durationMs: number }
  | { ok: false; error: { errorType: string; errorMessage: string }; durationMs: number };

/** Lambda targets are invoked asynchronously (invocation type Event) through this. */
export interface FunctionInvoker {
  get(nameOrArn: string): { name: string; arn: string; invoke(payload: string): Promise<InvocationOutcome> } | undefined;
}

/** Where an event for a bus target goes. */
export interface BusForwarder {
  /** Sends the event to the bus with this ARN; false when there is no such bus. */
  forward(busArn: string, event: EventBridgeEvent, fromRuleArn: string): boolean;
}

export interface TargetDeliveryOptions {
  clock: Clock;
  stream: EventStream;
  sqs: SqsBroker;
  functions?: FunctionInvoker;
  buses: BusForwarder;
  retry?: DeliveryRetryOptions;
  /**
   * Checks each delivery to a queue against the app's queue and key policies, as AWS does
   * (delivery-authorization.ts). Without it nothing is checked (`--iam off`).
   */
  authorizer?: DeliveryAuthorizer;
}

/** A target delivery failure; `retryable` false goes to the DLQ at once, as EventBridge does. */
export class DeliveryError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

export function targetInput(t: TargetDef): TargetInput {
  return { input: t.input, inputPath: t.inputPath, inputTransformer: t.inputTransformer };
}

export function targetName(arn: string): string {
  return arn.split(/[:/]/).pop() ?? arn;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export class TargetDelivery {
  private readonly retry: Required<DeliveryRetryOptions>;
  private readonly timers = new Set<ClockTimer>();
  private readonly asyncInvocations = new Set<Promise<void>>();

  constructor(private readonly o: TargetDeliveryOptions) {
    this.retry = {
      baseDelayMs: o.retry?.baseDelayMs ?? 1000,
      maxDelayMs: o.retry?.maxDelayMs ?? 60000,
      random: o.retry?.random ?? Math.random,
    };
  }

  /** Deliveries waiting for a retry. */
  get pendingRetries(): number {
    return this.timers.size;
  }

  /** Delivers `event` to target `t` of `rule`; attempt 0 is the first. Never throws. */
  deliver(rule: Rule, t: TargetDef, event: EventBridgeEvent, ingestedAt: number, attempt: number): void {
    const ref = { busName: rule.bus.name, ruleName: rule.name, ruleArn: rule.arn, targetId: t.id, targetArn: t.arn, eventId: event.id };
    let body: string | undefined;
    try {
      body = renderTargetInput(event, targetInput(t), {
        ruleArn: rule.arn,
        ruleName: rule.name,
        eventBusName: rule.bus.name,
        ingestionTime: eventTime(ingestedAt) ?? '',
        targetId: t.id,
      });
    } catch (err) {
      this.fail(rule, t, event, ingestedAt, attempt, new DeliveryError('InvalidTargetInput', (err as Error).message, false));
      return;
    }
    // An input path that selects nothing delivers nothing, as in AWS.
    if (body === undefined) {
      this.o.stream.publish('target.skipped', { ...ref, reason: 'input selects nothing' });
      return;
    }
    try {
      this.send(rule, t, body, event);
      this.o.stream.publish('target.delivered', { ...ref, attempt: attempt + 1, latencyMs: this.o.clock.now() - ingestedAt });
    } catch (err) {
      const e = err instanceof DeliveryError ? err : new DeliveryError('InternalFailure', (err as Error).message, true);
      this.fail(rule, t, event, ingestedAt, attempt, e);
    }
  }

  private send(rule: Rule, t: TargetDef, body: string, event: EventBridgeEvent): void {
    const [, , service] = t.arn.split(':');
    if (service === 'sqs') {
      const q = this.o.sqs.byArn(t.arn);
      if (!q) throw new DeliveryError('SQS.NonExistentQueue', `Queue ${t.arn} does not exist.`, false);
      this.authorize(rule, t, event, q, 'target');
      try {
        q.send({ body, groupId: q.fifo ? (t.sqsMessageGroupId ?? 'default') : undefined, dedupId: q.fifo ? event.id : undefined });
      } catch (err) {
        const e = err as AwsError;
        throw new DeliveryError(`SQS.${e.code ?? 'Error'}`, e.message, false);
      }
      return;
    }
    if (service === 'events' && t.arn.includes(':event-bus/')) {
      if (!this.o.buses.forward(t.arn, { ...event, id: randomUUID() }, rule.arn)) {
        throw new DeliveryError('ResourceNotFoundException', `Event bus ${targetName(t.arn)} does not exist.`, false);
      }
      return;
    }
    const fn = service === 'lambda' ? this.o.functions?.get(t.arn) : undefined;
    if (service === 'lambda' && this.o.functions) {
      if (!fn) throw new DeliveryError('Lambda.ResourceNotFoundException', `Function not found: ${t.arn}`, false);
      this.invokeAsync(fn, rule, body, event);
      return;
    }
    throw new DeliveryError('UnsupportedTarget', `Targets of this type are not emulated locally: ${t.arn}`, false);
  }

  /**
   * Checks that EventBridge may send to `q` (the target or its dead-letter queue). A refusal is
   * published; in enforce mode it throws the error AWS fails the delivery with, which is not
   * retried: EventBridge sends permission failures straight to the dead-letter queue.
   * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
   */
  private authorize(
    rule: Rule,
    t: TargetDef,
    event: EventBridgeEvent,
    q: { arn: string; settings: { extra: Record<string, string> } },
    purpose: 'target' | 'dead-letter',
  ): void {
    const a = this.o.authorizer;
    if (!a) return;
    const denied = a.checkQueue({
      ruleArn: rule.arn,
      queueArn: q.arn,
      kmsMasterKeyId: q.settings.extra.KmsMasterKeyId,
      queuePolicy: q.settings.extra.Policy,
      // EventBridge writes a dead-letter queue as itself, not as the target's role.
      roleArn: purpose === 'target' ? t.roleArn : undefined,
    });
    if (!denied) return;
    this.o.stream.publish('delivery.unauthorized', {
      busName: rule.bus.name,
      ruleName: rule.name,
      ruleArn: rule.arn,
      targetId: t.id,
      targetArn: t.arn,
      eventId: event.id,
      queueArn: q.arn,
      purpose,
      mode: a.mode,
      principal: denied.principal,
      action: denied.action,
      resource: denied.resource,
      errorMessage: denied.message,
      explanation: denied.explanation,
    });
    if (a.mode === 'enforce') throw new DeliveryError(denied.errorCode, denied.message, false);
  }

  /** Invocation type Event: the delivery succeeds once the function has the event; its outcome is published. */
  private invokeAsync(fn: NonNullable<ReturnType<FunctionInvoker['get']>>, rule: Rule, body: string, event: EventBridgeEvent): void {
    const base = { functionName: fn.name, functionArn: fn.arn, sourceArn: rule.arn };
    this.o.stream.publish('function.invoked', { ...base, invocationType: 'Event', records: 1, messageIds: [event.id] });
    const p = fn
      .invoke(body)
      .then((r) => {
        if (r.ok) this.o.stream.publish('function.completed', { ...base, durationMs: r.durationMs, ok: 1, failed: 0 });
        else
          this.o.stream.publish('function.failed', {
            ...base,
            durationMs: r.durationMs,
            errorType: r.error.errorType,
            errorMessage: r.error.errorMessage,
            records: 1,
          });
      })
      .finally(() => this.asyncInvocations.delete(p));
    this.asyncInvocations.add(p);
  }

  private fail(rule: Rule, t: TargetDef, event: EventBridgeEvent, ingestedAt: number, attempt: number, err: DeliveryError): void {
    const ref = { busName: rule.bus.name, ruleName: rule.name, ruleArn: rule.arn, targetId: t.id, targetArn: t.arn, eventId: event.id };
    const policy = { ...DEFAULT_RETRY, ...definedOnly(t.retryPolicy ?? {}) };
    const ageMs = this.o.clock.now() - ingestedAt;
    const delay = Math.round(Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** attempt) * (0.5 + this.retry.random() / 2));
    const attemptsLeft = attempt < policy.maximumRetryAttempts;
    const ageLeft = ageMs + delay < policy.maximumEventAgeInSeconds * 1000;
    this.o.stream.publish('target.failed', {
      ...ref,
      attempt: attempt + 1,
      errorCode: err.code,
      errorMessage: err.message,
      retryable: err.retryable,
    });
    if (err.retryable && attemptsLeft && ageLeft) {
      const timer = this.o.clock.setTimeout(() => {
        this.timers.delete(timer);
        this.deliver(rule, t, event, ingestedAt, attempt + 1);
      }, delay);
      this.timers.add(timer);
      this.o.stream.publish('target.retried', { ...ref, attempt: attempt + 2, delayMs: delay, ageMs });
      return;
    }
    const exhausted = !err.retryable ? undefined : !attemptsLeft ? 'MaximumRetryAttempts' : 'MaximumEventAgeInSeconds';
    this.deadLetter(rule, t, event, attempt, err, exhausted);
  }

  /** Sends the event to the target's DLQ with the attributes EventBridge adds. */
  private deadLetter(
    rule: Rule,
    t: TargetDef,
    event: EventBridgeEvent,
    retries: number,
    err: DeliveryError,
    exhausted?: 'MaximumRetryAttempts' | 'MaximumEventAgeInSeconds',
  ): void {
    const ref = { busName: rule.bus.name, ruleName: rule.name, ruleArn: rule.arn, targetId: t.id, targetArn: t.arn, eventId: event.id };
    const dlq = t.deadLetterArn ? this.o.sqs.byArn(t.deadLetterArn) : undefined;
    if (!dlq) {
      // No DLQ (or it is gone): EventBridge drops the event.
      this.o.stream.publish('target.dropped', {
        ...ref,
        errorCode: err.code,
        errorMessage: err.message,
        reason: t.deadLetterArn ? `dead-letter queue ${t.deadLetterArn} does not exist` : 'no dead-letter queue',
        deadLetterQueueArn: t.deadLetterArn,
      });
      return;
    }
    const s = (v: string): MessageAttributeValue => ({ DataType: 'String', StringValue: v });
    const attributes: Record<string, MessageAttributeValue> = {
      RULE_ARN: s(rule.arn),
      TARGET_ARN: s(t.arn),
      ERROR_CODE: s(err.code),
      ERROR_MESSAGE: s(err.message.slice(0, 1000)),
      RETRY_ATTEMPTS: { DataType: 'Number', StringValue: String(retries) },
      ...(exhausted ? { EXHAUSTED_RETRY_CONDITION: s(exhausted) } : {}),
    };
    try {
      this.authorize(rule, t, event, dlq, 'dead-letter');
      const sent = dlq.send({
        body: JSON.stringify(event),
        attributes,
        groupId: dlq.fifo ? 'default' : undefined,
        dedupId: dlq.fifo ? event.id : undefined,
      });
      this.o.stream.publish('target.dead-lettered', {
        ...ref,
        deadLetterQueueArn: dlq.arn,
        messageId: sent.messageId,
        errorCode: err.code,
        errorMessage: err.message,
        retryAttempts: retries,
        exhaustedRetryCondition: exhausted,
      });
    } catch (e) {
      this.o.stream.publish('target.dropped', {
        ...ref,
        errorCode: err.code,
        errorMessage: err.message,
        reason: `its dead-letter queue ${dlq.name} refused it: ${(e as Error).message}`,
        deadLetterQueueArn: dlq.arn,
      });
    }
  }

  /** Cancels pending retries; returns how many there were (their events are lost with the in-memory state). */
  close(): number {
    const n = this.timers.size;
    for (const t of this.timers) this.o.clock.clearTimeout(t);
    this.timers.clear();
    return n;
  }

  /** Settles when every asynchronous invocation started so far has returned. */
  async idle(): Promise<void> {
    await Promise.all([...this.asyncInvocations]);
  }
}
