/** Builds the stacks of an app for template assertions. */
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { z } from 'zod';
import { app as loanApp } from '../../catalog';
import { AppDefinition, defineApp, defineCatalog, defineConsumer, defineEvent, definePublisher, EventCatalog, on } from '../../sdk/catalog';
import {
  buildRouterStack,
  buildStacks,
  ConsumerStack,
  EventRouterAppProps,
  EventRouterStacks,
  RouterStack,
  RouterStackProps,
} from '../../lib/stacks';
import { TEST_APP } from '../support/cdk';

/** The example's handlers. */
export const loanHandlers = path.join(__dirname, '..', '..', 'lambdas');

export interface BuiltApp {
  readonly app: App;
  readonly definition: AppDefinition;
  readonly stacks: EventRouterStacks;
  readonly router: RouterStack;
  /** The router stack's template. */
  readonly template: Template;
  /** Consumer stack templates by catalog name. */
  readonly consumers: Record<string, Template>;
  /** The consumer stack of a catalog name. */
  consumerStack(name: string): ConsumerStack;
  /** Every stack's template, by stack name. */
  readonly templates: Record<string, Template>;
}

/**
 * The stacks of `definition` without esbuild bundling (the `aws:cdk:bundling-stacks` context set
 * to none), so a template costs milliseconds instead of seconds. Bundling is covered in nag.test.ts.
 */
export function buildApp(definition: AppDefinition = loanApp, props: Partial<EventRouterAppProps> = {}): BuiltApp {
  const app = new App({ ...TEST_APP, context: { 'aws:cdk:bundling-stacks': [] } });
  const stacks = buildStacks(app, definition, { handlersDir: loanHandlers, ...props });
  const consumers = Object.fromEntries(Object.entries(stacks.consumers).map(([n, s]) => [n, Template.fromStack(s)]));
  const templates: Record<string, Template> = { [stacks.router.stackName]: Template.fromStack(stacks.router) };
  for (const s of [...Object.values(stacks.consumers), ...Object.values(stacks.subscriptions)])
    templates[s.stackName] = Template.fromStack(s);
  return {
    app,
    definition,
    stacks,
    router: stacks.router,
    template: templates[stacks.router.stackName] as Template,
    consumers,
    consumerStack: (name) => {
      const stack = stacks.consumers[name];
      if (!stack) throw new Error(`no consumer stack for '${name}'`);
      return stack;
    },
    templates,
  };
}

/** A test app around `catalog`, named like the example unless `name` is given. */
export function testApp(catalog: EventCatalog, name = 'LoanEvents', extra: Partial<AppDefinition> = {}): AppDefinition {
  return defineApp({ name, eventBusName: 'loan-events', metricsNamespace: name, catalog, ...extra });
}

/** Every stack of the example (or of `catalog`) with some props; `template` is the router's. */
export function buildStack(props: Partial<EventRouterAppProps> & { catalog?: EventCatalog } = {}, name = 'LoanEvents'): BuiltApp {
  const { catalog, ...rest } = props;
  return buildApp(catalog ? testApp(catalog, name) : name === 'LoanEvents' ? loanApp : testApp(loanApp.catalog, name), rest);
}

/**
 * Only the router stack of the example (or of `catalog`) with some router props, for tests that read
 * nothing else: a fifth of the CPU time of the whole app (`buildStack`), same template
 * (`buildRouterStack`).
 */
export function buildRouter(
  props: Omit<RouterStackProps, 'app' | 'env' | 'description'> & { catalog?: EventCatalog } = {},
  name = 'LoanEvents',
): { readonly router: RouterStack; readonly template: Template } {
  const { catalog, ...rest } = props;
  const definition = catalog ? testApp(catalog, name) : name === 'LoanEvents' ? loanApp : testApp(loanApp.catalog, name);
  const router = buildRouterStack(new App({ ...TEST_APP, context: { 'aws:cdk:bundling-stacks': [] } }), definition, rest);
  return { router, template: Template.fromStack(router) };
}

/** The one template of a consumer, or an error naming it. */
export function consumerTemplate(built: BuiltApp, name: string): Template {
  const t = built.consumers[name];
  if (!t) throw new Error(`no consumer stack for '${name}'`);
  return t;
}

/** All resources of a type, as [logicalId, properties] pairs. */
export function resourcesOf(template: Template, type: string): [string, Record<string, any>][] {
  return Object.entries(template.findResources(type)).map(([id, r]) => [id, (r as { Properties: Record<string, any> }).Properties]);
}

