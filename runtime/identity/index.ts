/**
 * Identities and authorization for the local runtime: STS sessions, the access key of each
 * request, and the app's policies enforced on EventBridge and SQS calls. See docs/runtime.md.
 */
export { checksFor, EVENTS_CHECKS, SQS_CHECKS, type Check, type CheckEnv } from './authorization';
export {
  checkUsers,
  CredentialStore,
  readUsersFile,
  SESSION_KEY_PREFIX,
  type Identity,
  type Session,
  type UserConfig,
  type UsersFile,
} from './credentials';
export { loadAppPolicies, type AppPolicies, type PolicyContext, type RoleInfo } from './policies';
export { IdentityService, protocolError, type Caller, type ErrorProtocol, type IdentityServiceOptions } from './service';
export { readSignature, signatureMatches, type SignedRequest } from './sigv4';
export { STS_ACTIONS } from './sts';
