/** `diagram`: the topology of the synthesized template as Mermaid, or SVG/PNG through mermaid-cli. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { CommandFailedError, UsageError } from '../errors';
import { renderMermaid } from '../mermaid';
import { PROGRAM_NAME, type Wrap } from '../command';
import { readmeDiagramBlock } from '../readme';
import { PROJECT_ROOT, synthStacks } from '../../assembly';
import { appPrefix } from '../app-names';
import { staleAssemblyWarning } from '../stale';
import { loadTopology, parseStacks, type Topology } from '../topology';

/** Finds mermaid-cli's `mmdc`: the project's node_modules/.bin first, then PATH. */
export function findRenderer(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const candidates = [join(PROJECT_ROOT, 'node_modules', '.bin'), ...(env.PATH ?? '').split(delimiter).filter(Boolean)];
  for (const dir of candidates) {
    const path = join(dir, process.platform === 'win32' ? 'mmdc.cmd' : 'mmdc');
    if (existsSync(path)) return path;
  }
  return undefined;
}

export function registerDiagram(program: Command, wrap: Wrap): void {
  program
    .command('diagram')
    .description('draw the topology of the synthesized template as Mermaid (or SVG/PNG with mermaid-cli installed)')
    .option('--template <file>', 'CloudFormation template (default: <assembly>/<stack>.template.json)')
    .option('--assembly <dir>', 'cloud assembly directory', 'cdk.out')
    .option('--synth', 'synthesize bin/app.ts first (into a temporary directory) instead of reading cdk.out', false)
    .addOption(new Option('-f, --format <format>', 'output format').choices(['mermaid', 'markdown', 'svg', 'png']).default('mermaid'))
    .option('-o, --output <file>', 'write to a file (required for svg and png)')
    .addHelpText(
      'after',
      `
Examples:
  $ ${PROGRAM_NAME} diagram --synth > topology.mmd
  $ ${PROGRAM_NAME} diagram --format svg -o topology.svg   # needs @mermaid-js/mermaid-cli (mmdc)`,
    )
    .action(
      wrap<{ template?: string; assembly: string; synth: boolean; format: string; output?: string }>(async ({ io, out, names }, opts) => {
        if (opts.synth && opts.template) throw new UsageError('--synth and --template cannot be used together');
        // The whole app: every stack of the assembly (router and consumers); the prefix only shortens names.
        let topology: Topology;
        let stack: string | undefined;
        if (opts.synth) {
          const stacks = await synthStacks({ env: io.env });
          stack = names.given() ?? appPrefix(stacks.map((s) => s.stackName));
          topology = parseStacks(stacks.filter((s) => stack === undefined || s.stackName.startsWith(stack)));
        } else {
          stack = names.tryApp(opts.assembly);
          if (stack === undefined && !opts.template)
            throw new UsageError(
              `no synthesized app in ${opts.assembly}: run 'npx cdk synth' first, or pass --template <file> (or --synth)`,
            );
          const stale = opts.template ? undefined : staleAssemblyWarning(io.cwd, opts.assembly);
          if (stale) out.warn(`${stale}, or pass --synth`);
          topology = loadTopology({ template: opts.template, assembly: opts.assembly, stack: stack ?? '', cwd: io.cwd });
        }
        const mermaid = renderMermaid(topology, { stack });
        if (opts.format === 'mermaid' || opts.format === 'markdown') {
          const body = opts.format === 'markdown' ? `${readmeDiagramBlock(mermaid)}\n` : mermaid;
          if (opts.output) writeFileSync(resolve(io.cwd, opts.output), body);
          else if (out.json) out.data({ format: opts.format, diagram: body });
          else io.stdout.write(body);
          return;
        }
        if (!opts.output) throw new UsageError(`--output is required for --format ${opts.format}`);
        const mmdc = findRenderer(io.env);
        if (!mmdc) {
          throw new CommandFailedError(`no renderer for ${opts.format}: install @mermaid-js/mermaid-cli (mmdc), or use --format mermaid`);
        }
        const dir = mkdtempSync(join(tmpdir(), 'cli-diagram-'));
        try {
          const input = join(dir, 'topology.mmd');
          writeFileSync(input, mermaid);
          const target = resolve(io.cwd, opts.output);
          const result = spawnSync(mmdc, ['-i', input, '-o', target, '-e', opts.format], {
            env: { ...process.env, ...io.env },
            encoding: 'utf8',
          });
          if (result.status !== 0 || !existsSync(target)) {
            throw new CommandFailedError(`mmdc failed (exit ${result.status}): ${(result.stderr || result.error?.message || '').trim()}`);
          }
          out.data({ format: opts.format, output: target, bytes: readFileSync(target).length });
          out.line(`wrote ${target}`);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
    );
}
