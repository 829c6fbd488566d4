/**
 * `String.prototype.localeCompare` with a collator made once per locale and options, as the
 * simulator needs it. The simulator's packages compare ARNs, condition keys and values, often
 * character by character, with `a.localeCompare(b, undefined, { sensitivity: 'accent' })`, and V8
 * builds a new ICU collator for every call that passes options (about 9 µs a call, against
 * 0.2 µs without options): a third of the simulator's time per request went to building
 * collators. The language defines that call as `new Intl.Collator(locales, options).compare(a, b)`,
 * which is what this does, with a collator kept for the same locale and option values, so every
 * comparison answers as before.
 *
 * Jest gives each test file its own realm, so this changes the built-in only in the files that
 * load the simulator harness. Calls without options, with several locales, or with an option
 * value that is not a string, boolean or number go to the built-in unchanged. The options are
 * read as the object literals the callers pass: their enumerable properties.
 */
interface Node {
  collator?: Intl.Collator;
  /** Option name, then option value, then the node for the options so far. */
  readonly next: Map<string, Map<unknown, Node>>;
}

const builtin = String.prototype.localeCompare;
const byLocale = new Map<string | undefined, Node>();
let collators = 0;

// Walks a tree of plain Map lookups: a key string built per call cost more than the comparison.
function collatorFor(locales: unknown, options: object): Intl.Collator | undefined {
  if (locales !== undefined && typeof locales !== 'string') return undefined;
  if (Object.getPrototypeOf(options) !== Object.prototype) return undefined;
  let node: Node | undefined = byLocale.get(locales);
  if (!node) byLocale.set(locales, (node = { next: new Map() }));
  for (const name in options) {
    const value: unknown = (options as Record<string, unknown>)[name];
    if (typeof value !== 'string' && typeof value !== 'boolean' && typeof value !== 'number') return undefined;
    let byValue: Map<unknown, Node> | undefined = node.next.get(name);
    if (!byValue) node.next.set(name, (byValue = new Map()));
    let child: Node | undefined = byValue.get(value);
    if (!child) byValue.set(value, (child = { next: new Map() }));
    node = child;
  }
  if (!node.collator) {
    // A handful of distinct settings in practice; bounded all the same.
    if (collators >= 64) return undefined;
    node.collator = new Intl.Collator(locales, options as Intl.CollatorOptions);
    collators++;
  }
  return node.collator;
}

if (!(builtin as { cachedCollators?: boolean }).cachedCollators) {
  const localeCompare = function (this: unknown, that: string, locales?: string | string[], options?: Intl.CollatorOptions): number {
    const collator = typeof options === 'object' && options !== null ? collatorFor(locales, options) : undefined;
    if (collator === undefined || typeof this !== 'string') return builtin.call(this, that, locales, options);
    return collator.compare(this, String(that));
  };
  Object.defineProperty(localeCompare, 'cachedCollators', { value: true });
  Object.defineProperty(String.prototype, 'localeCompare', { value: localeCompare, writable: true, configurable: true, enumerable: false });
}
