/**
 * A template is input. `__proto__` keys stay plain keys, nesting and reference chains are bounded,
 * cycles are errors, and every error names the stack and the logical id.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Assembly, CloudAssembly, cloudNaming, MAX_TEMPLATE_DEPTH, TemplateError } from '../../assembly';
import { loadTopology as loadCliTopology } from '../../cli/topology';
import { loadTopology } from '../../runtime/template';
import { cleanUp, tempDir, writeAssembly } from './helpers';

afterAll(cleanUp);

const defaults = { account: '123456789012', region: 'eu-west-1' };
const load = (template: object) => Assembly.load(writeAssembly([{ id: 'S', template }]), { naming: cloudNaming, defaults }).stack('S');

/** Nests `leaf` `depth` levels deep in objects, built by hand so the JSON text carries the depth. */
const nested = (depth: number, leaf: string) => '{"a":'.repeat(depth) + leaf + '}'.repeat(depth);

describe('prototype keys', () => {
  afterEach(() => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  });

  test('a __proto__ key in properties is copied as an own key, and no prototype changes', () => {
    // GIVEN a template whose JSON text has __proto__ keys (JSON.parse makes them own properties)
    const dir = tempDir();
    writeFileSync(
      path.join(dir, 'S.template.json'),
      '{"Resources":{"Q":{"Type":"AWS::SQS::Queue","Properties":{"QueueName":"q","Tags":{"__proto__":{"polluted":"yes"},"k":{"Ref":"AWS::Region"}}}}}}',
    );
    writeAssembly([], dir);
    writeFileSync(
      path.join(dir, 'manifest.json'),
      JSON.stringify({ artifacts: { S: { type: 'aws:cloudformation:stack', properties: { templateFile: 'S.template.json' } } } }),
    );
    // WHEN
    const q = Assembly.load(dir, { naming: cloudNaming, defaults }).stack('S').ofType('AWS::SQS::Queue')[0];
    const tags = q?.properties.Tags as Record<string, unknown>;
    // THEN
    expect(Object.getPrototypeOf(tags)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(tags, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(tags, '__proto__')?.value).toEqual({ polluted: 'yes' });
    expect(tags.k).toBe('eu-west-1');
  });

  test.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])(
    'Ref %s is an unknown resource, not an inherited member',
    (name) => {
      const s = load({ Resources: { Q: { Type: 'AWS::SQS::Queue', Properties: { QueueName: { Ref: name } } } } });
      expect(() => s.ofType('AWS::SQS::Queue')[0]?.name).toThrow(
        new TemplateError(`Ref to unknown resource or parameter ${name} (stack S, resource Q)`),
      );
    },
  );

  test('a resource type named __proto__ is counted as a plain key by the runtime and the CLI', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'S.template.json'), '{"Resources":{"A":{"Type":"__proto__"},"B":{"Type":"__proto__"}}}');
    writeFileSync(
      path.join(dir, 'manifest.json'),
      JSON.stringify({ artifacts: { S: { type: 'aws:cloudformation:stack', properties: { templateFile: 'S.template.json' } } } }),
    );
    const topo = loadTopology(dir, { region: 'us-east-1', accountId: '000000000000', endpoint: 'http://x' });
    expect(Object.getOwnPropertyDescriptor(topo.unsupported, '__proto__')?.value).toBe(2);
    const cli = loadCliTopology({ assembly: dir, stack: 'S', cwd: '/' });
    expect(Object.getOwnPropertyDescriptor(cli.counts, '__proto__')?.value).toBe(2);
  });

  test('Fn::FindInMap and conditions read own keys only', () => {
    const s = load({
      Mappings: { M: { k: { v: 'ok' } } },
      Resources: {
        A: { Type: 'AWS::SQS::Queue', Properties: { QueueName: { 'Fn::FindInMap': ['M', 'k', 'constructor'] } } },
        B: { Type: 'AWS::SQS::Queue', Condition: 'toString' },
      },
    });
    expect(() => s.resource('A').name).toThrow('Fn::FindInMap M/k/constructor not found (stack S, resource A)');
    expect(() => s.ofType('AWS::SQS::Queue')).toThrow('Unknown condition toString (stack S)');
  });
});

describe('depth and size', () => {
  test(`a template nested deeper than ${MAX_TEMPLATE_DEPTH} levels is refused before any resolution`, () => {
    const dir = writeAssembly([{ id: 'S', template: { Resources: {} } }]);
    writeFileSync(
      path.join(dir, 'S.template.json'),
      `{"Resources":{"Q":{"Type":"AWS::SQS::Queue","Properties":{"Tags":${nested(100_000, '1')}}}}}`,
    );
    expect(() => CloudAssembly.load(dir).stack('S').template).toThrow(
      `The template of stack S nests deeper than ${MAX_TEMPLATE_DEPTH} levels`,
    );
  });

  test('a long chain of names referring to names ends in an error, not a stack overflow', () => {
    const resources: Record<string, object> = {};
    const n = 5000;
    for (let i = 0; i < n; i++) {
      resources[`Q${i}`] = {
        Type: 'AWS::SQS::Queue',
        Properties: { QueueName: i === n - 1 ? 'end' : { 'Fn::GetAtt': [`Q${i + 1}`, 'QueueName'] } },
      };
    }
    const s = load({ Resources: resources });
    expect(() => s.resource('Q0').name).toThrow(/References nest deeper than 100 levels/);
  });
});

