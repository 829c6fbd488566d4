/**
 * The documented JSON of `access --json` and `access check --json` (docs/cli.md), as schemas the
 * tests parse the output with: a field renamed, dropped or retyped fails them.
 */
import { z } from 'zod';

const contextValue = z.union([z.string(), z.array(z.string())]);
const decidedBy = z.object({ kind: z.string(), policy: z.string(), sid: z.string().nullable() }).strict();

const grant = z
  .object({
    principal: z.string(),
    action: z.string().regex(/^[a-z0-9-]+:[A-Za-z]+$/),
    resource: z.string().startsWith('arn:'),
    when: z.record(z.string(), contextValue),
    tlsOnly: z.boolean(),
    decidedBy: decidedBy.nullable(),
    ifIdentityAllows: z.boolean(),
  })
  .strict();

export const surfaceSchema = z
  .object({
    environment: z
      .object({ accounts: z.array(z.string().regex(/^\d{12}$/)), regions: z.array(z.string()), agnostic: z.boolean() })
      .strict(),
    stacks: z.array(z.string()),
    principals: z.array(
      z
        .object({
          id: z.string(),
          arn: z.string(),
          tags: z.record(z.string(), z.string()).optional(),
          kind: z.enum(['role', 'named', 'pattern', 'account', 'unlisted-principal', 'unlisted-account', 'service', 'anonymous']),
          label: z.string(),
          pattern: z.string().optional(),
          assumesIdentityAllow: z.boolean(),
        })
        .strict(),
    ),
    resources: z
      .object({ buses: z.array(z.string()), rules: z.array(z.string()), queues: z.array(z.string()), keys: z.array(z.string()) })
      .strict(),
    eventTypes: z.object({ sources: z.array(z.string()), detailTypes: z.array(z.string()) }).strict(),
    publish: z.array(grant.extend({ source: z.string().nullable(), detailType: z.string().nullable() }).strict()),
    subscribe: z.array(grant),
    queues: z.array(grant),
    keys: z.array(grant),
    evaluations: z.number().int().positive(),
  })
  .strict();

export type SurfaceJson = z.infer<typeof surfaceSchema>;

const statement = z
  .object({
    effect: z.enum(['Allow', 'Deny']),
    kind: z.string(),
    policy: z.string(),
    sid: z.string().nullable(),
    index: z.number().int().nonnegative(),
    label: z.string(),
  })
  .strict();

export const accessCheckSchema = z
  .object({
    principal: z.string(),
    action: z.string(),
    resource: z.string(),
    context: z.record(z.string(), contextValue),
    principalTags: z.record(z.string(), z.string()),
    decision: z.enum(['Allow', 'ExplicitDeny', 'ImplicitDeny']),
    decidedBy: statement.nullable(),
    statements: z.array(statement),
    explanation: z.string(),
    message: z.string().nullable(),
    assumedIdentity: z.boolean(),
    exitCode: z.union([z.literal(0), z.literal(1)]),
  })
  .strict();
