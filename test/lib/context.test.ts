import { App, Duration } from 'aws-cdk-lib';
import { propsFromContext } from '../../lib/context';

const fromContext = (context: Record<string, unknown>) => propsFromContext(new App({ context }).node);

describe('stack props from CDK context', () => {
  test('no context leaves every prop to its default', () => {
    expect(fromContext({})).toEqual({
      deploymentRoleArns: undefined,
      ruleManagerArns: undefined,
      alarmEmail: undefined,
      existingTrail: undefined,
      logPutEvents: undefined,
      archiveRetention: undefined,
      consumerDeploymentRoles: undefined,
    });
  });

  test('reads comma-separated ARNs (as -c gives them) and JSON lists (as cdk.json gives them)', () => {
    const props = fromContext({
      deploymentRoleArns: 'arn:aws:iam::123456789012:role/a, arn:aws:iam::123456789012:role/b',
      ruleManagerArns: ['arn:aws:iam::123456789012:role/operator'],
    });
    expect(props.deploymentRoleArns).toEqual(['arn:aws:iam::123456789012:role/a', 'arn:aws:iam::123456789012:role/b']);
    expect(props.ruleManagerArns).toEqual(['arn:aws:iam::123456789012:role/operator']);
  });

  test('reads flags, email and archive retention', () => {
    const props = fromContext({ existingTrail: 'true', logPutEvents: false, alarmEmail: 'oncall@example.com', archiveRetentionDays: '0' });
    expect(props).toMatchObject({ existingTrail: true, logPutEvents: false, alarmEmail: 'oncall@example.com' });
    expect(props.archiveRetention?.toDays()).toBe(Duration.days(0).toDays());
  });

  test('fails on a flag that is not true or false', () => {
    expect(() => fromContext({ existingTrail: 'yes' })).toThrow("Context 'existingTrail' must be true or false (given 'yes')");
  });

  test.each(['30.5', '-1', 'forever', ''])('fails on archiveRetentionDays %j', (value) => {
    expect(() => fromContext({ archiveRetentionDays: value })).toThrow(
      `Context 'archiveRetentionDays' must be a whole number of days, 0 to keep events indefinitely (given '${value}')`,
    );
  });
});