describe('cycles', () => {
  test('names that refer to each other through Ref and Fn::GetAtt are a circular-reference error naming the resource', () => {
    const s = load({
      Resources: {
        A: { Type: 'AWS::SQS::Queue', Properties: { QueueName: { 'Fn::GetAtt': ['B', 'QueueName'] } } },
        B: { Type: 'AWS::SQS::Queue', Properties: { QueueName: { 'Fn::Join': ['-', [{ Ref: 'A' }, 'x']] } } },
      },
    });
    expect(() => s.resource('A').name).toThrow(TemplateError);
    expect(() => s.resource('A').name).toThrow(/Circular reference through (A|B)\.QueueName \(stack S, resource (A|B)\)/);
  });

  test('a rule whose bus name refers to the rule itself is a cycle', () => {
    const s = load({
      Resources: { R: { Type: 'AWS::Events::Rule', Properties: { Name: 'r', EventBusName: { 'Fn::GetAtt': ['R', 'Arn'] } } } },
    });
    expect(() => s.resource('R').arn).toThrow(/Circular reference through R/);
  });

  test('conditions that refer to each other are a cycle', () => {
    const s = load({
      Conditions: { A: { 'Fn::Not': [{ Condition: 'B' }] }, B: { 'Fn::Not': [{ Condition: 'A' }] } },
      Resources: { Q: { Type: 'AWS::SQS::Queue', Condition: 'A' } },
    });
    expect(() => s.ofType('AWS::SQS::Queue')).toThrow(/Circular reference through Condition (A|B)/);
  });

  test('exports that import each other across stacks are a cycle', () => {
    const exporting = (me: string, other: string) => ({
      Resources: { Q: { Type: 'AWS::SQS::Queue', Properties: { QueueName: { 'Fn::ImportValue': other } } } },
      Outputs: { O: { Value: { Ref: 'Q' }, Export: { Name: me } } },
    });
    const dir = writeAssembly([
      { id: 'A', template: exporting('a', 'b') },
      { id: 'B', template: exporting('b', 'a') },
    ]);
    const a = Assembly.load(dir, { naming: cloudNaming, defaults });
    expect(() => a.stack('A').resource('Q').name).toThrow(/Circular reference through (Fn::ImportValue|Q\.QueueName)/);
  });
});

describe('shapes and paths', () => {
  test.each([
    ['a resource without a Type', { Resources: { Q: { Properties: {} } } }, 'The resource has no string Type (stack S, resource Q)'],
    [
      'Properties that are a list',
      { Resources: { Q: { Type: 'AWS::SQS::Queue', Properties: [] } } },
      'Properties is not an object (stack S, resource Q)',
    ],
    ['a template that is a list', [], 'The template of stack S is not a JSON object'],
    ['Resources that is a string', { Resources: 'x' }, 'Resources of stack S is not an object'],
  ])('%s is a TemplateError naming where', (_name, template, message) => {
    const dir = writeAssembly([{ id: 'S', template: template as object }]);
    expect(() => CloudAssembly.load(dir).stack('S').template).toThrow(new TemplateError(message));
  });

  test('a property of the wrong type is an error naming the stack, resource and property', () => {
    const s = load({ Resources: { R: { Type: 'AWS::Events::Rule', Properties: { Targets: 'not-a-list' } } } });
    expect(() => s.resource('R').properties).toThrow('Targets must be a list, got "not-a-list" (stack S, resource R, property Targets)');
  });

  test('an intrinsic with the wrong arguments is an error, not a crash', () => {
    const s = load({
      Resources: {
        A: { Type: 'AWS::SQS::Queue', Properties: { QueueName: { 'Fn::Join': 'x' } } },
        B: { Type: 'AWS::SQS::Queue', Properties: { QueueName: { 'Fn::Select': [9, ['a']] } } },
        C: { Type: 'AWS::SQS::Queue', Properties: { QueueName: { 'Fn::GetAtt': [] } } },
        D: { Type: 'AWS::SQS::Queue', Properties: { QueueName: { 'Fn::Nope': 1 } } },
      },
    });
    expect(() => s.resource('A').name).toThrow('Fn::Join takes a list of at least 2 elements, got "x" (stack S, resource A)');
    expect(() => s.resource('B').name).toThrow('Fn::Select index 9 out of range (list of 1) (stack S, resource B)');
    expect(() => s.resource('C').name).toThrow('Fn::GetAtt takes [logicalId, attribute], got [] (stack S, resource C)');
    expect(() => s.resource('D').name).toThrow('Intrinsic Fn::Nope is not supported: 1 (stack S, resource D)');
  });

  test('a manifest that points a template outside the assembly is refused', () => {
    const dir = tempDir();
    writeFileSync(
      path.join(dir, 'manifest.json'),
      JSON.stringify({ artifacts: { S: { type: 'aws:cloudformation:stack', properties: { templateFile: '../../etc/passwd' } } } }),
    );
    expect(() => CloudAssembly.load(dir)).toThrow("'../../etc/passwd' points outside the cloud assembly");
  });

  test('the runtime does not write inline code outside its code folder, whatever the handler says', () => {
    const dir = writeAssembly([
      {
        id: 'S',
        template: {
          Resources: {
            F: {
              Type: 'AWS::Lambda::Function',
              Properties: { FunctionName: 'f', Code: { ZipFile: 'x' }, Handler: '../../../escape.handler' },
            },
          },
        },
      },
    ]);
    const topo = loadTopology(dir, { region: 'us-east-1', accountId: '000000000000', endpoint: 'http://x' });
    expect(topo.functions).toEqual([]);
    expect(topo.warnings).toEqual([
      'function f is not run: Function F in stack S: handler ../../../escape.handler points outside its code folder',
    ]);
  });
});
