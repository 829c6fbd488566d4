/**
 * The cloud assembly (`cdk.out`): its manifest's `aws:cloudformation:stack` artifacts, in nested
 * assemblies (CDK stages) too, with each stack's name, display name, environment, dependencies
 * and template. Templates are read when first asked for, so listing stacks stays cheap.
 * @see https://github.com/aws/aws-cdk-cli/tree/main/packages/%40aws-cdk/cloud-assembly-schema
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { TemplateError } from './errors';
import { isRecord, own } from './json';
import { checkTemplate, CfnTemplate, MAX_TEMPLATE_BYTES } from './template';

/** The environment a stack was synthesized for; undefined fields are environment-agnostic. */
export interface StackEnvironment {
  readonly account?: string;
  readonly region?: string;
}

export interface StackArtifact {
  /** The artifact id in the manifest (`LoanEvents`, or `Stage/Stack` ids inside a stage). */
  readonly id: string;
  /** The CloudFormation stack name. */
  readonly stackName: string;
  /** The construct path people see (`Prod/Router`). */
  readonly displayName: string;
  readonly environment: StackEnvironment;
  /** Artifact ids of the stacks this one deploys after (assets and other artifacts left out). */
  readonly dependencies: readonly string[];
  /** The template file, absolute. */
  readonly templateFile: string;
  /** The assembly directory the artifact is in; asset paths in metadata are relative to it. */
  readonly dir: string;
  /** The parsed and shape-checked template, read on first use. */
  readonly template: CfnTemplate;
}

/** Manifests nest through `cdk:cloud-assembly` artifacts; this bounds a hostile or cyclic chain. */
const MAX_NESTED_ASSEMBLIES = 16;

/** Reads `environment: aws://ACCOUNT/REGION`; `unknown-account`/`unknown-region` mean agnostic. */
export function parseEnvironment(value: unknown): StackEnvironment {
  if (typeof value !== 'string') return {};
  const m = /^aws:\/\/([^/]*)\/([^/]*)$/.exec(value);
  if (!m) return {};
  const [, account = '', region = ''] = m;
  return {
    ...(account !== '' && account !== 'unknown-account' ? { account } : {}),
    ...(region !== '' && region !== 'unknown-region' ? { region } : {}),
  };
}

export class CloudAssembly {
  /** Stacks in manifest order, nested stages included. */
  public readonly stacks: readonly StackArtifact[];

  private constructor(
    public readonly dir: string,
    stacks: StackArtifact[],
  ) {
    this.stacks = stacks;
  }

  /** Reads `<dir>/manifest.json`; a missing manifest is a TemplateError that says to synthesize. */
  static load(dir: string): CloudAssembly {
    const root = path.resolve(dir);
    const stacks: StackArtifact[] = [];
    readManifest(root, stacks, 0);
    return new CloudAssembly(root, stacks);
  }

  /** A stack by artifact id, stack name or display name; the error lists the stacks there are. */
  stack(name: string): StackArtifact {
    const found =
      this.stacks.find((s) => s.id === name) ??
      this.stacks.find((s) => s.stackName === name) ??
      this.stacks.find((s) => s.displayName === name);
    if (!found) {
      throw new TemplateError(
        `No stack '${name}' in the cloud assembly at ${this.dir}; it has ${this.stacks.map((s) => s.stackName).join(', ') || 'no stacks'}`,
      );
    }
    return found;
  }

  /** Stacks ordered so that each comes after the stacks it depends on (manifest order otherwise). */
  inDependencyOrder(): StackArtifact[] {
    const byId = new Map(this.stacks.map((s) => [s.id, s]));
    const done = new Set<string>();
    const visiting = new Set<string>();
    const out: StackArtifact[] = [];
    const visit = (s: StackArtifact) => {
      if (done.has(s.id)) return;
      if (visiting.has(s.id)) throw new TemplateError(`Stacks depend on each other in a cycle through ${s.stackName}`);
      visiting.add(s.id);
      for (const d of s.dependencies) {
        const dep = byId.get(d);
        if (dep) visit(dep);
      }
      visiting.delete(s.id);
      done.add(s.id);
      out.push(s);
    };
    this.stacks.forEach(visit);
    return out;
  }
}

