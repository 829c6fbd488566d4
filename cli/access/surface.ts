/**
 * The app's publish/subscribe surface, answered by the project's evaluator: for every candidate
 * principal, which event types it may put on each bus, which rule actions it may call on the bus's
 * rules, which queue actions it may call and which keys it may use, each with the request context
 * the grant depends on and the statement that decided it.
 */
import type { PolicyDocument } from '../../assembly';
import { SUBSCRIBE_ACTIONS } from '../../iam/store';
import {
  compilePolicy,
  PolicyEvaluator,
  principalOf,
  type CompiledPolicy,
  type ContextValue,
  type Decision,
  type PolicyStore,
  type RequestPrincipal,
} from '../../iam';
import type { AccessApp } from './app';
import {
  candidateContexts,
  candidatePrincipals,
  knownEventTypes,
  OTHER_DETAIL_TYPE,
  OTHER_SOURCE,
  type CandidatePrincipal,
} from './candidates';

export const QUEUE_ACTIONS = ['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage'] as const;
export const KEY_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'] as const;
/** Name of the rule that stands for "a new rule on the bus". */
export const NEW_RULE = 'access-surface-new-rule';

/** Identity policy id of the assumption for principals whose IAM policies are not in the app. */
export const ASSUMED_POLICY_ID = '(its own IAM policies, assumed to allow)';
const ASSUMED: CompiledPolicy = compilePolicy(
  { Version: '2012-10-17', Statement: [{ Sid: 'AssumedAllowAll', Effect: 'Allow', Action: '*', Resource: '*' }] },
  ASSUMED_POLICY_ID,
);

export interface DecidedBy {
  readonly kind: string;
  /** Where the policy is in the app (`LoanEvents-Router/EventRouterBusF1D2CDC8.Policy`). */
  readonly policy: string;
  readonly sid: string | null;
}

export interface Grant {
  /** `CandidatePrincipal.id`. */
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  /** The request context the grant needs (empty: any request). */
  readonly when: Readonly<Record<string, ContextValue>>;
  /** True when the request must use TLS (`aws:SecureTransport`). */
  readonly tlsOnly: boolean;
  readonly decidedBy: DecidedBy | null;
  /** True when it also needs the principal's own IAM policies (not in the app) to allow. */
  readonly ifIdentityAllows: boolean;
}

export interface PublishGrant extends Grant {
  /** null: a source (or detail-type) the app does not name, so any. */
  readonly source: string | null;
  readonly detailType: string | null;
}

export interface Surface {
  readonly environment: { readonly accounts: readonly string[]; readonly regions: readonly string[]; readonly agnostic: boolean };
  readonly stacks: readonly string[];
  readonly principals: readonly CandidatePrincipal[];
  readonly resources: {
    readonly buses: readonly string[];
    readonly rules: readonly string[];
    readonly queues: readonly string[];
    readonly keys: readonly string[];
  };
  readonly eventTypes: { readonly sources: readonly string[]; readonly detailTypes: readonly string[] };
  readonly publish: readonly PublishGrant[];
  readonly subscribe: readonly Grant[];
  readonly queues: readonly Grant[];
  readonly keys: readonly Grant[];
  /** How many requests the evaluator answered. */
  readonly evaluations: number;
}

/** A store over the app's policies that assumes an allow-everything identity policy where asked. */
export function storeFor(app: AccessApp, assumeIdentityAllow: (p: RequestPrincipal) => boolean): PolicyStore {
  const base = app.store;
  const roles = new Set(base.roles);
  return {
    ...base,
    identityPolicies: (p) => {
      if (roles.has(p.roleArn ?? p.arn)) return base.identityPolicies?.(p) ?? [];
      return assumeIdentityAllow(p) ? [ASSUMED] : [];
    },
  };
}

const decidedBy = (d: Decision): DecidedBy | null =>
  d.decidedBy ? { kind: d.decidedBy.policyKind, policy: d.decidedBy.policyId, sid: d.decidedBy.statementSid ?? null } : null;

/** Whether `a` asks for less than `b`: each of its entries is in `b`, and `b` has more. */
function narrower(a: Readonly<Record<string, ContextValue>>, b: Readonly<Record<string, ContextValue>>): boolean {
  const ka = Object.keys(a);
  if (ka.length >= Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && JSON.stringify(a[k]) === JSON.stringify(b[k]));
}

const partitionOf = (arn: string) => arn.split(':')[1] ?? 'aws';

