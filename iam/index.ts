/**
 * The project's IAM policy evaluator: parses policy documents once, evaluates requests as the
 * IAM User Guide's decision flow does, and explains each decision in one line. It imports
 * nothing from the rest of the project, so the runtime, the CLI and tests can all use it.
 */
export { PolicyParseError } from './errors';
export { compilePolicy } from './policy';
export type { CompiledPolicy, CompiledStatement, Effect, PolicyDocumentJson, StatementJson } from './policy';
export { principalOf } from './principal';
export type { PrincipalMatch, PrincipalType, RequestPrincipal } from './principal';
export {
  accountOfArn,
  applies,
  boundaryAllow,
  contextLookup,
  decide,
  evaluate,
  evaluationInput,
  explicitDeny,
  identityAllow,
  isKmsKey,
  keyAllow,
  principalContext,
  resourceAllow,
  scpWithoutAllow,
  sessionAllow,
  statementLabel,
} from './evaluate';
export type {
  AccessRequest,
  ApplicablePolicies,
  ContextValue,
  Decision,
  DecisionKind,
  DecidingStatement,
  EvaluationInput,
  Found,
  PolicyKind,
} from './evaluate';
export { denialMessage, PolicyEvaluator } from './evaluator';
export type { PolicyStore } from './evaluator';
export { MULTIVALUED_KEYS, parseDate } from './conditions';
export { compilePolicyStore, governingResource, SUBSCRIBE_ACTIONS } from './store';
export type { CompiledPolicyStore, PolicySet, SourcedPolicy } from './store';