interface RawArtifact {
  type?: unknown;
  environment?: unknown;
  properties?: unknown;
  dependencies?: unknown;
  displayName?: unknown;
}

function readManifest(dir: string, out: StackArtifact[], depth: number): void {
  if (depth > MAX_NESTED_ASSEMBLIES) throw new TemplateError(`Cloud assemblies nest deeper than ${MAX_NESTED_ASSEMBLIES} levels at ${dir}`);
  const file = path.join(dir, 'manifest.json');
  if (!existsSync(file)) throw new TemplateError(`No cloud assembly at ${dir}: manifest.json is missing (run cdk synth)`);
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TemplateError(`${file} is not valid JSON (${(e as Error).message})`);
  }
  const artifacts = isRecord(manifest) ? own(manifest, 'artifacts') : undefined;
  if (artifacts === undefined) return;
  if (!isRecord(artifacts)) throw new TemplateError(`${file}: artifacts is not an object`);
  const ids = Object.keys(artifacts);
  const stackIds = new Set(
    ids.filter((id) => isRecord(artifacts[id]) && (artifacts[id] as RawArtifact).type === 'aws:cloudformation:stack'),
  );
  for (const id of ids) {
    const a = artifacts[id];
    if (!isRecord(a)) continue;
    const { type, environment, properties, dependencies, displayName } = a as RawArtifact;
    const props = isRecord(properties) ? properties : {};
    if (type === 'aws:cloudformation:stack') {
      const templateFile = own(props, 'templateFile');
      if (typeof templateFile !== 'string') throw new TemplateError(`${file}: stack artifact ${id} has no templateFile`);
      const stackName = own(props, 'stackName');
      out.push(
        stackArtifact({
          id,
          stackName: typeof stackName === 'string' ? stackName : id,
          displayName: typeof displayName === 'string' ? displayName : id,
          environment: parseEnvironment(environment),
          dependencies: Array.isArray(dependencies)
            ? dependencies.filter((d): d is string => typeof d === 'string' && stackIds.has(d))
            : [],
          templateFile: inside(dir, templateFile, file),
          dir,
        }),
      );
    } else if (type === 'cdk:cloud-assembly') {
      const nested = own(props, 'directoryName');
      if (typeof nested === 'string') readManifest(inside(dir, nested, file), out, depth + 1);
    }
  }
}

/** A path named in a manifest, kept inside the assembly directory. */
function inside(dir: string, name: string, file: string): string {
  const p = path.resolve(dir, name);
  if (p !== dir && !p.startsWith(dir + path.sep)) throw new TemplateError(`${file}: '${name}' points outside the cloud assembly`);
  return p;
}

function stackArtifact(fields: Omit<StackArtifact, 'template'>): StackArtifact {
  let template: CfnTemplate | undefined;
  return {
    ...fields,
    get template(): CfnTemplate {
      template ??= readTemplate(fields.stackName, fields.templateFile);
      return template;
    },
  };
}

/** Reads and shape-checks one template file. */
export function readTemplate(stackName: string, file: string): CfnTemplate {
  if (!existsSync(file)) throw new TemplateError(`The template of stack ${stackName} is missing: ${file} (run cdk synth)`);
  const size = statSync(file).size;
  if (size > MAX_TEMPLATE_BYTES)
    throw new TemplateError(`The template of stack ${stackName} is ${size} bytes, over the ${MAX_TEMPLATE_BYTES} read`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TemplateError(`The template of stack ${stackName} (${file}) is not valid JSON (${(e as Error).message})`);
  }
  return checkTemplate(stackName, parsed);
}
