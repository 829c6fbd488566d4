/**
 * Service-to-service authorization of rule deliveries, as EventBridge meets it on AWS: a rule
 * sends to an SQS queue as the service principal `events.amazonaws.com`, so the queue's policy
 * must allow `sqs:SendMessage` for it (with `aws:SourceArn` the rule's ARN), and a queue
 * encrypted with a customer managed KMS key needs that key's policy to allow the service
 * `kms:GenerateDataKey` and `kms:Decrypt` (SQS asks KMS for a data key for each message it stores).
 * The same holds for the target's dead-letter queue. A queue encrypted with the AWS managed key
 * `alias/aws/sqs` cannot receive from EventBridge at all: that key's policy cannot be changed.
 *
 * Decisions come from the project's own evaluator (iam/), on the policies of the synthesized app
 * (a queue policy set at run time with SetQueueAttributes replaces the template's).
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html#sqs-what-permissions-for-sse
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
 */
import {
  compilePolicy,
  denialMessage,
  evaluate,
  PolicyEvaluator,
  type AccessRequest,
  type CompiledPolicy,
  type Decision,
  type PolicyStore,
} from '../iam';
import { parseArn } from '../assembly/arn';
import type { IamMode } from './iam-mode';

/** The principal EventBridge delivers as. */
export const EVENTS_SERVICE_PRINCIPAL = 'events.amazonaws.com';

/** The AWS managed key of SQS: its key policy admits only callers of its own account, never a service principal. */
export const AWS_MANAGED_SQS_KEY = 'alias/aws/sqs';

/**
 * The DLQ `ERROR_CODE` of a delivery refused for lack of permissions, from the codes the
 * EventBridge User Guide lists. The exact `ERROR_MESSAGE` text AWS writes is not documented;
 * the runtime writes the error SQS answers its caller (`AccessDenied`, `KMS.AccessDeniedException`)
 * followed by IAM's access-denied message.
 */
export const NO_PERMISSIONS = 'NO_PERMISSIONS';

/** The DLQ `ERROR_CODE` when EventBridge cannot assume the target's role (from the same list). */
export const FAILED_TO_ASSUME_ROLE = 'FAILED_TO_ASSUME_ROLE';

/** The session name of a delivery role's session; AWS does not document the one EventBridge uses. */
const DELIVERY_SESSION = 'events-delivery';

/** One delivery of EventBridge to an SQS queue: a rule's target or its dead-letter queue. */
export interface QueueDeliveryRequest {
  /** The rule whose target is being delivered (`aws:SourceArn`). */
  readonly ruleArn: string;
  readonly queueArn: string;
  /** The queue's KmsMasterKeyId attribute (key ARN, key id or alias), when it has one. */
  readonly kmsMasterKeyId?: string;
  /** The queue's Policy attribute as set at run time, when it has one; else the template's policy applies. */
  readonly queuePolicy?: string;
  /**
   * The target's RoleArn: EventBridge assumes it and sends as the role's session. Dead-letter
   * queues are written by the service principal, without the role.
   */
  readonly roleArn?: string;
}

/** A check AWS would refuse: what was asked, the decision and the message AWS gives. */
export interface DeliveryDenial {
  readonly action: string;
  readonly resource: string;
  /** The error the service answers EventBridge with: `AccessDenied` or `KMS.AccessDeniedException`. */
  readonly serviceError: string;
  /** The DLQ `ERROR_CODE`: `NO_PERMISSIONS`, or `FAILED_TO_ASSUME_ROLE`. */
  readonly errorCode: string;
  /** Who was refused: the service principal, or the role's session. */
  readonly principal: string;
  /** IAM's access-denied message, prefixed by the service error. */
  readonly message: string;
  /** One line naming the deciding statement (or the missing Allow). */
  readonly explanation: string;
}

export interface DeliveryAuthorizer {
  /** `warn` delivers and reports; `enforce` fails the delivery. */
  readonly mode: Exclude<IamMode, 'off'>;
  /** The first check of `request` that AWS would refuse, or undefined when every check allows. */
  checkQueue(request: QueueDeliveryRequest): DeliveryDenial | undefined;
}

export interface DeliveryAuthorizerOptions {
  mode: IamMode;
  /** The app's policies (bus, queue and key policies by ARN), e.g. `compilePolicyStore(policiesOf(assembly))`. */
  policies: PolicyStore & { trustPolicy?(roleArn: string): CompiledPolicy | undefined };
}

