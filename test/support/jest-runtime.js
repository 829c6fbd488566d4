/**
 * Jest's runtime, keeping V8's compiled code of each module for the next test file of the same
 * worker, and ending each file's AsyncLocalStorage instances with the file (jest.config.js `runtime`).
 *
 * Jest loads every module afresh for each test file, and compiles it with `vm.compileFunction`,
 * which keeps nothing between files: each file that builds a CDK app compiled aws-cdk-lib's
 * constructs again, about 1 CPU-second before its first template. Here a module is compiled as
 * a `vm.Script` wrapping the same function, so that after the file V8 can serialize what it
 * compiled, lazily compiled functions included (`createCachedData`), and the next file that loads
 * the same source in this worker starts from that code instead of the source. Only the code is
 * shared: each file still evaluates every module in its own context, with its own state.
 *
 * The wrapper puts the function's head on the source's first line and moves columns back by its
 * length, so stack traces give the lines and columns compileFunction gave. An entry is used only
 * for the identical source text (V8 itself checks no more than the length).
 */
const { AsyncLocalStorage } = require('node:async_hooks');
const vm = require('node:vm');
const Runtime = require('jest-runtime').default;

/**
 * On Node.js 20, an AsyncLocalStorage that has run once stays enabled until `disable()`, and every
 * promise the process creates afterwards calls a hook for each enabled instance. Each test file
 * makes new ones (jest-circus's test context, the runtime's request context, the SDK's
 * correlation context) and none is ever disabled, so a worker's 50th file paid for 50 of each on
 * every promise (`_propagate` was 4 of the 71 busy seconds of a whole run in one process). An
 * instance used during a file is disabled when the file ends; `run` enables it again.
 */
let storagesOfThisFile = new Set();
for (const method of ['run', 'enterWith']) {
  const original = AsyncLocalStorage.prototype[method];
  AsyncLocalStorage.prototype[method] = function tracked(...args) {
    storagesOfThisFile.add(this);
    return original.apply(this, args);
  };
}

const compileFunction = vm.compileFunction;
/** Source and cached code by file name, for this worker process. */
const compiled = new Map();
/** Scripts compiled from source by the current test file, serialized when it ends. */
let fresh = [];

vm.compileFunction = function compileWithCache(code, params, options) {
  // Only jest's own call has this shape; anything else compiles as Node.js would.
  if (
    !options ||
    typeof options.filename !== 'string' ||
    !options.parsingContext ||
    options.cachedData ||
    options.produceCachedData ||
    options.contextExtensions
  ) {
    return compileFunction.call(this, code, params, options);
  }
  const head = `(function (${params.join(', ')}) {`;
  const entry = compiled.get(options.filename);
  const cachedData = entry !== undefined && entry.code === code ? entry.data : undefined;
  const script = new vm.Script(`${head}${code}\n})`, {
    filename: options.filename,
    columnOffset: -head.length,
    cachedData,
    importModuleDynamically: options.importModuleDynamically,
  });
  if (cachedData === undefined || script.cachedDataRejected) fresh.push({ filename: options.filename, code, script });
  return script.runInContext(options.parsingContext);
};

class CachingRuntime extends Runtime {
  teardown() {
    for (const { filename, code, script } of fresh) {
      try {
        compiled.set(filename, { code, data: script.createCachedData() });
      } catch {
        // Nothing to keep: the next file compiles this module from source, as jest does.
      }
    }
    fresh = [];
    for (const storage of storagesOfThisFile) storage.disable();
    storagesOfThisFile = new Set();
    return super.teardown();
  }
}

module.exports = CachingRuntime;
