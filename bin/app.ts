#!/usr/bin/env node
/**
 * CDK app of the example: `npx cdk synth` works offline (environment-agnostic stacks, esbuild
 * bundling). Stacks: `LoanEvents-Router` and one `LoanEvents-<consumer>` per catalog consumer;
 * `npx cdk deploy LoanEvents-underwriting` ships one consumer. Context keys (`-c key=value`) are
 * listed in lib/context.ts and docs/deploy.md.
 */
import * as path from 'path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { app as loanEvents } from '../catalog';
import { propsFromContext } from '../lib/context';
import { buildStacks } from '../lib/stacks';

const app = new App();

buildStacks(app, loanEvents, {
  handlersDir: path.join(__dirname, '..', 'lambdas'),
  ...propsFromContext(app.node),
});

// Both packs run on every synth; an unacknowledged finding fails it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
