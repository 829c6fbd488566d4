#!/usr/bin/env node
/**
 * CDK app of the example: `npx cdk synth` works offline (environment-agnostic stacks, esbuild
 * bundling). Stacks: `LoanEvents-Router` and one `LoanEvents-<consumer>` per catalog consumer;
 * `npx cdk deploy LoanEvents-underwriting` ships one consumer. Context keys (`-c key=value`) are
 * listed in lib/context.ts and docs/deploy.md; `-c isolated=true` adds `LoanEvents-Network` (docs/deploy.md).
 */
import * as path from 'path';
import { App, Validations } from 'aws-cdk-lib';
import { app as loanEvents } from '../catalog';
import { compliancePacks } from '../lib/compliance';
import { propsFromContext } from '../lib/context';
import { buildStacks } from '../lib/stacks';

// aws-cdk-lib announces each bundling on stderr ("Bundling asset <path>...") and has no setting
// to turn that off; so that `cdk synth -q` prints nothing on success, the line is dropped. A
// failed bundling still names its asset ("Failed to bundle asset <path>, ...") in its error.
const writeStderr = process.stderr.write.bind(process.stderr) as (chunk: unknown, ...rest: unknown[]) => boolean;
process.stderr.write = ((chunk: unknown, ...rest: unknown[]) =>
  typeof chunk === 'string' && /^Bundling asset [^\n]*\.\.\.\n$/.test(chunk)
    ? true
    : writeStderr(chunk, ...rest)) as typeof process.stderr.write;

const app = new App();

buildStacks(app, loanEvents, {
  handlersDir: path.join(__dirname, '..', 'lambdas'),
  ...propsFromContext(app.node),
});

// AwsSolutions, Serverless, NIST 800-53 R5, HIPAA Security and PCI DSS 3.2.1 run on every synth;
// an unacknowledged finding of any of them fails it.
Validations.of(app).addPlugins(...compliancePacks(app));
