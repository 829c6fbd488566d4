/**
 * A trail's event selectors as the synthesized template declares them (AWS::CloudTrail::Trail
 * `EventSelectors` or `AdvancedEventSelectors`), and whether a record is selected.
 *
 * Advanced selectors: a record is logged when any selector matches; a selector matches when all
 * its field selectors match; a field selector matches when any of Equals/StartsWith/EndsWith
 * holds (if any are given) and none of NotEquals/NotStartsWith/NotEndsWith does. For
 * `resources.*` fields one of the record's resources must satisfy every resources condition.
 * @see https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_AdvancedFieldSelector.html
 * @see https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_EventSelector.html
 */
import type { CloudTrailRecord } from './record';

export interface FieldSelector {
  readonly Field: string;
  readonly Equals?: readonly string[];
  readonly StartsWith?: readonly string[];
  readonly EndsWith?: readonly string[];
  readonly NotEquals?: readonly string[];
  readonly NotStartsWith?: readonly string[];
  readonly NotEndsWith?: readonly string[];
}

export interface AdvancedEventSelector {
  readonly Name?: string;
  readonly FieldSelectors: readonly FieldSelector[];
}

export interface BasicEventSelector {
  /** @default 'All' */
  readonly ReadWriteType?: 'All' | 'ReadOnly' | 'WriteOnly';
  /** @default true */
  readonly IncludeManagementEvents?: boolean;
  readonly DataResources?: readonly { readonly Type: string; readonly Values: readonly string[] }[];
  readonly ExcludeManagementEventSources?: readonly string[];
}

export type TrailSelectors =
  | { readonly kind: 'default' }
  | { readonly kind: 'basic'; readonly selectors: readonly BasicEventSelector[] }
  | { readonly kind: 'advanced'; readonly selectors: readonly AdvancedEventSelector[] };

/** The trail's selectors from its template properties (PascalCase, as CloudFormation has them). */
export function selectorsFromTrailProperties(props: Readonly<Record<string, unknown>>): TrailSelectors {
  const advanced = props.AdvancedEventSelectors;
  if (Array.isArray(advanced) && advanced.length > 0) return { kind: 'advanced', selectors: advanced as AdvancedEventSelector[] };
  const basic = props.EventSelectors;
  if (Array.isArray(basic) && basic.length > 0) return { kind: 'basic', selectors: basic as BasicEventSelector[] };
  // A trail without selectors logs all management events, read and write.
  return { kind: 'default' };
}

function fieldValues(record: CloudTrailRecord, field: string): string[] {
  switch (field) {
    case 'eventCategory':
      return [record.eventCategory];
    case 'eventSource':
      return [record.eventSource];
    case 'eventName':
      return [record.eventName];
    case 'eventType':
      return [record.eventType];
    case 'readOnly':
      return [String(record.readOnly)];
    case 'errorCode':
      return record.errorCode ? [record.errorCode] : [];
    case 'userIdentity.arn':
      return typeof record.userIdentity.arn === 'string' ? [record.userIdentity.arn] : [];
    case 'resources.type':
      return (record.resources ?? []).map((r) => r.type);
    case 'resources.ARN':
      return (record.resources ?? []).map((r) => r.ARN);
  }
  return [];
}

function valueMatches(f: FieldSelector, value: string | undefined): boolean {
  const positives = [...(f.Equals ?? []), ...(f.StartsWith ?? []), ...(f.EndsWith ?? [])].length > 0;
  const v = value ?? '';
  const pos =
    !positives ||
    (value !== undefined &&
      ((f.Equals ?? []).includes(v) || (f.StartsWith ?? []).some((p) => v.startsWith(p)) || (f.EndsWith ?? []).some((p) => v.endsWith(p))));
  const neg =
    value !== undefined &&
    ((f.NotEquals ?? []).includes(v) ||
      (f.NotStartsWith ?? []).some((p) => v.startsWith(p)) ||
      (f.NotEndsWith ?? []).some((p) => v.endsWith(p)));
  return pos && !neg;
}

function advancedMatches(s: AdvancedEventSelector, record: CloudTrailRecord): boolean {
  const resourceFields = s.FieldSelectors.filter((f) => f.Field.startsWith('resources.'));
  const others = s.FieldSelectors.filter((f) => !f.Field.startsWith('resources.'));
  for (const f of others) {
    const values = fieldValues(record, f.Field);
    if (!valueMatches(f, values[0])) return false;
  }
  if (resourceFields.length === 0) return true;
  return (record.resources ?? []).some((r) =>
    resourceFields.every((f) => valueMatches(f, f.Field === 'resources.type' ? r.type : f.Field === 'resources.ARN' ? r.ARN : undefined)),
  );
}

function basicMatches(s: BasicEventSelector, record: CloudTrailRecord): boolean {
  const rw = s.ReadWriteType ?? 'All';
  if (rw === 'ReadOnly' && !record.readOnly) return false;
  if (rw === 'WriteOnly' && record.readOnly) return false;
  if (record.eventCategory === 'Management') {
    return (s.IncludeManagementEvents ?? true) && !(s.ExcludeManagementEventSources ?? []).includes(record.eventSource);
  }
  return (s.DataResources ?? []).some((d) =>
    (record.resources ?? []).some((r) => r.type === d.Type && d.Values.some((prefix) => r.ARN.startsWith(prefix))),
  );
}

/** True when the trail logs this record. */
export function isSelected(selectors: TrailSelectors, record: CloudTrailRecord): boolean {
  switch (selectors.kind) {
    case 'default':
      return record.eventCategory === 'Management';
    case 'basic':
      return selectors.selectors.some((s) => basicMatches(s, record));
    case 'advanced':
      return selectors.selectors.some((s) => advancedMatches(s, record));
  }
}
