/**
 * Bundles a consumer handler as the stack deploys it (esbuild, minified, source map, CommonJS,
 * node24, `@aws-sdk/*` left to the Lambda runtime, as NodejsFunction would), plus one thing
 * NodejsFunction cannot do because it takes no esbuild plugins: keep only zod's English
 * locale. zod re-exports its locales as a namespace (`export * as locales`), which esbuild
 * cannot tree-shake, so every bundle otherwise carries ~260 KB of unused translations.
 * @see https://github.com/colinhacks/zod/issues/6050
 *
 * The stack's local bundling hook (synchronous) calls bundleHandler in a worker thread it waits
 * on (lib/buffered-consumer.ts). By hand:
 *   node --require tsx/cjs sdk/build.ts lambdas/<name>/index.ts <outdir>
 */
import * as path from 'node:path';
import { build, type BuildOptions, type Plugin } from 'esbuild';

/** Resolves zod's internal locale index to its English locale, the one zod configures by default. */
export const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${path.sep}zod${path.sep}`)
        ? { path: path.join(path.dirname(args.importer), '..', 'locales', 'en.js') }
        : undefined,
    );
  },
};

export interface BundleOptions {
  /** Handler entry, e.g. `lambdas/underwriting/index.ts`. */
  readonly entry: string;
  /** Directory to write `index.js` and `index.js.map` to. */
  readonly outdir: string;
  /** Leave `@aws-sdk/*` to the Lambda runtime, as NodejsFunction does for Node.js 18+. @default true */
  readonly externalAwsSdk?: boolean;
  /** Keep only zod's English locale. @default true */
  readonly zodEnglishOnly?: boolean;
}

/**
 * The esbuild options of one handler bundle: the one definition the stack's bundles
 * (`bundleHandler`, run by the stack's local bundling) and the local runtime's watch mode
 * (runtime/watch.ts, an incremental esbuild context) share, so both build the same code.
 */
export function bundleBuildOptions(options: BundleOptions): BuildOptions & { entryPoints: string[]; outfile: string } {
  return {
    entryPoints: [options.entry],
    outfile: path.join(options.outdir, 'index.js'),
    bundle: true,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    external: options.externalAwsSdk === false ? [] : ['@aws-sdk/*'],
    plugins: options.zodEnglishOnly === false ? [] : [zodEnglishOnly],
    logLevel: 'error',
  };
}

/** Bundles one handler; returns the path of the written `index.js`. */
export async function bundleHandler(options: BundleOptions): Promise<string> {
  const buildOptions = bundleBuildOptions(options);
  await build(buildOptions);
  return buildOptions.outfile;
}

if (require.main === module) {
  const [entry, outdir] = process.argv.slice(2);
  if (!entry || !outdir) {
    console.error('Usage: node --require tsx/cjs sdk/build.ts <handler entry> <output directory>');
    process.exit(2);
  }
  bundleHandler({ entry, outdir }).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
