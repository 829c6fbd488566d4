/**
 * Loaded by jest's setupFiles for every test file: the AWS SDK's Node.js-version notice is not
 * test output (see sdk/node-version-notice.ts). Every other warning still prints.
 */
import { silenceSdkNodeVersionWarning } from '../../sdk/node-version-notice';

silenceSdkNodeVersionWarning();
