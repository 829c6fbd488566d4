/**
 * A permissions boundary that caps what a role may publish to the bus at its catalog entry, and
 * leaves every other action to the role's own policies. With it, a widened identity policy still
 * cannot publish another team's events, without a statement per publisher in the bus policy.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
 */
import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { EventDefinition } from '../sdk/catalog';
import { publishStatements } from './bus-policy';

export interface PublishBoundaryProps {
  /** ARN of the bus. */
  readonly eventBusArn: string;
  /** What the role may publish; empty for a role that must not publish at all. */
  readonly events: readonly EventDefinition[];
  /** Catalog name of the publisher or consumer, for the description. */
  readonly owner: string;
}

export function publishBoundary(scope: Construct, id: string, props: PublishBoundaryProps): iam.ManagedPolicy {
  const policy = new iam.ManagedPolicy(scope, id, {
    description: `Boundary of ${props.owner}: PutEvents only for its catalog events`.slice(0, 1000),
    statements: [
      new iam.PolicyStatement({
        sid: 'EverythingButPutEvents',
        notActions: ['events:PutEvents'],
        resources: ['*'],
      }),
      ...publishStatements(props.eventBusArn, props.events, 'CatalogPutEvents'),
    ],
  });
  // cdk-nag's IAM5 rule throws on NotAction and cfn-lint warns of it; both read the boundary
  // as if it granted something.
  const reason =
    'This is a permissions boundary, which grants nothing: its NotAction statement leaves every action but events:PutEvents to the role policies, and its other statements cap PutEvents at the catalog entry.';
  Validations.of(policy).acknowledge({ id: 'AwsSolutions::AwsSolutions-IAM5', reason }, { id: 'CloudFormation-Validate::W2512', reason });
  return policy;
}
