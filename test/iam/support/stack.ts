/**
 * Synthesizes the LoanEvents stack once and describes what the authorization matrix needs: the
 * resolved policies, and the concrete ARNs of the bus, key, roles, queues, rules and tables,
 * found through the stack's public properties. synth.ts is the only file that knows the stack's
 * API; when the stack renames something, adapt `describeStack` there.
 *
 * The default topology (the matrix catalog, no other props), which several test files read, is
 * built once and cached under .cache/tests, keyed on the contents of everything it derives from
 * (test/support/cache.ts); without the cache every file would load the CDK and synthesize the app.
 */
import { z } from 'zod';
import { cachedJson, SYNTH_INPUTS } from '../../support/cache';
import { app as loanApp } from '../../../catalog';
import { loanCatalog } from '../../../catalog/loans';
import { AppDefinition, defineApp, defineCatalog, defineEvent, definePublisher, EventCatalog } from '../../../sdk/catalog';
import type { EventRouterAppProps } from '../../../lib/stacks';
import { CfnTemplate, Environment } from './intrinsics';
import { PolicyDocument, PolicyModel } from './policies';

/** Key administrator and operator roles the matrix's app is deployed with (context `keyAdminArns`, `operatorRoleArns`). */
export const KEY_ADMIN = 'arn:aws:iam::111111111111:role/KeyAdministrator';
export const OPERATOR = 'arn:aws:iam::111111111111:role/EventsOperator';

/** The account of the catalog's cross-account publisher, and one that the catalog does not list. */
export const PARTNER_ACCOUNT = '222222222222';
export const UNLISTED_ACCOUNT = '333333333333';

/** An event type published from another account, to exercise the bus policy's cross-account allow. */
export const LoanReferralReceived = defineEvent({
  source: 'com.example.partners.broker',
  detailType: 'LoanReferralReceived',
  version: '1',
  description: 'A broker in a partner account referred an applicant.',
  data: z.object({ referralId: z.string() }),
});

/** The loan catalog plus a publisher in another account. */
export const matrixCatalog: EventCatalog = defineCatalog({
  events: [...loanCatalog.events, LoanReferralReceived],
  publishers: [
    ...loanCatalog.publishers,
    definePublisher({
      name: 'partner-broker',
      description: 'A broker platform in a partner account.',
      publishes: [LoanReferralReceived],
      account: PARTNER_ACCOUNT,
    }),
  ],
  consumers: loanCatalog.consumers,
});

export interface ConsumerResources {
  readonly name: string;
  /** The Lambda execution role. */
  readonly role: string;
  readonly queue: string;
  /** Redrive target of the buffer queue. */
  readonly deadLetterQueue: string;
  /** Where EventBridge puts events it could not deliver to the buffer queue. */
  readonly deliveryDeadLetterQueue: string;
  readonly rule: string;
  /** The consumer's own key. */
  readonly key: string;
  /** ARN of a log stream in the function's log group. */
  readonly logStream: string;
  /** The consumer's own DynamoDB tables: idempotency records first, then state if it has any. */
  readonly tables: readonly [idempotency: string, ...state: string[]];
  /** The key of the consumer's backup vault, and the role AWS Backup uses (lib/backup.ts). */
  readonly backupKey: string;
  readonly backupRole: string;
}

