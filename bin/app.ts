#!/usr/bin/env node
/**
 * CDK app: `npx cdk synth` works offline (environment-agnostic stack, esbuild bundling).
 * Context (`-c key=value`): deploymentRoleArns, ruleManagerArns (comma-separated ARNs),
 * alarmEmail, existingTrail (true/false), archiveRetentionDays.
 */
import { App, Duration, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { LoanEventsStack } from '../lib/loan-events-stack';

const app = new App();
const list = (key: string): string[] | undefined => {
  const v = app.node.tryGetContext(key) as string | string[] | undefined;
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s.length > 0);
};
const retentionDays = app.node.tryGetContext('archiveRetentionDays') as string | number | undefined;

new LoanEventsStack(app, 'LoanEvents', {
  description: 'Encrypted EventBridge bus routing catalog events to buffered SQS + Lambda consumers',
  deploymentRoleArns: list('deploymentRoleArns'),
  ruleManagerArns: list('ruleManagerArns'),
  alarmEmail: app.node.tryGetContext('alarmEmail') as string | undefined,
  existingTrail: String(app.node.tryGetContext('existingTrail') ?? 'false') === 'true',
  archiveRetention: retentionDays === undefined ? undefined : Duration.days(Number(retentionDays)),
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
