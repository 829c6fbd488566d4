/** The event catalog: the single source of truth shared by the stack, the handlers, the SDK, the runtime and the CLI. */
export * from './define';
export * from './loans';
export { loanCatalog as catalog } from './loans';
