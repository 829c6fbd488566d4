/**
 * The catalog building blocks: event types, publishers, consumers, the whole catalog and the app
 * definition with its naming policy. Import `sdk/catalog` to define a catalog without loading the
 * publisher or the AWS SDK.
 */
export * from './define';
export * from './app';
