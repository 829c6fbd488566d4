/**
 * The underwriting decision: a pure, deterministic function of the application, so that
 * a redelivered event always yields the same decision and the table can be tested alone.
 *
 * Policy (all checks run; every failed check adds its reason code):
 * - CREDIT_SCORE_TOO_LOW: credit score below MIN_CREDIT_SCORE.
 * - TERM_OUT_OF_POLICY: term longer than the purpose's maximum.
 * - AMOUNT_EXCEEDS_INCOME_MULTIPLE: amount above the purpose's multiple of annual income.
 * - DEBT_TO_INCOME_TOO_HIGH: yearly repayments above MAX_PAYMENT_TO_INCOME of annual income.
 * Approved applications get a rate from the credit-score tier plus the purpose's margin,
 * and a fixed monthly payment from the standard annuity formula.
 */
import type { DataOf } from '../../sdk/catalog';
import type { LoanApplicationSubmitted, REJECTION_REASONS } from '../../catalog/loans';

export type Application = DataOf<typeof LoanApplicationSubmitted>;
export type Purpose = Application['purpose'];
export type RejectionReason = (typeof REJECTION_REASONS)[number];

export type Decision =
  | { readonly outcome: 'approved'; readonly annualRatePercent: number; readonly monthlyPayment: number }
  | { readonly outcome: 'rejected'; readonly reasons: RejectionReason[] };

export const MIN_CREDIT_SCORE = 620;
/** Share of annual income that yearly repayments may take. */
export const MAX_PAYMENT_TO_INCOME = 0.4;

export const PURPOSE_POLICY: Readonly<Record<Purpose, { maxTermMonths: number; maxIncomeMultiple: number; marginPercent: number }>> = {
  home: { maxTermMonths: 360, maxIncomeMultiple: 5, marginPercent: 0 },
  auto: { maxTermMonths: 84, maxIncomeMultiple: 1, marginPercent: 1 },
  education: { maxTermMonths: 180, maxIncomeMultiple: 2, marginPercent: 0.5 },
  business: { maxTermMonths: 120, maxIncomeMultiple: 3, marginPercent: 2 },
  personal: { maxTermMonths: 84, maxIncomeMultiple: 0.5, marginPercent: 3 },
};

export interface RateTier {
  readonly minScore: number;
  readonly ratePercent: number;
}

/** The lowest tier, at the approval threshold; a score below every tier is priced here. */
const LOWEST_RATE_TIER: RateTier = { minScore: MIN_CREDIT_SCORE, ratePercent: 9.5 };

/** Base rate by credit score, best tier first. */
export const RATE_TIERS: ReadonlyArray<RateTier> = [
  { minScore: 760, ratePercent: 5 },
  { minScore: 700, ratePercent: 6 },
  { minScore: 660, ratePercent: 7.5 },
  LOWEST_RATE_TIER,
];

const roundCents = (value: number) => Math.round(value * 100) / 100;

/** Base rate of the best tier the score reaches; below every tier, the lowest tier's rate (for the DTI check). */
export function annualRatePercent(creditScore: number, purpose: Purpose): number {
  const tier = RATE_TIERS.find((t) => creditScore >= t.minScore) ?? LOWEST_RATE_TIER;
  return tier.ratePercent + PURPOSE_POLICY[purpose].marginPercent;
}

/** Fixed monthly payment of an annuity loan, rounded to cents. */
export function monthlyPayment(amount: number, ratePercent: number, termMonths: number): number {
  const r = ratePercent / 100 / 12;
  if (r === 0) return roundCents(amount / termMonths);
  return roundCents((amount * r) / (1 - (1 + r) ** -termMonths));
}

export function decide(application: Application): Decision {
  const { amount, termMonths, purpose } = application;
  const { annualIncome, creditScore } = application.applicant;
  const policy = PURPOSE_POLICY[purpose];
  const rate = annualRatePercent(creditScore, purpose);
  const payment = monthlyPayment(amount, rate, termMonths);

  const reasons: RejectionReason[] = [];
  if (creditScore < MIN_CREDIT_SCORE) reasons.push('CREDIT_SCORE_TOO_LOW');
  // Compared in whole cents, so that a boundary case does not turn on floating-point noise.
  if (roundCents(payment * 12) > roundCents(annualIncome * MAX_PAYMENT_TO_INCOME)) reasons.push('DEBT_TO_INCOME_TOO_HIGH');
  if (amount > annualIncome * policy.maxIncomeMultiple) reasons.push('AMOUNT_EXCEEDS_INCOME_MULTIPLE');
  if (termMonths > policy.maxTermMonths) reasons.push('TERM_OUT_OF_POLICY');

  return reasons.length > 0 ? { outcome: 'rejected', reasons } : { outcome: 'approved', annualRatePercent: rate, monthlyPayment: payment };
}
