/** Invariants that must hold for every resource of a kind, whatever the catalog contains. */
import { Template } from 'aws-cdk-lib/assertions';
import { buildStack, crossAccountCatalog, fixtureHandlers, resourcesOf } from './helpers';

const stacksOf = (built: ReturnType<typeof buildStack>): [string, Template][] => Object.entries(built.templates);

describe.each([
  ...stacksOf(buildStack()).map(([n, t]) => [`the loan catalog, stack ${n}`, t] as const),
  ...stacksOf(buildStack({ catalog: crossAccountCatalog, handlersDir: fixtureHandlers }, 'CrossAccount')).map(
    ([n, t]) => [`a catalog with a publisher in another account, stack ${n}`, t] as const,
  ),
])('with %s', (_name, template) => {
  // A consumer stack has one data key (plus an alarm key in another account); the router stack
  // has its bus, bus dead-letter, audit and alarm keys. (A consumer's backup vault has its own key,
  // so that backups outlive the data key: see backup-network.test.ts.)
  const keys = Object.keys(template.findResources('AWS::KMS::Key')).filter((id) => !id.startsWith('BackupKey'));
  const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
  const alarmKeys = keys.filter((id) => id.startsWith('AlarmKey'));
  const dataKeys = keys.filter((id) => !alarmKeys.includes(id));
  const keyArn = arnOf(dataKeys.find((id) => !/^(EventRouter|AuditKey)/.test(id)) ?? '');

  test('has one alarm key at most, and every other key is a data key', () => {
    expect(alarmKeys.length).toBeLessThanOrEqual(1);
    expect(dataKeys.length).toBeGreaterThanOrEqual(1);
  });

  test('no key policy grants kms:* or lets the account use a key without naming who', () => {
    for (const [id, key] of resourcesOf(template, 'AWS::KMS::Key')) {
      for (const st of key.KeyPolicy.Statement) {
        expect({ id, sid: st.Sid, star: [st.Action].flat().includes('kms:*') }).toEqual({ id, sid: st.Sid, star: false });
        // A statement for a whole account (its root) names the principals (aws:PrincipalArn).
        if (JSON.stringify(st.Principal?.AWS ?? '').includes(':root')) {
          const named = st.Condition?.ArnLike?.['aws:PrincipalArn'] !== undefined;
          expect({ id, sid: st.Sid, named }).toEqual({ id, sid: st.Sid, named: true });
        }
      }
    }
  });

  test('exports nothing and imports nothing: no Fn::ImportValue, no Export', () => {
    const json = JSON.stringify(template.toJSON());
    expect(json).not.toContain('Fn::ImportValue');
    for (const output of Object.values((template.toJSON().Outputs ?? {}) as Record<string, any>)) expect(output.Export).toBeUndefined();
  });

  test('every queue has a policy that denies requests without TLS', () => {
    const queueIds = Object.keys(template.findResources('AWS::SQS::Queue'));
    const tlsOnly = new Set(
      resourcesOf(template, 'AWS::SQS::QueuePolicy')
        .filter(([, p]) =>
          p.PolicyDocument.Statement.some((s: any) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false'),
        )
        .flatMap(([, p]) => p.Queues.map((q: any) => q.Ref)),
    );
    expect(queueIds.filter((id) => !tlsOnly.has(id))).toEqual([]);
  });

  test('every log group is encrypted with a data key of its stack and has a retention', () => {
    const allowed = dataKeys.map((id) => JSON.stringify(arnOf(id)));
    for (const [id, group] of resourcesOf(template, 'AWS::Logs::LogGroup')) {
      expect({ id, key: allowed.includes(JSON.stringify(group.KmsKeyId)), retention: typeof group.RetentionInDays }).toEqual({
        id,
        key: true,
        retention: 'number',
      });
    }
  });

  test('every table is encrypted with the key and has point-in-time recovery', () => {
    for (const [id, table] of resourcesOf(template, 'AWS::DynamoDB::Table')) {
      expect({ id, sse: table.SSESpecification, pitr: table.PointInTimeRecoverySpecification }).toEqual({
        id,
        sse: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn },
        pitr: { PointInTimeRecoveryEnabled: true },
      });
    }
  });

  test('no identity policy allows every action, and only X-Ray actions use Resource "*"', () => {
    // Permissions boundaries (AWS::IAM::ManagedPolicy) grant nothing; they are checked in event-router.test.ts.
    for (const [id, policy] of resourcesOf(template, 'AWS::IAM::Policy')) {
      for (const s of policy.PolicyDocument.Statement) {
        const actions: string[] = [s.Action].flat();
        expect({ id, actions: actions.filter((a) => a === '*' || a.endsWith(':*')) }).toEqual({ id, actions: [] });
        if ([s.Resource].flat().includes('*'))
          expect({ id, actions: [...actions].sort() }).toEqual({ id, actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'] });
      }
    }
  });

  test('every function is ARM64 on Node.js 24 with active tracing and JSON logs', () => {
    for (const [id, fn] of resourcesOf(template, 'AWS::Lambda::Function')) {
      expect({ id, arch: fn.Architectures, runtime: fn.Runtime, tracing: fn.TracingConfig, format: fn.LoggingConfig.LogFormat }).toEqual({
        id,
        arch: ['arm64'],
        runtime: 'nodejs24.x',
        tracing: { Mode: 'Active' },
        format: 'JSON',
      });
    }
  });
});
