import * as fc from 'fast-check';
import { LoanApplicationApproved, LoanApplicationRejected, LoanApplicationSubmitted, REJECTION_REASONS } from '../../catalog/loans';
import {
  MAX_PAYMENT_TO_INCOME,
  PURPOSE_POLICY,
  annualRatePercent,
  decide,
  monthlyPayment,
  type Application,
} from '../../lambdas/underwriting/decision';
import { submittedData } from '../sdk/factories';
import { replayable } from '../support/property';

const application = (overrides: { creditScore?: number; annualIncome?: number } & Partial<Omit<Application, 'applicant'>>): Application => {
  const { creditScore = 760, annualIncome = 100_000, ...rest } = overrides;
  const base = submittedData({ amount: 200_000, termMonths: 360, purpose: 'home', ...rest });
  return { ...base, applicant: { ...base.applicant, creditScore, annualIncome } };
};

describe('monthlyPayment', () => {
  test.each([
    [100_000, 6, 360, 599.55],
    [200_000, 5, 360, 1073.64],
    [10_000, 0, 12, 833.33],
  ])('%d at %d%% over %d months is %d a month', (amount, rate, term, expected) => {
    expect(monthlyPayment(amount, rate, term)).toBe(expected);
  });
});

describe('annualRatePercent', () => {
  test.each([
    [850, 'home', 5],
    [760, 'home', 5],
    [759, 'home', 6],
    [700, 'auto', 7],
    [699, 'education', 8],
    [660, 'business', 9.5],
    [659, 'personal', 12.5],
    [620, 'home', 9.5],
  ] as const)('credit score %d for %s costs %d%%', (score, purpose, rate) => {
    expect(annualRatePercent(score, purpose)).toBe(rate);
  });
});

describe('decide', () => {
  test('approves an application inside every limit, with rate and payment', () => {
    expect(decide(application({}))).toEqual({ outcome: 'approved', annualRatePercent: 5, monthlyPayment: 1073.64 });
  });

  test('credit score: 620 passes, 619 is rejected', () => {
    expect(decide(application({ creditScore: 620 })).outcome).toBe('approved');
    expect(decide(application({ creditScore: 619 }))).toEqual({ outcome: 'rejected', reasons: ['CREDIT_SCORE_TOO_LOW'] });
  });

  test('income multiple: exactly 5 x income passes for a home loan, one unit more is rejected', () => {
    expect(decide(application({ amount: 500_000, annualIncome: 100_000 })).outcome).toBe('approved');
    expect(decide(application({ amount: 500_001, annualIncome: 100_000 }))).toEqual({
      outcome: 'rejected',
      reasons: ['AMOUNT_EXCEEDS_INCOME_MULTIPLE'],
    });
  });

  test('payment to income: repayments of exactly 40 % of income pass, with 5 cents less income they are rejected', () => {
    // A short home loan, so the repayment limit binds before the income multiple.
    const payment = monthlyPayment(100_000, 5, 60);
    const income = (payment * 12) / MAX_PAYMENT_TO_INCOME;
    expect(decide(application({ amount: 100_000, termMonths: 60, annualIncome: income })).outcome).toBe('approved');
    expect(decide(application({ amount: 100_000, termMonths: 60, annualIncome: income - 0.05 }))).toEqual({
      outcome: 'rejected',
      reasons: ['DEBT_TO_INCOME_TOO_HIGH'],
    });
  });

  test.each(Object.entries(PURPOSE_POLICY))('term: the %s maximum passes, one month more is rejected', (purpose, policy) => {
    const amount = 10_000;
    const ok = decide(
      application({ purpose: purpose as Application['purpose'], amount, termMonths: policy.maxTermMonths, annualIncome: 1_000_000 }),
    );
    expect(ok.outcome).toBe('approved');
    const tooLong = decide(
      application({ purpose: purpose as Application['purpose'], amount, termMonths: policy.maxTermMonths + 1, annualIncome: 1_000_000 }),
    );
    expect(tooLong).toEqual({ outcome: 'rejected', reasons: ['TERM_OUT_OF_POLICY'] });
  });

  test('lists every failed check, in the catalog order of reasons', () => {
    const decision = decide(application({ creditScore: 500, annualIncome: 0, purpose: 'personal', termMonths: 120 }));
    expect(decision).toEqual({ outcome: 'rejected', reasons: [...REJECTION_REASONS] });
  });

  test('is deterministic, and its decisions satisfy the policy and the catalog schemas (property-based)', () => {
    const applications = fc
      .record({
        creditScore: fc.integer({ min: 300, max: 850 }),
        annualIncome: fc.integer({ min: 0, max: 2_000_000 }),
        amount: fc.integer({ min: 1, max: 10_000_000 }),
        termMonths: fc.integer({ min: 6, max: 480 }),
        purpose: fc.constantFrom(...(Object.keys(PURPOSE_POLICY) as Application['purpose'][])),
      })
      .map(application);
    fc.assert(
      fc.property(applications, (app) => {
        expect(LoanApplicationSubmitted.data.safeParse(app).success).toBe(true);
        const decision = decide(app);
        expect(decide(app)).toEqual(decision);
        const common = {
          applicationId: app.applicationId,
          applicantId: app.applicant.applicantId,
          email: app.applicant.email,
          amount: app.amount,
          currency: app.currency,
          decidedAt: '2026-01-01T00:00:00Z',
        };
        if (decision.outcome === 'approved') {
          const policy = PURPOSE_POLICY[app.purpose];
          expect(app.applicant.creditScore).toBeGreaterThanOrEqual(620);
          expect(app.termMonths).toBeLessThanOrEqual(policy.maxTermMonths);
          expect(app.amount).toBeLessThanOrEqual(app.applicant.annualIncome * policy.maxIncomeMultiple);
          expect(decision.monthlyPayment * 12).toBeLessThanOrEqual(app.applicant.annualIncome * MAX_PAYMENT_TO_INCOME + 0.01);
          expect(
            LoanApplicationApproved.data.safeParse({
              ...common,
              termMonths: app.termMonths,
              annualRatePercent: decision.annualRatePercent,
              monthlyPayment: decision.monthlyPayment,
            }).success,
          ).toBe(true);
        } else {
          expect(decision.reasons.length).toBeGreaterThan(0);
          expect([...decision.reasons].sort((a, b) => REJECTION_REASONS.indexOf(a) - REJECTION_REASONS.indexOf(b))).toEqual(
            decision.reasons,
          );
          expect(LoanApplicationRejected.data.safeParse({ ...common, reasons: decision.reasons }).success).toBe(true);
        }
      }),
      replayable({ numRuns: 1000 }),
    );
  });
});
