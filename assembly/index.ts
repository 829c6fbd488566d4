/**
 * The cloud assembly, read in one place: stacks and templates from `cdk.out` (synthesized when
 * stale), a typed resource model, one intrinsic resolver with a naming policy per caller, and a
 * partition-aware ARN builder. A leaf module: it imports nothing from the rest of the project.
 */
export * from './arn';
export * from './cloud-assembly';
export * from './errors';
export * from './json';
export * from './model';
export * from './naming';
export * from './policies';
export * from './resolver';
export * from './synth';
export * from './template';
