/**
 * The surface as text: one table per question (publish, subscribe, queues, keys), rows grouped so
 * that a reviewer reads one line per principal and resource, with the context each grant needs.
 */
import type { ContextValue } from '../../iam';
import type { Output } from '../output';
import type { AccessApp } from './app';
import type { CandidatePrincipal } from './candidates';
import { ASSUMED_POLICY_ID, type DecidedBy, type Grant, type Surface } from './surface';

/** Marks a grant that also needs the principal's own IAM policies, which are not in the app. */
export const IF_IDENTITY_ALLOWS = '*';

/** Short names for the app's resources, for cells; the JSON output keeps full ARNs. */
export function shortener(app: AccessApp): (value: string) => string {
  const names = new Map<string, string>();
  for (const b of app.buses) names.set(b.arn, `bus ${b.name}`);
  for (const r of app.rules) names.set(r.arn, `rule ${r.arn.slice(r.arn.indexOf(':rule/') + 6)}`);
  for (const q of app.queues) names.set(q.arn, q.name);
  for (const k of app.keys) names.set(k.arn, `key ${k.path}`);
  const accounts = new Set(app.accounts);
  const regions = new Set(app.regions);
  return (value) => {
    const known = names.get(value);
    if (known) return known;
    // An ARN in the app's account and Region: `service:resource`.
    const m = /^arn:[^:]+:([^:]+):([^:]*):(\d{12}|):(.+)$/.exec(value);
    if (m && regions.has(m[2] ?? '') && accounts.has(m[3] ?? '')) {
      const [, service, , , resource] = m;
      if (service === 'events' && resource?.startsWith('rule/')) return `rule ${resource.slice(5)}`;
      return `${service}:${resource}`;
    }
    return value;
  };
}

const decided = (d: DecidedBy | null): string => {
  if (!d) return '-';
  if (d.policy === ASSUMED_POLICY_ID) return `its own IAM policies (assumed)`;
  return `${d.kind} ${d.policy}${d.sid ? ` ${d.sid}` : ''}`;
};

function gate(g: Grant, short: (v: string) => string): string {
  const parts = Object.entries(g.when).map(
    ([k, v]: [string, ContextValue]) => `${k}=${typeof v === 'string' ? short(v) : v.map(short).join('|')}`,
  );
  if (g.tlsOnly) parts.push('aws:SecureTransport=true');
  return parts.length === 0 ? 'any request' : parts.join(', ');
}

const uniq = (xs: readonly string[]) => [...new Set(xs)];

/** Groups items by a key, keeping first-seen order. */
function groupBy<T>(items: readonly T[], key: (t: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const t of items) {
    const k = key(t);
    const g = groups.get(k);
    if (g) g.push(t);
    else groups.set(k, [t]);
  }
  return [...groups.values()];
}

