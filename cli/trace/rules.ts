/**
 * The rules an event matches and their targets, for `trace`: neither AWS nor the local runtime
 * logs rule matches, so the command asks the bus the same question on both, with the same APIs:
 * ListRules, then TestEventPattern with the event rebuilt from its PutEvents record, then
 * ListTargetsByRule for the rules that match. These are the rules as they are now, which may
 * differ from when the event was published.
 */
import type { Rule } from '@aws-sdk/client-eventbridge';
import type { AwsClients } from '../aws';
import { sdk } from '../aws';
import { listRules } from '../discovery';
import { isRecord } from '../input';
import { putEventsEntries, type TrailRecord } from './model';

export interface MatchedRule {
  readonly name: string;
  /** The targets' ARNs. */
  readonly targets: readonly string[];
}

/** The events published in these records, as EventBridge built them (what a rule's pattern sees). */
export function publishedEvents(records: readonly TrailRecord[]): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const r of records) {
    if (r.eventName !== 'PutEvents' || r.errorCode) continue;
    const record = r as TrailRecord & { awsRegion?: string; recipientAccountId?: string };
    for (const { entry, eventId } of putEventsEntries(r)) {
      if (!eventId) continue;
      let detail: unknown = entry.detail;
      if (typeof detail === 'string') {
        try {
          detail = JSON.parse(detail) as unknown;
        } catch {
          detail = {};
        }
      }
      out.set(eventId, {
        version: '0',
        id: eventId,
        'detail-type': entry.detailType ?? '',
        source: entry.source ?? '',
        account: record.recipientAccountId ?? '000000000000',
        time: r.eventTime,
        region: record.awsRegion ?? 'us-east-1',
        resources: [],
        detail: isRecord(detail) ? detail : {},
      });
    }
  }
  return out;
}

/** For each event, the enabled rules of the bus whose pattern matches it, with their targets. */
export async function matchedRules(
  aws: AwsClients,
  bus: string,
  events: ReadonlyMap<string, Record<string, unknown>>,
): Promise<Map<string, MatchedRule[]>> {
  const out = new Map<string, MatchedRule[]>();
  if (events.size === 0) return out;
  const rules = (await listRules(aws, bus)).filter((r): r is Rule & { Name: string; EventPattern: string } =>
    Boolean(r.Name && r.EventPattern && r.State === 'ENABLED'),
  );
  const targets = new Map<string, string[]>();
  for (const [id, event] of events) {
    const matched: MatchedRule[] = [];
    for (const rule of rules) {
      const r = await aws.eventBridge.send(
        new (sdk.eventBridge().TestEventPatternCommand)({ EventPattern: rule.EventPattern, Event: JSON.stringify(event) }),
      );
      if (!r.Result) continue;
      if (!targets.has(rule.Name)) {
        const t = await aws.eventBridge.send(new (sdk.eventBridge().ListTargetsByRuleCommand)({ Rule: rule.Name, EventBusName: bus }));
        targets.set(rule.Name, (t.Targets ?? []).map((x) => x.Arn ?? '').filter(Boolean));
      }
      matched.push({ name: rule.Name, targets: targets.get(rule.Name) ?? [] });
    }
    out.set(id, matched);
  }
  return out;
}
