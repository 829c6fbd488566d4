/**
 * Widening mutations of a policy model: each makes one statement grant more (or deny less),
 * the way a careless edit or an over-broad construct default would. A good matrix has a case
 * that changes its decision for every mutation that really widens access.
 */
import { MatrixCase, satisfies } from './matrix';
import { PolicyModel, resourcePolicyOwner, Statement, StatementRef, statementAt, statements, withStatement } from './policies';
import { AS_SIMULATOR, evaluateRequest, outOfScope } from './evaluator';
import { decide } from './simulate';

export type MutationKind = 'resource-to-star' | 'drop-condition' | 'action-to-service-wildcard' | 'principal-to-star' | 'remove-deny';

export interface Mutation {
  /** `<kind>: <statement label>`, unique within a model. */
  readonly name: string;
  readonly kind: MutationKind;
  readonly ref: StatementRef;
  /** The widened statement; undefined when the statement is removed. */
  readonly statement: Statement | undefined;
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The widening mutations of every statement in `model`; mutations that change nothing are left out. */
export function mutationsOf(model: PolicyModel): Mutation[] {
  const out: Mutation[] = [];
  for (const ref of statements(model)) {
    const s = statementAt(model, ref);
    const push = (kind: MutationKind, statement: Statement | undefined) => {
      if (statement !== undefined && JSON.stringify(statement) === JSON.stringify(s)) return;
      out.push({ name: `${kind}: ${ref.label}`, kind, ref, statement });
    };
    if (s.Effect === 'Deny') {
      push('remove-deny', undefined);
      continue;
    }
    if (s.Resource !== undefined) push('resource-to-star', { ...s, Resource: '*' });
    if (s.Condition !== undefined) {
      const { Condition: _dropped, ...rest } = s;
      push('drop-condition', rest);
    }
    if (ref.kind === 'resource' && s.Principal !== undefined) push('principal-to-star', { ...s, Principal: { AWS: '*' } });
    if (s.Action !== undefined) {
      const services = [...new Set(list(s.Action).map((a) => (a === '*' ? '*' : `${a.split(':')[0]}:*`)))];
      push('action-to-service-wildcard', { ...s, Action: services.length === 1 ? services[0] : services });
    }
  }
  return out;
}

/**
 * The owner of the resource policy governing each case, per set of resource policies: every
 * mutation asks again about the same cases (hundreds of mutations times hundreds of cases), and
 * models are not mutated once built.
 */
const owners = new WeakMap<PolicyModel['resource'], Map<MatrixCase, string | undefined>>();
function ownerOf(model: PolicyModel, c: MatrixCase): string | undefined {
  let byCase = owners.get(model.resource);
  if (!byCase) owners.set(model.resource, (byCase = new Map()));
  if (!byCase.has(c)) byCase.set(c, resourcePolicyOwner(model, c.request.resource));
  return byCase.get(c);
}

/** Whether `c` is decided by the policy that `ref` points into. */
export function involves(model: PolicyModel, c: MatrixCase, ref: StatementRef): boolean {
  if (ref.kind === 'identity') return c.request.principal === ref.owner;
  if (ref.kind === 'boundary') return c.request.principal === ref.owner && !c.request.identityPoliciesOnly;
  return !c.request.identityPoliciesOnly && ownerOf(model, c) === ref.owner;
}

/**
 * The matrix of one model, which of its cases the simulator passes on that model, and which the
 * evaluator says hold on it (each decided once per case, when first asked: every mutation of the
 * model asks again about the same cases).
 */
export interface CatchSearch {
  readonly model: PolicyModel;
  readonly cases: readonly MatrixCase[];
  passes(c: MatrixCase): Promise<boolean>;
  /** `evaluatorSatisfies` on the search's model. */
  predicted(c: MatrixCase): boolean | undefined;
}

export function catchSearch(model: PolicyModel, cases: readonly MatrixCase[]): CatchSearch {
  const verdicts = new Map<MatrixCase, Promise<boolean>>();
  const predictions = new Map<MatrixCase, boolean | undefined>();
  return {
    model,
    cases,
    passes: (c) => {
      let v = verdicts.get(c);
      if (!v) {
        v = decide(model, c.request).then((d) => satisfies(d, c.expect));
        verdicts.set(c, v);
      }
      return v;
    },
    predicted: (c) => {
      if (!predictions.has(c)) predictions.set(c, evaluatorSatisfies(model, c));
      return predictions.get(c);
    },
  };
}

/** Whether iam/ says `c` holds under `model`; undefined for requests it does not model. */
function evaluatorSatisfies(model: PolicyModel, c: MatrixCase): boolean | undefined {
  return outOfScope(c.request) ? undefined : satisfies(AS_SIMULATOR[evaluateRequest(model, c.request).decision], c.expect);
}

/**
 * The first case that passes on the search's model and fails once `mutation` is applied, both by
 * the simulator, or undefined when no case notices. Every relevant case may be tried; the order
 * only decides how soon a catch is found: first the cases that the project's evaluator (iam/,
 * which differential.test.ts holds to the simulator) predicts will notice, then the rest,
 * those that expect a deny first, since widening turns denies into allows.
 */
export async function firstCatch(search: CatchSearch, mutation: Mutation): Promise<MatrixCase | undefined> {
  const { model } = search;
  const mutated = withStatement(model, mutation.ref, mutation.statement);
  const byDenyFirst = search.cases
    .filter((c) => involves(model, c, mutation.ref))
    .sort((a, b) => Number(a.expect === 'Allowed') - Number(b.expect === 'Allowed'));
  const predicted = (c: MatrixCase) => search.predicted(c) === true && evaluatorSatisfies(mutated, c) === false;
  const catches = async (c: MatrixCase) => (await search.passes(c)) && !satisfies(await decide(mutated, c.request), c.expect);
  // The predicted cases in order, each tried as soon as it is predicted (a catch usually comes
  // among the first, so the rest are never evaluated), then the others in order.
  const unlikely: MatrixCase[] = [];
  for (const c of byDenyFirst) {
    if (!predicted(c)) unlikely.push(c);
    else if (await catches(c)) return c;
  }
  for (const c of unlikely) if (await catches(c)) return c;
  return undefined;
}

/** A mutation that no case can notice because it does not widen access, and why. */
export interface Exclusion {
  readonly reason: string;
  readonly applies: (m: Mutation, original: Statement) => boolean;
}

const isBus = (arn: string) => /^arn:[^:]+:events:[^:]*:\d{12}:event-bus\//.test(arn);
const isQueue = (arn: string) => /^arn:[^:]+:sqs:/.test(arn);

/** Whether a statement only applies when an AWS service acts for a given resource. */
const needsSourceArn = (s: Statement) =>
  Object.values(s.Condition ?? {}).some((keys) => Object.keys(keys).some((k) => k.toLowerCase() === 'aws:sourcearn'));

export const HARMLESS: readonly Exclusion[] = [
  {
    reason:
      'Opening the principal of a statement conditioned on aws:SourceArn admits nobody new: only an AWS service ' +
      'acting for the named resource sets aws:SourceArn, no caller can supply it.',
    applies: (m, s) => m.kind === 'principal-to-star' && needsSourceArn(s),
  },
  {
    reason:
      'Opening the principal of a bus-policy PutEvents Allow admits nobody new: DenyPutEventsFromUnlistedPrincipals ' +
      "denies every principal outside the catalog's list (removing that Deny is caught on its own).",
    applies: (m, s) =>
      m.kind === 'principal-to-star' &&
      m.ref.kind === 'resource' &&
      isBus(m.ref.owner) &&
      list(s.Action).every((a) => a === 'events:PutEvents'),
  },
  {
    reason: 'A queue policy governs only the queues it is attached to: Resource "*" in it still means that queue.',
    applies: (m) => m.kind === 'resource-to-star' && m.ref.kind === 'resource' && isQueue(m.ref.owner),
  },
  {
    reason:
      "A bus policy governs only its bus and the bus's rules, and events:PutEvents applies to event buses only: " +
      'Resource "*" in a PutEvents-only statement still means this bus.',
    applies: (m, s) =>
      m.kind === 'resource-to-star' &&
      m.ref.kind === 'resource' &&
      isBus(m.ref.owner) &&
      list(s.Action).every((a) => a === 'events:PutEvents'),
  },
  {
    reason:
      "Widening a publisher's bus-policy Allow to events:* keeps its events:source condition, which only PutEvents " +
      'and PutRule requests carry; PutRule is denied to every principal but the deployment roles ' +
      '(the matrix proves it for each publisher, and that the Deny cannot be removed unnoticed).',
    applies: (m, s) =>
      m.kind === 'action-to-service-wildcard' &&
      m.ref.kind === 'resource' &&
      isBus(m.ref.owner) &&
      Object.values(s.Condition ?? {}).some((keys) => Object.keys(keys).some((k) => k.toLowerCase() === 'events:source')),
  },
  {
    reason:
      "Widening a publisher's IAM PutEvents Allow to events:* keeps its Resource (this bus) and its Null condition " +
      'requiring events:source and events:detail-type, and among the actions on an event bus only PutEvents carries ' +
      'those keys: the widened statement still allows PutEvents of the catalog events alone.',
    applies: (m, s) =>
      m.kind === 'action-to-service-wildcard' &&
      m.ref.kind === 'identity' &&
      list(s.Action).every((a) => a === 'events:PutEvents') &&
      list(s.Resource).every(isBus) &&
      ['events:source', 'events:detail-type'].every((k) =>
        Object.entries(s.Condition ?? {}).some(
          ([op, keys]) =>
            op.toLowerCase() === 'null' && Object.entries(keys).some(([key, v]) => key.toLowerCase() === k && String(v) === 'false'),
        ),
      ),
  },
  {
    reason:
      "Widening a permissions boundary's PutEvents statement to events:* adds nothing: the boundary's " +
      'EverythingButPutEvents statement already leaves every other action to the role policies, and the ' +
      'widened statement keeps its conditions for PutEvents.',
    applies: (m, s) =>
      m.kind === 'action-to-service-wildcard' && m.ref.kind === 'boundary' && list(s.Action).every((a) => a === 'events:PutEvents'),
  },
  {
    reason:
      "Widening a role's IAM statement on a KMS key admits nothing the key policy does not: KMS requires the key " +
      "policy to allow, and the app's key policies delegate to IAM only for named administrators, deployment and " +
      'operator roles (aws:PrincipalArn), never for a consumer role, which they name directly with the same ' +
      'conditions. The matrix proves the key-policy side for every such grant, and the stack-wide test that no ' +
      'key policy delegates kms:* to the account.',
    applies: (m, s) =>
      (m.kind === 'drop-condition' || m.kind === 'action-to-service-wildcard' || m.kind === 'resource-to-star') &&
      m.ref.kind === 'identity' &&
      list(s.Action).every((a) => a.startsWith('kms:')) &&
      list(s.Resource).every((r) => /^arn:[^:]+:kms:[^:]*:\d{12}:key\//.test(r)),
  },
  {
    reason:
      "Widening the deployment's CreateGrant statement to kms:* keeps its kms:GrantIsForAWSResource condition, which " +
      'only CreateGrant, ListGrants and RevokeGrant requests carry; the deployment roles already administer the key ' +
      '(kms:List*, kms:RevokeGrant), so nothing new is allowed.',
    applies: (m, s) =>
      m.kind === 'action-to-service-wildcard' &&
      m.ref.kind === 'resource' &&
      list(s.Action).every((a) => a === 'kms:CreateGrant') &&
      Object.values(s.Condition ?? {}).some((keys) => Object.keys(keys).some((k) => k.toLowerCase() === 'kms:grantisforawsresource')),
  },
];

export function exclusionOf(m: Mutation, original: Statement): Exclusion | undefined {
  return HARMLESS.find((e) => e.applies(m, original));
}
