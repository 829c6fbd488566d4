/**
 * An application definition: the catalog plus every name the deployed system uses (stack prefix,
 * bus, metrics namespace). The stacks, the handlers and the tools derive physical names from it
 * with the functions below, so a consumer stack and the router agree on names without exchanging
 * CloudFormation exports.
 */
import { ConsumerDefinition, EventCatalog } from './define';

/** Where the router stack (bus, key, trail) is deployed. */
export interface RouterPlacement {
  /**
   * Account of the bus. Required when a consumer names an account of its own, so that the
   * subscription and the consumer's policies can name the bus's account.
   * @default - the account of the CLI credentials at deploy time (environment-agnostic)
   */
  readonly account?: string;
  /**
   * Region of the bus.
   * @default - the Region of the CLI credentials at deploy time (environment-agnostic)
   */
  readonly region?: string;
}

export interface AppDefinition<C extends EventCatalog = EventCatalog> {
  /** PascalCase prefix of stack ids and physical names, e.g. `LoanEvents`. Valid: 1 to 24 characters `[A-Za-z0-9]`, starting with a capital. */
  readonly name: string;
  /** Name of the custom event bus. Valid: 1 to 256 characters of `[.\-_A-Za-z0-9]`. */
  readonly eventBusName: string;
  /** CloudWatch namespace of the handlers' Powertools metrics, e.g. `LoanEvents`. */
  readonly metricsNamespace: string;
  /** What exists and who may do what. */
  readonly catalog: C;
  /** Where the router stack goes. @default - environment-agnostic */
  readonly router?: RouterPlacement;
  /** One sentence for the stacks' descriptions. @default - none */
  readonly description?: string;
}

export function defineApp<C extends EventCatalog>(props: AppDefinition<C>): AppDefinition<C> {
  if (!/^[A-Z][A-Za-z0-9]{0,23}$/.test(props.name)) {
    throw new Error(`App name '${props.name}' must be PascalCase: a capital letter, then letters or digits, at most 24 characters`);
  }
  if (!/^[.\-_A-Za-z0-9]{1,256}$/.test(props.eventBusName) || props.eventBusName === 'default') {
    throw new Error(
      `App '${props.name}' eventBusName must be 1 to 256 characters of letters, digits, '.', '-' or '_', and not 'default' (given '${props.eventBusName}')`,
    );
  }
  if (!/^[A-Za-z0-9.\-_/#:]{1,255}$/.test(props.metricsNamespace) || props.metricsNamespace.startsWith('AWS/')) {
    throw new Error(
      `App '${props.name}' metricsNamespace must be 1 to 255 characters of letters, digits, '.-_/#:' and not start with 'AWS/' (given '${props.metricsNamespace}')`,
    );
  }
  const router = props.router ?? {};
  if (router.account !== undefined && !/^\d{12}$/.test(router.account)) {
    throw new Error(`App '${props.name}' router.account must be a 12-digit AWS account id (given '${router.account}')`);
  }
  for (const c of props.catalog.consumers) {
    if (c.account === undefined || c.account === router.account) continue;
    if (router.account === undefined || router.region === undefined) {
      throw new Error(
        `Consumer '${c.name}' is in account ${c.account}: set the app's router.account and router.region, so its subscription and policies can name the bus's account`,
      );
    }
    if (c.region !== undefined && c.region !== router.region) {
      throw new Error(
        `Consumer '${c.name}' is in Region ${c.region}, but EventBridge delivers to targets in other accounts only in the bus's Region (${router.region})`,
      );
    }
  }
  return props;
}

/** Physical and stack names derived from an app definition: the one naming policy. */
/**
 * Principal tag a publisher role trusts by default: principals of the account tagged with it, whose
 * value is the publisher's catalog name, may assume the role (lib/event-router.ts).
 */
export const PUBLISHER_TAG_KEY = 'event-router:publisher';

export const names = {
  /** Stack id (and name) of the router stack: `<App>-Router`. */
  routerStack: (app: AppDefinition) => `${app.name}-Router`,
  /** Stack id of a consumer's stack: `<App>-<consumer>`. */
  consumerStack: (app: AppDefinition, consumer: string) => `${app.name}-${consumer}`,
  /** Stack id of the bus-side subscription of a consumer in another account: `<App>-<consumer>-subscription`. */
  subscriptionStack: (app: AppDefinition, consumer: string) => `${app.name}-${consumer}-subscription`,
  /** Buffer queue, rule, function and log-group stem of a consumer: `<App>-<consumer>`. */
  consumerPrefix: (app: AppDefinition, consumer: string) => `${app.name}-${consumer}`,
  /** Role of a same-account publisher: `<App>-pub-<publisher>`. */
  publisherRole: (app: AppDefinition, publisher: string) => `${app.name}-pub-${publisher}`,
  /** Execution role of a consumer's function: `<App>-<consumer>-handler`. */
  consumerRole: (app: AppDefinition, consumer: string) => `${app.name}-${consumer}-handler`,
  /** Role EventBridge assumes to deliver to a consumer in another account: `<App>-<consumer>-delivery`. */
  deliveryRole: (app: AppDefinition, consumer: string) => `${app.name}-${consumer}-delivery`,
  /**
   * The optional deployment role of a consumer's team: `<App>-deploy-<consumer>`. The bus policy
   * lets roles named so manage only the rules named for their consumer.
   */
  consumerDeploymentRole: (app: AppDefinition, consumer: string) => `${app.name}-deploy-${consumer}`,
  /** The shared alarm topic: `<App>-alarms`. */
  alarmTopic: (app: AppDefinition) => `${app.name}-alarms`,
} as const;

/** The consumers of an app whose functions run in another account than the bus. */
export function isRemoteConsumer(app: AppDefinition, consumer: ConsumerDefinition): boolean {
  return consumer.account !== undefined && consumer.account !== app.router?.account;
}
