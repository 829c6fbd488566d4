import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppNames, assemblyStacks, BUS_ENV, DEPRECATED_ENV, STACK_ENV } from '../../cli/app-names';

/** A router stack with a named bus, and a consumer stack without one. */
const ROUTER = { Resources: { Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'orders-bus' } } } };
const CONSUMER = { Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: {} } } };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cli-names-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Writes an assembly with a manifest naming each stack's template file. */
function assembly(stacks: Record<string, unknown>, where = 'cdk.out'): void {
  const out = join(dir, where);
  mkdirSync(out, { recursive: true });
  const artifacts: Record<string, unknown> = { Tree: { type: 'cdk:tree', properties: { file: 'tree.json' } } };
  for (const [id, template] of Object.entries(stacks)) {
    writeFileSync(join(out, `${id}.template.json`), JSON.stringify(template));
    artifacts[id] = { type: 'aws:cloudformation:stack', properties: { templateFile: `${id}.template.json` } };
  }
  writeFileSync(join(out, 'manifest.json'), JSON.stringify({ version: '41.0.0', artifacts }));
}

const names = (given: { bus?: string; stack?: string } = {}, env: Record<string, string> = {}, notice?: (m: string) => void) =>
  new AppNames({ ...given, env, cwd: dir, notice });

describe('AppNames', () => {
  test('finds the stack that defines the bus in the assembly, and its bus name', () => {
    // GIVEN
    assembly({ OrdersConsumerA: CONSUMER, OrdersRouter: ROUTER });
    // THEN
    expect(assemblyStacks(join(dir, 'cdk.out'))).toEqual(['OrdersConsumerA', 'OrdersRouter']);
    expect(names().stack()).toBe('OrdersRouter');
    expect(names().bus()).toBe('orders-bus');
  });

  test('reads <stack>.template.json files when the assembly has no manifest', () => {
    mkdirSync(join(dir, 'cdk.out'));
    writeFileSync(join(dir, 'cdk.out', 'Solo.template.json'), JSON.stringify(ROUTER));
    expect(names().stack()).toBe('Solo');
    expect(names().bus()).toBe('orders-bus');
  });

  test('an option beats the environment, which beats the assembly', () => {
    assembly({ OrdersRouter: ROUTER });
    expect(names({ bus: 'opt-bus', stack: 'OptStack' }, { [BUS_ENV]: 'env-bus', [STACK_ENV]: 'EnvStack' }).bus()).toBe('opt-bus');
    expect(names({ bus: 'opt-bus', stack: 'OptStack' }, { [BUS_ENV]: 'env-bus', [STACK_ENV]: 'EnvStack' }).stack()).toBe('OptStack');
    expect(names({}, { [BUS_ENV]: 'env-bus', [STACK_ENV]: 'EnvStack' }).bus()).toBe('env-bus');
    expect(names({}, { [BUS_ENV]: 'env-bus', [STACK_ENV]: 'EnvStack' }).stack()).toBe('EnvStack');
  });

  test('still reads the deprecated variables, after the current ones, and says so once', () => {
    // GIVEN
    const notices: string[] = [];
    const [oldBus, oldStack] = Object.keys(DEPRECATED_ENV);
    const n = names({}, { [oldBus!]: 'old-bus', [oldStack!]: 'OldStack' }, (m) => notices.push(m));
    // WHEN
    const read = [n.bus(), n.bus(), n.stack()];
    // THEN
    expect(read).toEqual(['old-bus', 'old-bus', 'OldStack']);
    expect(notices).toEqual([`${oldBus} is deprecated; set ${BUS_ENV} instead`, `${oldStack} is deprecated; set ${STACK_ENV} instead`]);
    expect(names({}, { [oldBus!]: 'old-bus', [BUS_ENV]: 'new-bus' }).bus()).toBe('new-bus');
  });

  test('takes the bus of a stack named by --stack from that stack, and refuses a stack without one', () => {
    assembly({ OrdersConsumerA: CONSUMER, OrdersRouter: ROUTER });
    expect(names({ stack: 'OrdersRouter' }).bus()).toBe('orders-bus');
    expect(() => names({ stack: 'OrdersConsumerA' }).bus()).toThrow(
      `stack 'OrdersConsumerA' defines no event bus: pass --bus or set ${BUS_ENV}`,
    );
    expect(() => names({ stack: 'Nope' }).bus()).toThrow(`no bus given, and stack 'Nope' is not in ${join(dir, 'cdk.out')}`);
  });

  test('without an assembly, says how to name the bus and the stack', () => {
    expect(() => names().bus()).toThrow(
      `no bus given, and no synthesized app with an event bus in ${join(dir, 'cdk.out')}: run 'npx cdk synth' first`,
    );
    expect(() => names().stack()).toThrow(`pass --template <file>, or name them with --stack and --bus (or ${STACK_ENV}, ${BUS_ENV})`);
    expect(names().tryStack()).toBeUndefined();
  });

  test('refuses to guess between two stacks that each define a bus', () => {
    assembly({ A: ROUTER, B: ROUTER });
    expect(() => names().bus()).toThrow('has several stacks with an event bus (A, B): choose one with --stack');
  });

  test('reads another assembly directory when given one', () => {
    assembly({ OrdersRouter: ROUTER }, 'out/elsewhere');
    expect(names().tryStack()).toBeUndefined();
    expect(names().stack('out/elsewhere')).toBe('OrdersRouter');
  });
});

describe('the CLI modules', () => {
  test('no command module imports the program, which imports them all', () => {
    // GIVEN every command module
    const commands = join(__dirname, '..', '..', 'cli', 'commands');
    const files = readdirSync(commands).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(0);
    // THEN none of them imports ../program (shared helpers live in ../command)
    const importing = files.filter((f) => /from '\.\.\/program'/.test(readFileSync(join(commands, f), 'utf8')));
    expect(importing).toEqual([]);
  });
});
