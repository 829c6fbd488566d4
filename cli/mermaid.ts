/**
 * Renders the topology as a Mermaid flowchart. Output is deterministic (template order, sorted
 * tables), so the README's copy can be compared with a fresh rendering in a test.
 */
import { isRecord } from './input';
import type { Topology } from './topology';

/** Mermaid node ids must be plain words. */
const nodeId = (prefix: string, logicalId: string) => `${prefix}_${logicalId.replace(/[^A-Za-z0-9_]/g, '_')}`;
/** Text inside a quoted Mermaid label: `"` is the only character that must be escaped. */
const text = (s: string) => s.replace(/"/g, '#quot;');

/** A one-line summary of what a rule pattern selects: detail-types plus its content filters. */
export function summarizePattern(pattern: unknown): string {
  const parts = isRecord(pattern) && Array.isArray(pattern.$or) ? pattern.$or : [pattern];
  return parts
    .filter(isRecord)
    .map((p) => {
      const types = Array.isArray(p['detail-type']) ? p['detail-type'].map(String).join(', ') : 'any detail-type';
      const filters = leafFilters(p.detail, 'detail');
      return filters.length > 0 ? `${types} where ${filters.join(' and ')}` : types;
    })
    .join(' or ');
}

function leafFilters(value: unknown, path: string): string[] {
  if (Array.isArray(value)) {
    return [
      value
        .map((m) => {
          if (isRecord(m) && Array.isArray(m.numeric)) return `${path.replace(/^detail\.(data\.)?/, '')} ${m.numeric.join(' ')}`;
          if (isRecord(m)) return `${path.replace(/^detail\.(data\.)?/, '')} ${Object.keys(m)[0]} ${JSON.stringify(Object.values(m)[0])}`;
          return `${path.replace(/^detail\.(data\.)?/, '')} = ${JSON.stringify(m)}`;
        })
        .join(' or '),
    ];
  }
  if (isRecord(value)) return Object.entries(value).flatMap(([k, v]) => leafFilters(v, `${path}.${k}`));
  return [];
}

export function renderMermaid(t: Topology, options: { stack?: string } = {}): string {
  const lines: string[] = ['flowchart LR'];
  const bus = 'bus';
  const queueName = (id: string) => t.queues.get(id)?.name ?? id;
  const shortName = (name: string) => (options.stack && name.startsWith(`${options.stack}-`) ? name.slice(options.stack.length + 1) : name);
  lines.push(`  producers(["Producers<br/>PutEvents"]) --> ${bus}`);
  lines.push(`  ${bus}{{"Event bus ${text(t.busName)}${t.busKms ? '<br/>customer-managed KMS key' : ''}"}}`);
  if (t.busDeadLetterQueueId) {
    lines.push(
      `  ${bus} -. "encryption failures" .-> ${nodeId('q', t.busDeadLetterQueueId)}[("${text(queueName(t.busDeadLetterQueueId))} (bus DLQ)")]`,
    );
  }
  if (t.archive) {
    const days = t.archive.retentionDays ? `<br/>${t.archive.retentionDays} days` : '';
    lines.push(`  ${bus} -- "every event" --> archive[("Archive${days}")]`);
    lines.push('  archive -. "replay" .-> bus');
  }
  const consumed = new Map(t.functions.flatMap((f) => f.sources.map((s) => [s.queueId, { f, s }] as const)));
  const drawnTables = new Set<string>();
  for (const rule of t.rules) {
    const r = nodeId('rule', rule.id);
    lines.push(`  subgraph ${nodeId('sg', rule.id)}["${text(shortName(rule.name))}"]`);
    lines.push(`    ${r}["Rule ${text(rule.name)}<br/>${text(summarizePattern(rule.pattern))}"]`);
    const body: string[] = [];
    for (const target of rule.targets) {
      if (!target.queueId) continue;
      const q = nodeId('q', target.queueId);
      const queue = t.queues.get(target.queueId);
      lines.push(`    ${q}[/"${text(queueName(target.queueId))}"/]`);
      body.push(`  ${r} --> ${q}`);
      if (target.deadLetterQueueId) {
        const d = nodeId('q', target.deadLetterQueueId);
        lines.push(`    ${d}[("${text(queueName(target.deadLetterQueueId))}")]`);
        const retry = target.retryAttempts !== undefined ? `<br/>after ${target.retryAttempts} retries` : '';
        body.push(`  ${r} -. "delivery failed${retry}" .-> ${d}`);
      }
      if (queue?.redrive) {
        const d = nodeId('q', queue.redrive.deadLetterQueueId);
        lines.push(`    ${d}[("${text(queueName(queue.redrive.deadLetterQueueId))}")]`);
        body.push(`  ${q} -. "after ${queue.redrive.maxReceiveCount} receives" .-> ${d}`);
      }
      const consumer = consumed.get(target.queueId);
      if (consumer) {
        const f = nodeId('fn', consumer.f.id);
        lines.push(`    ${f}["λ ${text(consumer.f.name)}<br/>${consumer.f.architecture}, ${consumer.f.memoryMB} MB"]`);
        const window = consumer.s.batchingWindowSeconds > 0 ? `, window ${consumer.s.batchingWindowSeconds} s` : '';
        body.push(`  ${q} -- "batches of ${consumer.s.batchSize}${window}" --> ${f}`);
        for (const tableId of consumer.f.tableIds) {
          const tb = nodeId('tbl', tableId);
          if (!drawnTables.has(tableId)) {
            lines.push(`    ${tb}[("${text(t.tables.get(tableId)?.label ?? tableId)}")]`);
            drawnTables.add(tableId);
          }
          body.push(`  ${f} --> ${tb}`);
        }
        if (consumer.f.publishes) body.push(`  ${f} -. "PutEvents" .-> ${bus}`);
      }
    }
    lines.push('  end');
    lines.push(`  ${bus} --> ${r}`);
    lines.push(...body);
  }
  return `${lines.join('\n')}\n`;
}
