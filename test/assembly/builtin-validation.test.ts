import { builtinValidationSetting } from '../../assembly/synth';

describe('builtinValidationSetting', () => {
  const saved = process.env.CDK_VALIDATION;
  afterEach(() => {
    if (saved === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = saved;
  });

  test('turns CDK built-in validation off when its findings could only be warnings', () => {
    delete process.env.CDK_VALIDATION;
    expect(builtinValidationSetting({})).toEqual({ CDK_VALIDATION: 'false' });
    expect(builtinValidationSetting({ '@aws-cdk/core:validateAgainstDefaultRules': false })).toEqual({ CDK_VALIDATION: 'false' });
  });

  test.each([true, 'true'])('keeps it when the app makes findings errors (%p)', (flag) => {
    delete process.env.CDK_VALIDATION;
    expect(builtinValidationSetting({ '@aws-cdk/core:validateAgainstDefaultRules': flag })).toEqual({});
  });

  test('turns it off when asked, whatever cdk.json says (watch mode)', () => {
    delete process.env.CDK_VALIDATION;
    expect(builtinValidationSetting({ '@aws-cdk/core:validateAgainstDefaultRules': true }, true)).toEqual({ CDK_VALIDATION: 'false' });
  });

  test("leaves the caller's own CDK_VALIDATION alone", () => {
    process.env.CDK_VALIDATION = 'true';
    expect(builtinValidationSetting({})).toEqual({});
  });
});
