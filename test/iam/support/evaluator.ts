/**
 * The project's evaluator (iam/) fed the same policies that `decide` in simulate.ts hands the
 * simulator, so the two can be compared request by request (differential.test.ts) and the fast
 * one can order the slow one's work (widening.ts).
 */
import { ApplicablePolicies, CompiledPolicy, compilePolicy, Decision, evaluate, isKmsKey } from '../../../iam';
import { PolicyDocument, PolicyModel, resourcePolicyFor } from './policies';
import { AccessRequest, Decision as SimDecision, describeRequest } from './simulate';

const compiledDocs = new WeakMap<PolicyDocument, CompiledPolicy>();
function compiled(doc: PolicyDocument, id: string): CompiledPolicy {
  let c = compiledDocs.get(doc);
  if (!c) {
    c = compilePolicy(doc, id);
    compiledDocs.set(doc, c);
  }
  return c;
}

const FULL_AWS_ACCESS = { Effect: 'Allow' as const, Action: '*', Resource: '*' };

/** The policies that `decide` in simulate.ts hands the simulator, compiled for iam/. */
function applicable(model: PolicyModel, r: AccessRequest): ApplicablePolicies {
  const identity = [
    ...(model.identity[r.principal] ?? []).map((p) => compiled(p.document, p.source)),
    ...(r.identityPolicies ?? []).map((doc, i) => compiled(doc, `request-${i}`)),
  ];
  const base = r.identityPoliciesOnly
    ? undefined
    : (resourcePolicyFor(model, r.resource) ?? (r.outsidePolicy && { source: 'outside', document: r.outsidePolicy }));
  let resource: CompiledPolicy | undefined;
  if (base) {
    const changed = r.resourceAllowsOnly || r.resourceStatements;
    const document = changed
      ? {
          ...base.document,
          Statement: [
            ...base.document.Statement.filter((s) => !(r.resourceAllowsOnly && s.Effect === 'Deny')),
            ...(r.resourceStatements ?? []),
          ],
        }
      : base.document;
    if (document.Statement.length > 0) resource = changed ? compilePolicy(document, base.source) : compiled(document, base.source);
  }
  // "The identity policy alone" means without the permissions boundary too, as simulate.ts hands it over.
  const bound = r.identityPoliciesOnly ? undefined : model.boundaries?.[r.principal];
  const boundary = bound ? compiled(bound.document, bound.source) : undefined;
  // One organisation level, as simulate.ts hands it over: FullAWSAccess plus the case's SCPs.
  const scp = r.serviceControlPolicies
    ? [
        compilePolicy(
          { Version: '2012-10-17', Statement: [FULL_AWS_ACCESS, ...r.serviceControlPolicies.flatMap((d) => d.Statement)] },
          'scp',
        ),
      ]
    : undefined;
  return isKmsKey(r.resource) ? { identity, key: resource, boundary, scp } : { identity, resource, boundary, scp };
}

/**
 * Requests the evaluator does not model, left to the simulator alone: assuming a role (or tagging
 * its session). A role's trust policy must allow even in the same account, as a key policy must,
 * and iam/ decides it like any resource policy. The matrix checks these cases against the simulator.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
 */
export const outOfScope = (r: AccessRequest): boolean => /^arn:[^:]+:iam::\d{12}:role\//.test(r.resource) && r.action.startsWith('sts:');

/** iam/'s decision on `r` under `model`, with the request context the simulator harness adds. */
export function evaluateRequest(model: PolicyModel, r: AccessRequest): Decision {
  // KMS refuses every request on a disabled key before reading a policy; simulate.ts models it the same way.
  if (r.action.startsWith('kms:') && r.disabledKeys?.includes(r.resource)) {
    return { decision: 'ImplicitDeny', decidedBy: undefined, explanation: 'the key is disabled' };
  }
  // The simulator harness adds aws:SecureTransport=true unless the case says otherwise.
  return evaluate(
    { principal: r.principal, action: r.action, resource: r.resource, context: { 'aws:SecureTransport': 'true', ...r.context } },
    applicable(model, r),
  );
}

/** iam/'s decisions in the simulator's words. */
export const AS_SIMULATOR: Record<Decision['decision'], SimDecision> = {
  Allow: 'Allowed',
  ExplicitDeny: 'ExplicitlyDenied',
  ImplicitDeny: 'ImplicitlyDenied',
};

/**
 * Cases where the evaluator follows the AWS documentation and the simulator does not: a
 * predicate on the request, and the page that decides it. Empty: the two agree on every case.
 */
export const DOCUMENTED_DISAGREEMENTS: readonly { readonly matches: (r: AccessRequest) => boolean; readonly documentation: string }[] = [];

/**
 * Undefined when iam/ (or `evaluate`) decides `request` as the simulator did, or the two differ
 * where the documentation decides for the evaluator; otherwise the request with both decisions
 * and the evaluator's deciding statement.
 */
export function disagreement(
  model: PolicyModel,
  request: AccessRequest,
  simulator: SimDecision,
  evaluate: (model: PolicyModel, r: AccessRequest) => Decision = evaluateRequest,
): { readonly evaluator: Decision; readonly message?: string } {
  const evaluator = evaluate(model, request);
  if (AS_SIMULATOR[evaluator.decision] === simulator || DOCUMENTED_DISAGREEMENTS.some((d) => d.matches(request))) return { evaluator };
  return {
    evaluator,
    message: `${describeRequest(request)}: simulator ${simulator}, evaluator ${evaluator.decision} (${evaluator.explanation})`,
  };
}
