/**
 * Target input: Input, InputPath and InputTransformer, as EventBridge renders them.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
 */
import { InvalidTargetInputError } from './errors';

export interface TransformContext {
  readonly ruleArn: string;
  readonly ruleName: string;
  readonly eventBusName: string;
  /** ISO time the event was ingested; defaults to the event's time. */
  readonly ingestionTime?: string;
  readonly targetId?: string;
}

/** A target's input settings, as in AWS::Events::Rule Target (Input, InputPath, InputTransformer). */
export interface TargetInput {
  readonly input?: string;
  readonly inputPath?: string;
  readonly inputTransformer?: { readonly inputPathsMap?: Record<string, string>; readonly inputTemplate: string };
}

/** Limits from the PutTargets API reference (Target, InputTransformer). */
export const MAX_INPUT_LENGTH = 8192;
export const MAX_INPUT_PATH_LENGTH = 256;
export const MAX_INPUT_TEMPLATE_LENGTH = 8192;
export const MAX_INPUT_PATHS = 100;

const PREDEFINED = new Set([
  'aws.events.rule-arn',
  'aws.events.rule-name',
  'aws.events.event.ingestion-time',
  'aws.events.event',
  'aws.events.event.json',
]);

/** A placeholder such as `<detail-type>` or `<aws.events.rule-arn>`. */
const placeholders = () => /<([A-Za-z0-9_.-]+)>/g;
/** The same, anchored at a position (sticky), for the renderer's single pass. */
const PLACEHOLDER_AT = /<([A-Za-z0-9_.-]+)>/y;

/** Throws InvalidTargetInputError when PutTargets would reject the settings. */
export function validateTargetInput(input: TargetInput, targetId = '<target-id>'): void {
  const given = [input.input, input.inputPath, input.inputTransformer].filter((x) => x !== undefined).length;
  if (given > 1) {
    throw new InvalidTargetInputError(`Only one of Input, InputPath, or InputTransformer must be provided for target ${targetId}.`);
  }
  if (input.input !== undefined) {
    if (input.input.length > MAX_INPUT_LENGTH) {
      throw new InvalidTargetInputError(`Input for target ${targetId} exceeds ${MAX_INPUT_LENGTH} characters.`);
    }
    try {
      JSON.parse(input.input);
    } catch {
      throw new InvalidTargetInputError(`Input for target ${targetId} is not valid JSON text.`);
    }
  }
  if (input.inputPath !== undefined) checkPath(input.inputPath, `InputPath for target ${targetId}`);
  const t = input.inputTransformer;
  if (t === undefined) return;
  if (t.inputTemplate.length > MAX_INPUT_TEMPLATE_LENGTH) {
    throw new InvalidTargetInputError(`InputTemplate for target ${targetId} exceeds ${MAX_INPUT_TEMPLATE_LENGTH} characters.`);
  }
  const map = t.inputPathsMap ?? {};
  const keys = Object.keys(map);
  if (keys.length > MAX_INPUT_PATHS) {
    throw new InvalidTargetInputError(`InputPathsMap for target ${targetId} has more than ${MAX_INPUT_PATHS} entries.`);
  }
  for (const [k, path] of Object.entries(map)) {
    if (PREDEFINED.has(k) || k.startsWith('aws.events.')) {
      throw new InvalidTargetInputError(`InputPathsMap for target ${targetId} contains reserved key ${k}.`);
    }
    checkPath(path, `InputPathsMap value ${k} for target ${targetId}`);
  }
  for (const m of t.inputTemplate.matchAll(placeholders())) {
    const name = m[1]!;
    if (!PREDEFINED.has(name) && !Object.prototype.hasOwnProperty.call(map, name)) {
      throw new InvalidTargetInputError(`InputTemplate for target ${targetId} contains invalid placeholder ${name}.`);
    }
  }
}

