#!/usr/bin/env node
/**
 * CDK app: `npx cdk synth` works offline (environment-agnostic stack, esbuild bundling).
 * Context keys (`-c key=value`) are listed in lib/context.ts and docs/deploy.md.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { propsFromContext } from '../lib/context';
import { LoanEventsStack } from '../lib/loan-events-stack';

const app = new App();

new LoanEventsStack(app, 'LoanEvents', {
  description: 'Encrypted EventBridge bus routing catalog events to buffered SQS + Lambda consumers',
  ...propsFromContext(app.node),
});

// Both packs run on every synth; an unacknowledged finding fails it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
