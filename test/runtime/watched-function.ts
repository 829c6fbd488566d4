/**
 * A cloud assembly of one function, written by hand, as watch mode needs it: the bundle built from
 * `entry` with the stack's esbuild options (sdk/build.ts), and a template whose function carries
 * the entry metadata the consumer construct writes beside `aws:asset:path`. Shared by the watch
 * suites and the watch benchmark.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ENTRY_METADATA_KEY } from '../../assembly/template';
import { bundleHandler } from '../../sdk/build';

export interface WatchedFunctionAssembly {
  /** The handler source file to bundle. */
  readonly entry: string;
  /** The entry as the template names it: relative to the root the runtime resolves it from. */
  readonly entryMetadata: string;
  /** Where to write the assembly. */
  readonly assemblyDir: string;
  readonly stackName: string;
  /** The function's properties; `Handler` and `Runtime` default to the bundle's `index.handler` on nodejs24.x. */
  readonly properties: Record<string, unknown> & { FunctionName: string };
}

export async function writeWatchedFunctionAssembly(a: WatchedFunctionAssembly): Promise<void> {
  await bundleHandler({ entry: a.entry, outdir: path.join(a.assemblyDir, 'asset.fn') });
  const templateFile = `${a.stackName}.template.json`;
  writeFileSync(
    path.join(a.assemblyDir, 'manifest.json'),
    JSON.stringify({ version: '55.0.0', artifacts: { [a.stackName]: { type: 'aws:cloudformation:stack', properties: { templateFile } } } }),
  );
  writeFileSync(
    path.join(a.assemblyDir, templateFile),
    JSON.stringify({
      Resources: {
        Fn: {
          Type: 'AWS::Lambda::Function',
          Metadata: { 'aws:asset:path': 'asset.fn', [ENTRY_METADATA_KEY]: a.entryMetadata },
          Properties: { Handler: 'index.handler', Runtime: 'nodejs24.x', ...a.properties },
        },
      },
    }),
  );
}