function checkPath(path: string, what: string): void {
  if (path.length > MAX_INPUT_PATH_LENGTH) {
    throw new InvalidTargetInputError(`${what} exceeds ${MAX_INPUT_PATH_LENGTH} characters.`);
  }
  if (parsePath(path) === undefined) throw new InvalidTargetInputError(`${what} is not a valid JSON path: ${path}`);
}

/** Steps of a JSONPath such as `$.detail.items[0]['a-b']`; undefined when it is not one. */
function parsePath(path: string): Array<string | number> | undefined {
  if (!path.startsWith('$')) return undefined;
  const steps: Array<string | number> = [];
  const re = /\.([^.[\]]+)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\]/y;
  re.lastIndex = 1;
  while (re.lastIndex < path.length) {
    const m = re.exec(path);
    if (m === null) return undefined;
    if (m[1] !== undefined) steps.push(m[1]);
    else if (m[2] !== undefined) steps.push(Number(m[2]));
    else steps.push((m[3] ?? m[4] ?? '').replace(/\\(.)/g, '$1'));
  }
  return steps;
}

function select(event: unknown, path: string): unknown {
  const steps = parsePath(path);
  if (steps === undefined) return undefined;
  let v: unknown = event;
  for (const s of steps) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[s];
  }
  return v;
}

/**
 * A value as EventBridge writes it into text (a string template, or inside quotes): strings
 * without quotes, and objects and arrays with their strings unquoted, e.g. `{id:a,tags:[x,y]}`.
 */
function plainText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return `[${v.map(plainText).join(',')}]`;
  if (typeof v === 'object' && !('raw' in (v as object))) {
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k}:${plainText(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * The payload EventBridge delivers to the target, as text. Returns undefined when AWS would
 * silently deliver nothing (the rendered template is not valid JSON).
 */
export function renderTargetInput(event: object, input: TargetInput, context: TransformContext): string | undefined {
  validateTargetInput(input, context.targetId);
  if (input.input !== undefined) return input.input;
  if (input.inputPath !== undefined) {
    const v = select(event, input.inputPath);
    return v === undefined ? undefined : JSON.stringify(v);
  }
  const t = input.inputTransformer;
  if (t === undefined) return JSON.stringify(event);
  const values = new Map<string, unknown>();
  for (const [k, p] of Object.entries(t.inputPathsMap ?? {})) values.set(k, select(event, p));
  const ev = event as Record<string, unknown>;
  values.set('aws.events.rule-arn', context.ruleArn);
  values.set('aws.events.rule-name', context.ruleName);
  values.set('aws.events.event.ingestion-time', context.ingestionTime ?? ev.time);
  // Recorded against AWS: <aws.events.event> is the envelope without `detail`, with the key
  // `detailType`; <aws.events.event.json> is the whole event.
  const { detail: _detail, 'detail-type': detailType, ...envelope } = ev;
  values.set('aws.events.event', { ...envelope, detailType });
  values.set('aws.events.event.json', event);

  const template = t.inputTemplate;
  const isJsonTemplate = !template.trimStart().startsWith('"');
  let out = '';
  let last = 0;
  let inString = false;
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (inString && c === '\\') {
      i++;
      continue;
    }
    if (c === '"') {
      inString = !inString;
      continue;
    }
    if (c !== '<') continue;
    PLACEHOLDER_AT.lastIndex = i;
    const m = PLACEHOLDER_AT.exec(template);
    if (m === null) continue;
    const v = values.get(m[1]!);
    out += template.slice(last, i);
    if (!isJsonTemplate) out += plainText(v);
    // A path missing from the event creates no variable: outside quotes it becomes the empty
    // string "" (recorded against AWS), inside quotes nothing.
    else if (!inString) out += v === undefined ? '""' : JSON.stringify(v);
    else if (typeof v === 'string') out += JSON.stringify(v).slice(1, -1);
    else if (v !== null && typeof v === 'object') out += JSON.stringify(v);
    else out += plainText(v);
    last = i + m[0].length;
    i = last - 1;
  }
  out += template.slice(last);
  if (isJsonTemplate) {
    try {
      JSON.parse(out);
    } catch {
      return undefined;
    }
  }
  return out;
}
