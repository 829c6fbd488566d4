/**
 * The code each function worker thread runs, kept as text so it runs the same whether
 * the runtime itself is loaded by tsx, the test transform or compiled JavaScript.
 * It loads the bundled handler once (module state stays warm between invocations),
 * then answers `invoke` messages with `result` messages.
 */
export const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { createRequire } = require('node:module');
// With NODE_OPTIONS=--enable-source-maps in the function's environment (BufferedConsumer sets it),
// Lambda's Node.js maps stack traces to the sources named in a bundle's source map; without it,
// traces point into the bundle, as there. The map is read when a trace first needs it: Node's own
// switch parses the map of every module as it loads, about 230 ms of each environment's start for
// a 300 KB bundle, paid even when nothing ever throws. So the runtime takes the option out of the
// worker's NODE_OPTIONS (workerData.mapTraces says it was there), and the handler sees them whole.
if (workerData.nodeOptions !== undefined) process.env.NODE_OPTIONS = workerData.nodeOptions;
if (workerData.mapTraces) mapStackTraces();

function mapStackTraces() {
  const { SourceMap } = require('node:module');
  const { fileURLToPath } = require('node:url');
  const maps = new Map(); // generated file -> { map, dir } or null
  const mapOf = (file) => {
    if (maps.has(file)) return maps.get(file);
    let found = null;
    try {
      if (file.startsWith('node:') || file.includes('/node_modules/')) throw new Error('not mapped');
      const text = fs.readFileSync(file, 'utf8');
      const comment = /\/\/[#@] sourceMappingURL=(\S+)\s*$/.exec(text.slice(-4096));
      if (comment) {
        const url = comment[1];
        const inline = /^data:application\/json(?:;charset=utf-8)?;base64,(.*)$/.exec(url);
        const mapFile = inline ? file : path.resolve(path.dirname(file), decodeURIComponent(url));
        const payload = JSON.parse(inline ? Buffer.from(inline[1], 'base64').toString('utf8') : fs.readFileSync(mapFile, 'utf8'));
        found = { map: new SourceMap(payload), dir: path.resolve(path.dirname(mapFile), payload.sourceRoot || '') };
      }
    } catch {}
    maps.set(file, found);
    return found;
  };
  const where = (site) => {
    const file = site.getFileName();
    const line = site.getLineNumber();
    const column = site.getColumnNumber();
    if (!file || !line || !column) return undefined;
    const name = file.startsWith('file://') ? fileURLToPath(file) : file;
    const found = mapOf(name);
    if (!found) return undefined;
    const entry = found.map.findEntry(line - 1, column - 1);
    if (!entry || !entry.originalSource || entry.originalLine === undefined) return undefined;
    const source = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : path.resolve(found.dir, entry.originalSource);
    return { generated: file + ':' + line + ':' + column, original: source + ':' + (entry.originalLine + 1) + ':' + (entry.originalColumn + 1) };
  };
  Error.prepareStackTrace = (error, sites) => {
    let header;
    try { header = Error.prototype.toString.call(error); } catch { header = '<error>'; }
    return header + sites.map((site) => {
      const text = String(site);
      let mapped;
      try { mapped = where(site); } catch {}
      return '\n    at ' + (mapped && text.includes(mapped.generated) ? text.replace(mapped.generated, mapped.original) : text);
    }).join('');
  };
}

// The deployed function runs on Lambda's Node.js, so warnings about the local Node.js
// version (the SDK's NodeVersionSupportWarning) say nothing about it.
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  if (String(warning && warning.message ? warning.message : warning).startsWith('NodeVersionSupportWarning')) return;
  return emitWarning.call(process, warning, ...rest);
};

// The Lambda Node.js runtime provides the AWS SDK v3, so bundles leave @aws-sdk/* out; this
// runtime provides it the same way, from its own node_modules, and nothing else.
const Module = require('node:module');
const provided = createRequire(workerData.providedFrom);
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  try {
    return resolveFilename.call(this, request, parent, ...rest);
  } catch (err) {
    if (err && err.code === 'MODULE_NOT_FOUND' && request.startsWith('@aws-sdk/')) return provided.resolve(request);
    throw err;
  }
};

// A worker is a thread of the runtime's process: process.kill of that process (or of its
// group, or of every process) would end the runtime and every other function with it. Lambda
// would end only this environment, so that is what happens: the worker exits with the signal's
// status and the invocation fails with Runtime.ExitError. process.abort() likewise.
const os = require('node:os');
const kill = process.kill.bind(process);
process.kill = function (pid, signal) {
  const target = Number(pid);
  if (target === process.pid || target === 0 || target === -1 || target === -process.pid) {
    const name = signal === undefined ? 'SIGTERM' : signal;
    const number = typeof name === 'number' ? name : os.constants.signals[name] || 15;
    if (number === 0) return true; // signal 0 only asks whether the process exists
    process.exit(128 + number);
  }
  return kill(pid, signal);
};
process.abort = function () {
  process.exit(134);
};

// Lambda's limit on a synchronous response: 6 MB, plus the 100 bytes its runtime API allows.
// https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
const MAX_RESPONSE_BYTES = 6291556;
const tooLarge = () => ({
  errorType: 'Function.ResponseSizeTooLarge',
  errorMessage: 'Response payload size exceeded maximum allowed payload size (' + MAX_RESPONSE_BYTES + ' bytes).',
  trace: [],
});