/** An authorizer for `mode`, or undefined when the mode is `off` (nothing is evaluated). */
export function deliveryAuthorizer(o: DeliveryAuthorizerOptions): DeliveryAuthorizer | undefined {
  if (o.mode === 'off') return undefined;
  // Policies set at run time, compiled once per text, each with an id for the decision cache.
  const live = new Map<string, { id: number; policy: CompiledPolicy | undefined }>();
  let ids = 0;
  const livePolicy = (text: string) => {
    let entry = live.get(text);
    if (!entry) {
      let policy: CompiledPolicy | undefined;
      try {
        policy = compilePolicy(JSON.parse(text), 'Policy');
      } catch {
        // A policy that does not parse allows nothing.
        policy = undefined;
      }
      // Bounded: a long session that sets many policies recompiles, never grows without end.
      if (live.size >= 100) live.clear();
      entry = { id: ++ids, policy };
      live.set(text, entry);
    }
    return entry;
  };
  const queuePolicy = (r: QueueDeliveryRequest): CompiledPolicy | undefined =>
    r.queuePolicy === undefined ? o.policies.resourcePolicy?.(r.queueArn) : livePolicy(r.queuePolicy).policy;
  // The request context is fixed by the rule, the queue, its key and the role, so each answer is
  // too: decided once per combination (and per Policy text set at run time), bounded.
  const decided = new Map<string, DeliveryDenial | undefined>();
  const check = (r: QueueDeliveryRequest): DeliveryDenial | undefined => {
    const policyId = r.queuePolicy === undefined ? 0 : livePolicy(r.queuePolicy).id;
    const key = `${r.ruleArn} ${r.queueArn} ${r.roleArn ?? ''} ${policyId} ${r.kmsMasterKeyId ?? ''}`;
    if (decided.has(key)) return decided.get(key);
    const answer = r.roleArn === undefined ? asService(r) : asRole(r, r.roleArn);
    if (decided.size >= 10_000) decided.clear();
    decided.set(key, answer);
    return answer;
  };

  /** The key of an encrypted queue when its policy is known, a refusal for the AWS managed key, or undefined. */
  const keyOf = (r: QueueDeliveryRequest): { arn: string; policy: CompiledPolicy } | { managed: string } | undefined => {
    const keyId = r.kmsMasterKeyId;
    if (keyId === undefined || keyId === '') return undefined;
    const queue = parseArn(r.queueArn);
    const partition = queue?.partition ?? 'aws';
    const region = queue?.region ?? '';
    if (keyId === AWS_MANAGED_SQS_KEY || keyId === `arn:${partition}:kms:${region}:${queue?.account}:${AWS_MANAGED_SQS_KEY}`) {
      return { managed: keyId };
    }
    const arn = keyId.startsWith('arn:')
      ? keyId
      : keyId.startsWith('alias/')
        ? undefined
        : `arn:${partition}:kms:${region}:${queue?.account ?? ''}:key/${keyId}`;
    // An alias of the app's own key, or a key the app does not define: its policy is unknown here.
    const policy = arn === undefined ? undefined : (o.policies.keyPolicy?.(arn) ?? o.policies.resourcePolicy?.(arn));
    return arn === undefined || policy === undefined ? undefined : { arn, policy };
  };

  /** SQS asks KMS for a data key (and decrypts it) on behalf of whoever sends. */
  const kmsChecks = (
    r: QueueDeliveryRequest,
    principal: string,
    context: Record<string, string>,
    decide: (request: AccessRequest) => Decision,
  ): DeliveryDenial | undefined => {
    const key = keyOf(r);
    if (key === undefined) return undefined;
    if ('managed' in key) {
      const request: AccessRequest = { principal, action: 'kms:GenerateDataKey', resource: key.managed };
      return {
        ...denial(
          request,
          { decision: 'ImplicitDeny', decidedBy: undefined, missing: 'key', explanation: '' },
          'KMS.AccessDeniedException',
        ),
        explanation: `queue ${r.queueArn} is encrypted with the AWS managed key ${AWS_MANAGED_SQS_KEY}, whose key policy cannot admit ${EVENTS_SERVICE_PRINCIPAL}; use a customer managed key`,
      };
    }
    const region = parseArn(r.queueArn)?.region ?? '';
    for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
      const request: AccessRequest = {
        principal,
        action,
        resource: key.arn,
        context: { ...context, 'kms:EncryptionContext:aws:sqs:arn': r.queueArn, 'kms:ViaService': `sqs.${region}.amazonaws.com` },
      };
      const decision = decide(request);
      if (decision.decision !== 'Allow') return denial(request, decision, 'KMS.AccessDeniedException');
    }
    return undefined;
  };

  /** Without a role: the service principal, which only resource policies can admit. */
  const asService = (r: QueueDeliveryRequest): DeliveryDenial | undefined => {
    const rule = parseArn(r.ruleArn);
    const context = {
      'aws:SourceArn': r.ruleArn,
      'aws:SourceAccount': rule?.account ?? '',
      // EventBridge calls SQS and KMS over TLS.
      'aws:SecureTransport': 'true',
    };
    const send: AccessRequest = { principal: EVENTS_SERVICE_PRINCIPAL, action: 'sqs:SendMessage', resource: r.queueArn, context };
    const sent = evaluate(send, { resource: queuePolicy(r) });
    if (sent.decision !== 'Allow') return denial(send, sent, 'AccessDenied');
    return kmsChecks(r, EVENTS_SERVICE_PRINCIPAL, context, (request) => {
      const key = keyOf(r);
      return evaluate(request, { key: key && 'policy' in key ? key.policy : undefined });
    });
  };

  /**
   * With the target's role: EventBridge assumes it (its trust policy must admit the service, else
   * FAILED_TO_ASSUME_ROLE) and sends as the session, which the role's own policies and the queue
   * and key policies decide, across accounts as IAM does.
   */
  const asRole = (r: QueueDeliveryRequest, roleArn: string): DeliveryDenial | undefined => {
    const role = parseArn(roleArn);
    const roleName = role?.resource.startsWith('role/') ? role.resource.slice(role.resource.lastIndexOf('/') + 1) : undefined;
    const trust = o.policies.trustPolicy?.(roleArn);
    // A role the app does not define: its policies are unknown here.
    if (!role || !roleName || trust === undefined) return undefined;
    const assume: AccessRequest = {
      principal: EVENTS_SERVICE_PRINCIPAL,
      action: 'sts:AssumeRole',
      resource: roleArn,
      context: { 'aws:SourceArn': r.ruleArn, 'aws:SourceAccount': parseArn(r.ruleArn)?.account ?? '', 'aws:SecureTransport': 'true' },
    };
    const assumed = evaluate(assume, { resource: trust });
    if (assumed.decision !== 'Allow') return denial(assume, assumed, 'AccessDenied', FAILED_TO_ASSUME_ROLE);
    const session = `arn:${role.partition}:sts::${role.account}:assumed-role/${roleName}/${DELIVERY_SESSION}`;
    const evaluator = new PolicyEvaluator({
      ...o.policies,
      resourcePolicy: (arn) => (arn === r.queueArn ? queuePolicy(r) : o.policies.resourcePolicy?.(arn)),
    });
    const context = { 'aws:SecureTransport': 'true' };
    const send: AccessRequest = { principal: session, action: 'sqs:SendMessage', resource: r.queueArn, context };
    const sent = evaluator.evaluate(send);
    if (sent.decision !== 'Allow') return denial(send, sent, 'AccessDenied');
    return kmsChecks(r, session, { ...context, 'kms:CallerAccount': role.account }, (request) => evaluator.evaluate(request));
  };
  return { mode: o.mode, checkQueue: check };
}

function denial(request: AccessRequest, decision: Decision, serviceError: string, errorCode: string = NO_PERMISSIONS): DeliveryDenial {
  return {
    action: request.action,
    resource: request.resource,
    principal: typeof request.principal === 'string' ? request.principal : request.principal.arn,
    errorCode,
    serviceError,
    message: `${serviceError}: ${denialMessage(request, decision)}`,
    explanation: decision.explanation,
  };
}

declare module './stream' {
  interface RuntimeEvents {
    /**
     * A delivery of a rule that the app's policies would refuse on AWS. In `warn` mode it was
     * delivered anyway; in `enforce` mode it failed (and `target.failed` follows).
     */
    'delivery.unauthorized': {
      busName: string;
      ruleName: string;
      ruleArn: string;
      targetId: string;
      targetArn: string;
      eventId: string;
      /** The queue checked: the target or the target's dead-letter queue. */
      queueArn: string;
      purpose: 'target' | 'dead-letter';
      mode: 'warn' | 'enforce';
      principal: string;
      action: string;
      resource: string;
      errorMessage: string;
      explanation: string;
    };
  }
}
