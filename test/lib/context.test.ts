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

  test('reads key administrators and operator roles like the other ARN lists', () => {
    const props = fromContext({
      keyAdminArns: 'arn:aws:iam::123456789012:role/KeyAdmin',
      operatorRoleArns: ['arn:aws:iam::123456789012:role/Operator', 'arn:aws:iam::123456789012:role/OnCall'],
    });
    expect(props.keyAdminArns).toEqual(['arn:aws:iam::123456789012:role/KeyAdmin']);
    expect(props.operatorRoleArns).toEqual(['arn:aws:iam::123456789012:role/Operator', 'arn:aws:iam::123456789012:role/OnCall']);
  });

  test('reads publisherPrincipals from JSON text (as -c gives it) and from an object (as cdk.json gives it)', () => {
    const principals = { 'loan-intake': ['arn:aws:iam::111111111111:role/Origination'] };
    expect({ ...fromContext({ publisherPrincipals: JSON.stringify(principals) }).publisherPrincipals }).toEqual(principals);
    expect({ ...fromContext({ publisherPrincipals: principals }).publisherPrincipals }).toEqual(principals);
  });

  test('a publisher named __proto__ is a name like any other', () => {
    const props = fromContext({ publisherPrincipals: '{"__proto__":["arn:aws:iam::111111111111:role/x"]}' });
    // Assigned to a plain object, the key would have replaced its prototype and listed no key.
    expect(Object.keys(props.publisherPrincipals ?? {})).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(props.publisherPrincipals, '__proto__')?.value).toEqual(['arn:aws:iam::111111111111:role/x']);
  });

  test.each([
    ['{"loan-intake":', 'not JSON'],
    ['["arn:aws:iam::111111111111:role/x"]', 'not an object'],
    ['null', 'not an object'],
    ['{"loan-intake":"arn:aws:iam::111111111111:role/x"}', "'loan-intake' is not a list of strings"],
    ['{"loan-intake":[1]}', "'loan-intake' is not a list of strings"],
  ])('fails on publisherPrincipals %j', (value, why) => {
    expect(() => fromContext({ publisherPrincipals: value })).toThrow(
      `Context 'publisherPrincipals' must be a JSON object from publisher name to a list of principal ARNs, e.g. '{"loan-origination":["arn:aws:iam::111111111111:role/Origination"]}' (${why})`,
    );
  });

  test('reads the trail retention in days', () => {
    expect(fromContext({ trailRetentionDays: '2555' }).trailRetention?.toDays()).toBe(2555);
  });

  test.each(['0', '36501', '1.5', 'forever', ''])('fails on trailRetentionDays %j', (value) => {
    expect(() => fromContext({ trailRetentionDays: value })).toThrow(
      `Context 'trailRetentionDays' must be a whole number of days from 1 to 36500 (given '${value}')`,
    );
  });

  test('reads the log-archive destination, which needs its bucket, account and key together', () => {
    const archive = {
      logArchiveBucket: 'org-log-archive',
      logArchiveAccount: '999999999999',
      logArchiveKeyArn: 'arn:aws:kms:us-east-1:999999999999:key/11111111-2222-3333-4444-555555555555',
    };
    expect(fromContext(archive).logArchive).toEqual({
      bucketName: 'org-log-archive',
      account: '999999999999',
      keyArn: 'arn:aws:kms:us-east-1:999999999999:key/11111111-2222-3333-4444-555555555555',
    });
    expect(() => fromContext({ logArchiveBucket: 'org-log-archive' })).toThrow(
      "Context 'logArchiveBucket', 'logArchiveAccount' and 'logArchiveKeyArn' go together: logArchiveAccount, logArchiveKeyArn missing",
    );
  });
});