export function buildSurface(app: AccessApp): Surface {
  const partition = partitionOf(app.buses[0]?.arn ?? app.queues[0]?.arn ?? 'arn:aws');
  const principals = candidatePrincipals(app, partition);
  const assumed = new Set(principals.filter((p) => p.assumesIdentityAllow).map((p) => p.arn));
  const evaluator = new PolicyEvaluator(storeFor(app, (p) => assumed.has(p.arn)));
  const withoutAssumption = new PolicyEvaluator(storeFor(app, () => false));
  const parsed = new Map(principals.map((p) => [p.id, principalOf(p.arn, p.tags ? { ...p.tags } : undefined)]));
  let evaluations = 0;

  const ask = (p: CandidatePrincipal, action: string, resource: string, when: Record<string, ContextValue>): Grant | undefined => {
    const principal = parsed.get(p.id) as RequestPrincipal;
    evaluations++;
    const d = evaluator.evaluate({ principal, action, resource, context: { 'aws:SecureTransport': 'true', ...when } });
    if (d.decision !== 'Allow') return undefined;
    evaluations++;
    const plain = evaluator.evaluate({ principal, action, resource, context: { 'aws:SecureTransport': 'false', ...when } });
    // Does the grant stand on the app's policies alone, or does it need the principal's own?
    let needsIdentity = false;
    if (p.assumesIdentityAllow) {
      evaluations++;
      needsIdentity =
        withoutAssumption.evaluate({ principal, action, resource, context: { 'aws:SecureTransport': 'true', ...when } }).decision !==
        'Allow';
    }
    return {
      principal: p.id,
      action,
      resource,
      when,
      tlsOnly: plain.decision !== 'Allow',
      decidedBy: decidedBy(d),
      ifIdentityAllows: needsIdentity,
    };
  };

  // ---- Publishing: every known source x detail-type, plus ones the app does not name. ----
  const types = knownEventTypes(app);
  const sources = [...types.sources, OTHER_SOURCE];
  const detailTypes = [...types.detailTypes, OTHER_DETAIL_TYPE];
  const publish: PublishGrant[] = [];
  for (const p of principals) {
    for (const bus of app.buses) {
      for (const source of sources) {
        for (const detailType of detailTypes) {
          const g = ask(p, 'events:PutEvents', bus.arn, { 'events:source': source, 'events:detail-type': detailType });
          if (g)
            publish.push({
              ...g,
              source: source === OTHER_SOURCE ? null : source,
              detailType: detailType === OTHER_DETAIL_TYPE ? null : detailType,
            });
        }
      }
    }
  }

  // ---- Subscribing: the rule actions on every rule of the app's buses, and on a new rule. ----
  const rules = [
    ...app.rules.filter((r) => r.busArn !== undefined).map((r) => r.arn),
    ...app.buses.map((b) => `${b.arn.replace(':event-bus/', ':rule/')}/${NEW_RULE}`),
  ];
  const subscribe: Grant[] = [];
  for (const p of principals) {
    for (const rule of rules) {
      for (const action of SUBSCRIBE_ACTIONS) {
        const g = ask(p, action, rule, {});
        if (g) subscribe.push(g);
      }
    }
  }

  // ---- Queues and keys: contexts from the conditions of the policies that could grant. ----
  const documentsFor = (p: CandidatePrincipal, resource: string): PolicyDocument[] => {
    const m = app.model;
    const owner = m.resource[resource];
    const role = parsed.get(p.id)?.roleArn;
    return [
      ...(owner ? [owner.document] : []),
      ...(role ? (m.identity[role] ?? []).map((x) => x.document) : []),
      ...(role && m.boundaries[role] ? [m.boundaries[role].document] : []),
    ];
  };
  const conditional = (resources: readonly string[], actions: readonly string[]): Grant[] => {
    const out: Grant[] = [];
    for (const p of principals) {
      for (const resource of resources) {
        const contexts = candidateContexts(documentsFor(p, resource));
        for (const action of actions) {
          const found: Grant[] = [];
          for (const when of contexts) {
            const g = ask(p, action, resource, when);
            if (!g) continue;
            found.push(g);
            // A grant without conditions covers every other context.
            if (Object.keys(when).length === 0) break;
          }
          // Keep the least a grant needs: drop a context that adds keys to another allowed one.
          out.push(...found.filter((g) => !found.some((o) => o !== g && narrower(o.when, g.when))));
        }
      }
    }
    return out;
  };
  const queues = conditional(
    app.queues.map((q) => q.arn),
    QUEUE_ACTIONS,
  );
  const keys = conditional(
    app.keys.map((k) => k.arn),
    KEY_ACTIONS,
  );

  return {
    environment: { accounts: app.accounts, regions: app.regions, agnostic: app.agnostic },
    stacks: app.assembly.stacks.map((s) => s.name),
    principals,
    resources: {
      buses: app.buses.map((b) => b.arn),
      rules,
      queues: app.queues.map((q) => q.arn),
      keys: app.keys.map((k) => k.arn),
    },
    eventTypes: types,
    publish,
    subscribe,
    queues,
    keys,
    evaluations,
  };
}
