/**
 * App settings for tests that build the stacks to read their templates.
 *
 * CDK runs a built-in CloudFormation template validation on every `synth()` (a WebAssembly engine
 * that takes seconds to start and seconds per app). Unless the feature flag
 * `@aws-cdk/core:validateAgainstDefaultRules` is set, which no test app sets, it downgrades every
 * finding to a warning and never fails a synth: in a test that asserts on the template it checks
 * nothing and costs most of the synth time. It stays on in bin/app.ts, where cdk.json sets the flag
 * (a finding fails `cdk synth`), so in the cdk.out that the CLI, demo and runtime suites share
 * (test/cli/diagram.test.ts).
 * @see https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.AppProps.html#builtincloudformationvalidation
 */
import type { AppProps } from 'aws-cdk-lib';

/** Spread into `new App({ ...NO_BUILTIN_VALIDATION, context })`: no built-in template validation on synth. */
export const NO_BUILTIN_VALIDATION = { builtinCloudFormationValidation: false } as const satisfies AppProps;

/**
 * NO_BUILTIN_VALIDATION, and no stack traces in construct metadata: the CDK captures and renders
 * a JavaScript stack trace for every construct it creates (`aws:cdk:creation-stack`) and every
 * metadata entry (`aws:cdk:disable-stack-trace` turns those off), a large share of building an
 * app. They only say where in the code a construct was made; no template depends on them. The
 * creation-trace switch is context, so it goes in `postCliContext`, which a caller's `context` does not replace.
 * Spread into `new App({ ...TEST_APP, context })`.
 * @see https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.AppProps.html#stacktraces
 */
export const TEST_APP = {
  ...NO_BUILTIN_VALIDATION,
  stackTraces: false,
  postCliContext: { 'aws:cdk:disable-creation-stack-traces': true },
} as const satisfies AppProps;