/** The one resource of a type whose logical id starts with `prefix`. */
export function resourceById(template: Template, type: string, prefix: string): Record<string, any> {
  const found = resourcesOf(template, type).filter(([id]) => id.startsWith(prefix));
  if (found.length !== 1) throw new Error(`expected one ${type} with id ${prefix}*, found ${found.map(([id]) => id).join(', ') || 'none'}`);
  return (found[0] as [string, Record<string, any>])[1];
}

/** Logical id of the one resource of a type whose logical id starts with `prefix`. */
export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} with id ${prefix}*, found ${ids.join(', ') || 'none'}`);
  return ids[0] as string;
}

/** Key policy statements of the stack's one KMS key. */
export function keyStatements(template: Template, logicalIdPrefix?: string): Record<string, any>[] {
  const keys = resourcesOf(template, 'AWS::KMS::Key').filter(([id]) =>
    // The backup vault's own key is checked in backup-network.test.ts.
    logicalIdPrefix === undefined ? !id.startsWith('BackupKey') : id.startsWith(logicalIdPrefix),
  );
  if (keys.length !== 1) throw new Error(`expected one KMS key${logicalIdPrefix ? ` '${logicalIdPrefix}…'` : ''}, found ${keys.length}`);
  return (keys[0] as [string, Record<string, any>])[1].KeyPolicy.Statement;
}

/** Bus policy statements, by Sid. */
export function busPolicy(template: Template): Record<string, Record<string, any>> {
  const [[, bus]] = resourcesOf(template, 'AWS::Events::EventBus') as [[string, Record<string, any>]];
  return Object.fromEntries((bus.Policy.Statement as Record<string, any>[]).map((s) => [s.Sid, s]));
}

/**
 * Resolves pseudo-parameter Refs and Fn::Join into readable strings, e.g.
 * `arn:<Partition>:events:<Region>:<AccountId>:event-bus/loan-events`, so tests compare ARNs as text.
 */
export function flat(value: any): any {
  if (Array.isArray(value)) return value.map(flat);
  if (value !== null && typeof value === 'object') {
    if (typeof value.Ref === 'string' && value.Ref.startsWith('AWS::')) return `<${value.Ref.slice(5)}>`;
    if (value['Fn::Join']) {
      const [sep, parts] = value['Fn::Join'] as [string, unknown[]];
      return parts
        .map(flat)
        .map((p) => (typeof p === 'string' ? p : JSON.stringify(p)))
        .join(sep);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, flat(v)]));
  }
  return value;
}

export const BUS_ARN = 'arn:<Partition>:events:<Region>:<AccountId>:event-bus/loan-events';

export const ExternalSubmitted = defineEvent({
  source: 'com.partner.loans',
  detailType: 'PartnerApplicationSubmitted',
  version: '1',
  description: 'A broker partner submitted an application.',
  data: z.object({ applicationId: z.string() }),
});
export const ExternalWithdrawn = defineEvent({
  source: 'com.partner.loans',
  detailType: 'PartnerApplicationWithdrawn',
  version: '1',
  description: 'A broker partner withdrew an application.',
  data: z.object({ applicationId: z.string() }),
});
export const Audited = defineEvent({
  source: 'com.example.audit',
  detailType: 'ApplicationAudited',
  version: '1',
  description: 'Audit recorded an application.',
  data: z.object({ applicationId: z.string() }),
});

/** Handlers of the test catalogs' consumers. */
export const fixtureHandlers = path.join(__dirname, 'fixtures', 'handlers');

/** A catalog with a publisher in another account and a consumer without a state table. */
export const partnerAccount = '111122223333';
export const crossAccountCatalog = defineCatalog({
  events: [ExternalSubmitted, ExternalWithdrawn, Audited],
  publishers: [
    definePublisher({
      name: 'partner-broker',
      description: 'Broker in another account.',
      account: partnerAccount,
      publishes: [ExternalSubmitted, ExternalWithdrawn],
    }),
  ],
  consumers: [
    defineConsumer({
      name: 'auditor',
      description: 'Audits partner applications.',
      subscriptions: [on(ExternalSubmitted), on(ExternalWithdrawn, { applicationId: [{ prefix: 'app-' }] })],
      publishes: [Audited],
    }),
  ],
});