export function renderSurface(out: Output, surface: Surface, app: AccessApp): void {
  const short = shortener(app);
  const byId = new Map(surface.principals.map((p) => [p.id, p]));
  const label = (id: string, grants: readonly Grant[]) =>
    `${byId.get(id)?.label ?? id}${grants.some((g) => g.ifIdentityAllows) ? ` ${IF_IDENTITY_ALLOWS}` : ''}`;
  const nothing = (grants: readonly Grant[]) => {
    const have = new Set(grants.map((g) => g.principal));
    const none = surface.principals.filter((p) => !have.has(p.id)).map((p: CandidatePrincipal) => p.label);
    if (none.length > 0) out.line(`  ${out.style('dim', `none for: ${none.join(', ')}`)}`);
  };

  const env = surface.environment;
  out.line(
    out.style(
      'bold',
      `Access surface of ${app.prefix ?? 'the app'}: ${surface.stacks.length} stack(s), account ${env.accounts.join(', ')}, Region ${env.regions.join(', ')}`,
    ),
  );
  out.line(
    `${surface.principals.length} principals x ${surface.resources.buses.length} bus(es), ${surface.resources.rules.length} rule(s), ` +
      `${surface.resources.queues.length} queue(s), ${surface.resources.keys.length} key(s); ${surface.evaluations} requests evaluated`,
  );

  // ---- Publish ----
  out.line();
  out.line(out.style('bold', 'Who may publish (events:PutEvents)'));
  const sources = [...surface.eventTypes.sources, null];
  const detailTypes = [...surface.eventTypes.detailTypes, null];
  const publishRows: string[][] = [];
  for (const gs of groupBy(surface.publish, (g) => `${g.principal}\n${g.resource}`)) {
    const g = gs[0] as (typeof gs)[number];
    const has = (source: string | null, detailType: string | null) => gs.some((x) => x.source === source && x.detailType === detailType);
    const row = (source: string, types: string) => [
      label(g.principal, gs),
      short(g.resource),
      source,
      types,
      uniq(gs.map((x) => decided(x.decidedBy))).join('; '),
    ];
    if (sources.every((s) => detailTypes.every((d) => has(s, d)))) {
      publishRows.push(row('any source', 'any detail-type'));
      continue;
    }
    for (const same of groupBy(gs, (x) => String(x.source))) {
      const source = (same[0] as (typeof same)[number]).source;
      const types = detailTypes.every((d) => has(source, d))
        ? 'any detail-type'
        : uniq(same.map((x) => x.detailType ?? 'any other detail-type')).join(', ');
      publishRows.push(row(source ?? 'any other source', types));
    }
  }
  if (publishRows.length > 0) out.table([['principal', 'bus', 'source', 'detail-types', 'decided by'], ...publishRows]);
  else out.line('  nobody');
  nothing(surface.publish);

  // ---- Queues and keys ----
  const resourceTable = (title: string, noun: string, grants: readonly Grant[], all: readonly string[], prefix: RegExp) => {
    out.line();
    out.line(out.style('bold', title));
    const rows: string[][] = [];
    for (const forPrincipal of groupBy(grants, (g) => g.principal)) {
      // Per resource and context: the actions; then resources with the same actions and context share a row.
      const cells = groupBy(forPrincipal, (g) => `${g.resource}\n${gate(g, short)}`).map((gs) => ({
        resource: (gs[0] as Grant).resource,
        actions: gs.map((x) => x.action.replace(prefix, '')).join(', '),
        gate: gate(gs[0] as Grant, short),
        decided: uniq(gs.map((x) => decided(x.decidedBy))).join('; '),
        grants: gs,
      }));
      for (const same of groupBy(cells, (c) => `${c.actions}\n${c.gate}\n${c.decided}`)) {
        const first = same[0] as (typeof same)[number];
        const resources = uniq(same.map((c) => c.resource));
        const inAccount = (account: string) => all.filter((r) => r.split(':')[4] === account);
        const account = resources[0]?.split(':')[4] ?? '';
        const where =
          resources.length === all.length && all.length > 1
            ? `all ${all.length} ${noun}`
            : resources.length > 1 && resources.every((r) => r.split(':')[4] === account) && resources.length === inAccount(account).length
              ? `all ${resources.length} ${noun} of ${account}`
              : resources.map(short).join(', ');
        rows.push([
          label(
            first.grants[0]!.principal,
            same.flatMap((c) => c.grants),
          ),
          where,
          first.actions,
          first.gate,
          first.decided,
        ]);
      }
    }
    if (rows.length > 0) out.table([['principal', noun, 'actions', 'only with', 'decided by'], ...rows]);
    else out.line('  nobody');
    nothing(grants);
  };
  resourceTable(
    `Who may subscribe (rule actions on the bus's rules; ${short(surface.resources.rules.at(-1) ?? '')} stands for a new rule)`,
    'rules',
    surface.subscribe,
    surface.resources.rules,
    /^events:/,
  );
  resourceTable(
    'Who may use which queue (sqs:SendMessage, ReceiveMessage, DeleteMessage)',
    'queues',
    surface.queues,
    surface.resources.queues,
    /^sqs:/,
  );
  resourceTable('Who may use which key (kms:Decrypt, GenerateDataKey)', 'keys', surface.keys, surface.resources.keys, /^kms:/);

  out.line();
  out.line(
    `${IF_IDENTITY_ALLOWS} also needs the principal's own IAM policies to allow: they are not in the app, so the surface assumed they allow everything.`,
  );
}