export interface Topology {
  readonly env: Environment;
  /** The app the stacks were built from: its naming policy names the roles the stacks do not create. */
  readonly app: AppDefinition;
  readonly catalog: EventCatalog;
  readonly template: CfnTemplate;
  readonly policies: PolicyModel;
  readonly busArn: string;
  /** The router data key: bus and archive. */
  readonly keyArn: string;
  /** Key of the bus dead-letter queue alone. */
  readonly deadLetterKey: string;
  /** Key of the alarm topic. */
  readonly alarmKey: string;
  /** Key of the trail, its bucket and log group; absent with an existing trail. */
  readonly auditKey?: string;
  /** Key administrators and operator roles the app was deployed with. */
  readonly keyAdminArns: string[];
  readonly operatorRoleArns: string[];
  /** The management guard (a service control policy), resolved. */
  readonly managementGuard: PolicyDocument;
  /** The bus's own dead-letter queue (events it could not encrypt or decrypt). */
  readonly busDeadLetterQueue: string;
  /** Roles of same-account publishers and of consumers that publish, by catalog name. */
  readonly publisherRoles: Record<string, string>;
  readonly consumers: Record<string, ConsumerResources>;
  readonly deploymentRoleArns: string[];
  /** Further roles the stack was told may manage rules (`ruleManagerArns`). */
  readonly ruleManagerArns: string[];
  /** The trail, its log stream and the role CloudTrail writes logs with; absent with an existing trail. */
  readonly trail?: { arn: string; logStream: string; role: string };
  readonly alarmTopic?: string;
  /** Every queue in the stack, for checks that hold for all of them. */
  readonly queues: string[];
}

/** The rule-management actions only deployment roles may call on the bus's rules. */
export const SUBSCRIBE_ACTIONS = [
  'events:PutRule',
  'events:PutTargets',
  'events:RemoveTargets',
  'events:DeleteRule',
  'events:DisableRule',
  'events:EnableRule',
];

/** Props of the matrix's app: the router's props, the catalog and where handlers are. */
export type MatrixProps = Partial<EventRouterAppProps> & {
  catalog?: EventCatalog;
  eventBusName?: string;
  /** A whole app definition (name, bus, namespace, catalog); `catalog` and `eventBusName` are then ignored. @default - the example's, with `catalog` */
  definition?: AppDefinition;
};

/** The app of the matrix: the example's, with `catalog` (the matrix catalog unless given) and `eventBusName`. */
export function matrixApp(catalog: EventCatalog = matrixCatalog, eventBusName: string = loanApp.eventBusName): AppDefinition {
  return defineApp({ ...loanApp, eventBusName, catalog });
}

/** What the default topology derives from besides the app's sources: the code that builds and describes it. */
const TOPOLOGY_INPUTS = [
  ...SYNTH_INPUTS,
  'test/iam/support/stack.ts',
  'test/iam/support/synth.ts',
  'test/iam/support/intrinsics.ts',
  'test/iam/support/policies.ts',
  'test/support/cdk.ts',
  'test/support/cache.ts',
];

/** The topology without the parts that are code (app and catalog), as cached. */
type TopologyData = Omit<Topology, 'app' | 'catalog'>;

/** A cache entry for a topology: its name, and the files its props come from (the test file, fixture folders), relative to the root. */
export interface TopologyCache {
  readonly name: string;
  readonly inputs: readonly string[];
}

/**
 * Synthesizes the app (by default from the matrix catalog, with a key administrator and an
 * operator role) and describes it. The default one (no props) is cached, and so is one whose
 * caller names the files its props come from (`cache`); an entry is used while none of its
 * inputs has changed. Without either, the app is synthesized on every call.
 */
export function loadTopology(given: MatrixProps = {}, cache?: TopologyCache): Topology {
  // The CDK is loaded only when something is synthesized, not when the topology is cached.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const build = () => (require('./synth') as typeof import('./synth')).buildTopology(given);
  const entry = cache ?? (Object.keys(given).length === 0 ? { name: 'iam-matrix-topology', inputs: [] } : undefined);
  if (!entry) return build();
  const data = cachedJson<TopologyData>(entry.name, [...TOPOLOGY_INPUTS, ...entry.inputs], () => {
    const { app: _app, catalog: _catalog, ...rest } = build();
    return rest;
  });
  // The parts that are code, as synth.ts derives them from the props.
  const app = given.definition ?? matrixApp(given.catalog, given.eventBusName);
  return { ...data, app, catalog: given.definition?.catalog ?? given.catalog ?? matrixCatalog };
}
