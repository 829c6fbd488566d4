/**
 * A CloudFormation template as read from disk, checked once at the edge: every section that is
 * present is an object, every resource has a string `Type`, and the document is not nested deeper
 * than any real template. Past this point the rest of the module relies on those shapes.
 */
import { TemplateError, where } from './errors';
import { isRecord, JsonObject } from './json';

/**
 * Resource metadata a function carries beside CDK's `aws:asset:path`: its handler entry, relative
 * to the app's root (where cdk.json is). The local runtime's watch mode rebuilds from it.
 */
export const ENTRY_METADATA_KEY = 'event-router:entry';

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: JsonObject;
  readonly Metadata?: JsonObject;
  readonly Condition?: string;
  readonly DependsOn?: string | string[];
}

export interface CfnOutput {
  readonly Value: unknown;
  readonly Export?: { readonly Name: unknown };
  readonly Condition?: string;
}

export interface CfnTemplate {
  readonly Resources: Readonly<Record<string, CfnResource>>;
  readonly Parameters?: Readonly<Record<string, { readonly Type?: string; readonly Default?: unknown }>>;
  readonly Conditions?: Readonly<Record<string, unknown>>;
  readonly Mappings?: Readonly<Record<string, Record<string, Record<string, unknown>>>>;
  readonly Outputs?: Readonly<Record<string, CfnOutput>>;
}

/**
 * Deepest nesting accepted in a template. CDK's deepest values (policy documents inside Fn::Join
 * inside conditions) stay under 20 levels; the bound keeps recursive readers off the stack limit.
 */
export const MAX_TEMPLATE_DEPTH = 64;

/** Largest template file read: CloudFormation accepts 1 MB from S3; a little room for formatting. */
export const MAX_TEMPLATE_BYTES = 4 * 1024 * 1024;

const SECTIONS = ['Parameters', 'Conditions', 'Mappings', 'Outputs'] as const;

/** Checks the shape of a parsed template and returns it typed, or throws a TemplateError naming the stack and logical id. */
export function checkTemplate(stack: string, value: unknown): CfnTemplate {
  if (!isRecord(value)) throw new TemplateError(`The template of ${where(stack)} is not a JSON object`);
  checkDepth(stack, value);
  const resources = value.Resources ?? {};
  if (!isRecord(resources)) throw new TemplateError(`Resources of ${where(stack)} is not an object`);
  for (const section of SECTIONS) {
    if (value[section] !== undefined && !isRecord(value[section]))
      throw new TemplateError(`${section} of ${where(stack)} is not an object`);
  }
  for (const id of Object.keys(resources)) {
    const r = resources[id];
    if (!isRecord(r) || typeof r.Type !== 'string' || r.Type === '') {
      throw new TemplateError(`The resource has no string Type (${where(stack, id)})`);
    }
    if (r.Properties !== undefined && !isRecord(r.Properties)) throw new TemplateError(`Properties is not an object (${where(stack, id)})`);
    if (r.Metadata !== undefined && !isRecord(r.Metadata)) throw new TemplateError(`Metadata is not an object (${where(stack, id)})`);
    if (r.Condition !== undefined && typeof r.Condition !== 'string')
      throw new TemplateError(`Condition is not a name (${where(stack, id)})`);
  }
  const mappings = value.Mappings;
  if (isRecord(mappings)) {
    for (const [name, m] of Object.entries(mappings)) {
      if (!isRecord(m) || !Object.values(m).every(isRecord))
        throw new TemplateError(`Mapping ${name} of ${where(stack)} is not a two-level map`);
    }
  }
  return { ...(value as object), Resources: resources } as CfnTemplate;
}

/** Throws when `value` nests deeper than MAX_TEMPLATE_DEPTH, iteratively so a hostile file cannot exhaust the stack. */
function checkDepth(stack: string, value: unknown): void {
  const todo: [unknown, number][] = [[value, 0]];
  while (todo.length > 0) {
    const [v, depth] = todo.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= MAX_TEMPLATE_DEPTH)
      throw new TemplateError(`The template of ${where(stack)} nests deeper than ${MAX_TEMPLATE_DEPTH} levels`);
    for (const x of Array.isArray(v) ? v : Object.values(v)) todo.push([x, depth + 1]);
  }
}
