import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderMermaid } from '../../cli/mermaid';
import { extractDiagram, readmeDiagramBlock } from '../../cli/readme';
import { ensureSynth, PROJECT_ROOT } from '../../assembly';
import { assemblyStacks, appPrefix } from '../../cli/app-names';
import { loadTopology, type Topology } from '../../cli/topology';
import { runCli } from './helpers';

/**
 * The real app (bin/app.ts, every stack) as `cdk synth` leaves it in cdk.out, synthesized when stale
 * and shared with the other suites that read it; the CLI runs in a folder that links to it.
 */
let topology: Topology;
let dir: string;
/** The name prefix the app's stacks share: the names the diagram shortens. */
let app: string | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cli-diagram-'));
  symlinkSync(await ensureSynth(), join(dir, 'cdk.out'));
  app = appPrefix(assemblyStacks(join(dir, 'cdk.out')));
  topology = loadTopology({ assembly: 'cdk.out', stack: app ?? '', cwd: dir });
}, 300_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('diagram', () => {
  test('the README diagram is the output of diagram for the synthesized app (if this fails, regenerate it: npm run diagram)', () => {
    const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
    expect(extractDiagram(readme)).toBe(readmeDiagramBlock(renderMermaid(topology, { stack: app })));
  });

  test('prints the Mermaid flowchart of the template in cdk.out', async () => {
    const r = await runCli(['diagram'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(renderMermaid(topology, { stack: app }));
    expect(r.stdout.startsWith('flowchart LR\n')).toBe(true);
  });

  test('draws every rule with its buffer queue, both dead-letter queues and its function', async () => {
    const r = await runCli(['diagram'], { cwd: dir });
    expect(topology.rules.length).toBeGreaterThan(0);
    for (const rule of topology.rules) {
      expect(r.stdout).toContain(`Rule ${rule.name}`);
      const target = rule.targets[0]!;
      const queue = topology.queues.get(target.queueId!)!;
      expect(r.stdout).toContain(`[/"${queue.name}"/]`);
      expect(r.stdout).toContain(`[("${topology.queues.get(target.deadLetterQueueId!)!.name}")]`);
      expect(r.stdout).toContain(`after ${queue.redrive!.maxReceiveCount} receives`);
      const fn = topology.functions.find((f) => f.sources.some((s) => s.queueId === queue.id))!;
      expect(r.stdout).toContain(`λ ${fn.name}`);
    }
  });

  test('summarises content filters in the rule label', async () => {
    const r = await runCli(['diagram'], { cwd: dir });
    expect(r.stdout).toContain('LoanApplicationSubmitted where amount >= 250000');
  });

  test('a missing template is a usage error that says how to make one', async () => {
    const r = await runCli(['diagram'], { cwd: mkdtempSync(join(tmpdir(), 'cli-diagram-empty-')) });
    expect(r.stderr).toContain("run 'npx cdk synth' first, or pass --template <file>");
    expect(r.code).toBe(2);
  });

  test('svg without a renderer installed fails with what to install', async () => {
    const r = await runCli(['diagram', '--format', 'svg', '-o', 'out.svg'], { cwd: dir, env: { PATH: '/nonexistent' } });
    if (r.code === 0) return expect(readFileSync(join(dir, 'out.svg')).length).toBeGreaterThan(0); // mmdc in node_modules
    expect(r.stderr).toContain('install @mermaid-js/mermaid-cli');
    expect(r.code).toBe(1);
  });

  test('svg goes through mmdc with the Mermaid text as input', async () => {
    // GIVEN a stand-in mmdc on PATH that copies its input to the output
    const bin = mkdtempSync(join(tmpdir(), 'cli-mmdc-'));
    writeFileSync(join(bin, 'mmdc'), '#!/bin/sh\n# args: -i IN -o OUT -e FORMAT\ncp "$2" "$4"\n');
    chmodSync(join(bin, 'mmdc'), 0o755);
    // WHEN
    const r = await runCli(['diagram', '--format', 'svg', '-o', 'out.svg'], { cwd: dir, env: { PATH: `${bin}:${process.env.PATH}` } });
    // THEN
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'out.svg'), 'utf8')).toBe(renderMermaid(topology, { stack: app }));
  });

  test('svg without --output is a usage error', async () => {
    const r = await runCli(['diagram', '--format', 'svg'], { cwd: dir });
    expect(r.stderr).toContain('--output is required for --format svg');
    expect(r.code).toBe(2);
  });
});

describe('pattern rules', () => {
  test('lists the stack rules an event matches, from the template', async () => {
    const event = { source: 'com.example.loans.intake', detailType: 'LoanApplicationSubmitted', detail: { data: { amount: 300000 } } };
    const r = await runCli(['--json', 'pattern', 'rules', '-e', JSON.stringify(event)], { cwd: dir });
    const rules = (JSON.parse(r.stdout) as { rules: { rule: string; match: boolean; reason?: string }[] }).rules;
    expect(
      rules
        .filter((x) => x.match)
        .map((x) => x.rule)
        .sort(),
    ).toEqual(['LoanEvents-manual-review', 'LoanEvents-underwriting']);
    expect(rules.find((x) => x.rule === 'LoanEvents-notifications')?.reason).toContain('detail-type');
    expect(r.code).toBe(0);
  });

  test('exits 1 when no rule matches', async () => {
    const event = { source: 'com.example.other', detailType: 'Nothing', detail: {} };
    const r = await runCli(['pattern', 'rules', '-e', JSON.stringify(event)], { cwd: dir });
    expect(r.stderr).toContain('matches no rule');
    expect(r.code).toBe(1);
  });
});