// A lower bound of the UTF-8 size of JSON.stringify(value), computed without building the text
// and given up as soon as it passes the limit: a 200 MB result is refused without a 200 MB copy.
// Only an object that holds objects can be part of a cycle, so only those are remembered (and
// counted once): a result of many small objects costs no set entry per object, which was most of
// the walk's time (600,000 {i} objects: about 450 ms, now 200). An object of plain values seen
// twice is counted twice, as JSON.stringify writes it twice.
function exceedsResponseLimit(value) {
  let size = 0;
  const seen = new Set();
  const stack = [value];
  while (stack.length > 0) {
    let v = stack.pop();
    if (v !== null && typeof v === 'object' && typeof v.toJSON === 'function') {
      try { v = v.toJSON(); } catch { return false; } // JSON.stringify will throw the same error
    }
    if (typeof v === 'string') size += v.length + 2;
    else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') size += String(v).length;
    else if (v === null) size += 4;
    else if (typeof v === 'object') {
      const keys = Array.isArray(v) ? undefined : Object.keys(v);
      if (holdsObject(v, keys)) {
        if (seen.has(v)) continue;
        seen.add(v);
      }
      size += 2;
      if (keys === undefined) {
        size += v.length;
        for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
      } else {
        for (const k of keys) {
          size += k.length + 4;
          stack.push(v[k]);
        }
      }
    }
    if (size > MAX_RESPONSE_BYTES) return true;
  }
  return false;
}

// Whether an array (keys undefined) or an object (its own keys) holds an object or array.
function holdsObject(v, keys) {
  const n = keys === undefined ? v.length : keys.length;
  for (let i = 0; i < n; i++) {
    const x = keys === undefined ? v[i] : v[keys[i]];
    if (x !== null && typeof x === 'object') return true;
  }
  return false;
}

function toError(err, fallbackType) {
  if (err instanceof Error) {
    return { errorType: err.name && err.name !== 'Error' ? err.name : (err.constructor && err.constructor.name) || fallbackType, errorMessage: err.message, trace: String(err.stack || '').split('\n') };
  }
  return { errorType: fallbackType, errorMessage: typeof err === 'string' ? err : JSON.stringify(err), trace: [] };
}

async function load() {
  const handler = workerData.handler;
  const dot = handler.lastIndexOf('.');
  if (dot < 1) throw Object.assign(new Error('Bad handler ' + handler + ': expected <file>.<export>'), { name: 'Runtime.MalformedHandlerName' });
  const file = handler.slice(0, dot);
  const exportPath = handler.slice(dot + 1);
  const base = path.resolve(workerData.codeDir, file);
  const candidates = ['.js', '.cjs', '.mjs'].map((ext) => base + ext).filter((f) => fs.existsSync(f));
  if (candidates.length === 0) {
    throw Object.assign(new Error("Cannot find module '" + file + "' in " + workerData.codeDir), { name: 'Runtime.ImportModuleError' });
  }
  const target = candidates[0];
  let mod;
  if (target.endsWith('.mjs')) mod = await import(pathToFileURL(target).href);
  else {
    try {
      mod = createRequire(target)(target);
    } catch (e) {
      if (e && e.code === 'ERR_REQUIRE_ESM') mod = await import(pathToFileURL(target).href);
      else throw Object.assign(e instanceof Error ? e : new Error(String(e)), { name: e && e.name && e.name !== 'Error' ? e.name : 'Runtime.ImportModuleError' });
    }
  }
  const fn = exportPath.split('.').reduce((o, k) => (o == null ? undefined : o[k]), mod);
  if (typeof fn !== 'function') {
    throw Object.assign(new Error(file + '.' + exportPath + ' is undefined or not exported'), { name: 'Runtime.HandlerNotFound' });
  }
  return fn;
}

const loading = load();
// The init phase ends here; Lambda times it apart from the invocation (up to 10 s).
loading.then(
  () => parentPort.postMessage({ type: 'init', ok: true }),
  (err) => parentPort.postMessage({ type: 'init', ok: false, error: toError(err, 'Runtime.ImportModuleError') }),
);

parentPort.on('message', async (msg) => {
  if (msg.type !== 'invoke') return;
  const started = Date.now();
  const reply = (body) => {
    const durationMs = Date.now() - started;
    // Marks the end of this invocation's output on stdout itself (see END_MARK in lambda.ts).
    try { process.stdout.write('\u0000\u0001lambda-invocation-end:' + msg.id + '\n'); } catch {}
    const heapMb = Math.ceil(require('node:v8').getHeapStatistics().used_heap_size / 1048576);
    parentPort.postMessage(Object.assign({ type: 'result', id: msg.id, durationMs, heapMb }, body));
  };
  let fn;
  try {
    fn = await loading;
  } catch (err) {
    reply({ ok: false, error: toError(err, 'Runtime.ImportModuleError') });
    return;
  }
  const context = Object.assign({}, msg.context, {
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, msg.deadline - Date.now()),
    done: () => {},
    succeed: () => {},
    fail: () => {},
  });
  try {
    const event = JSON.parse(msg.payload);
    const result = await new Promise((resolve, reject) => {
      let settled = false;
      const callback = (err, value) => {
        if (settled) return;
        settled = true;
        if (err !== undefined && err !== null) reject(err);
        else resolve(value);
      };
      const r = fn(event, context, callback);
      if (r && typeof r.then === 'function') r.then((v) => callback(null, v), (e) => callback(e === undefined || e === null ? new Error('Handler rejected') : e));
      else if (fn.length < 3) callback(null, r);
    });
    if (exceedsResponseLimit(result)) {
      reply({ ok: false, error: tooLarge() });
      return;
    }
    const payload = result === undefined ? 'null' : JSON.stringify(result);
    if (payload !== undefined && Buffer.byteLength(payload) > MAX_RESPONSE_BYTES) {
      reply({ ok: false, error: tooLarge() });
      return;
    }
    reply({ ok: true, payload: payload === undefined ? 'null' : payload });
  } catch (err) {
    reply({ ok: false, error: toError(err, 'Error') });
  }
});
`;
