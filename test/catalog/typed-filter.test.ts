/**
 * A subscription's content filter is typed against its event's `detail.data` schema: a misspelt
 * field is a compile error (checked by `tsc` in `npm test`, through the `@ts-expect-error` lines),
 * and a field that exists compiles and reaches the rule's pattern.
 */
import { LoanApplicationSubmitted } from '../../catalog/loans';
import { on, subscriptionPattern } from '../../sdk/catalog';

describe('typed data filters', () => {
  test('a field of the schema compiles and lands in the pattern under detail.data', () => {
    const sub = on(LoanApplicationSubmitted, {
      amount: [{ numeric: ['>=', 250000] }],
      applicant: { creditScore: [{ numeric: ['<', 600] }] },
    });
    expect(subscriptionPattern(sub)).toEqual({
      source: [LoanApplicationSubmitted.source],
      'detail-type': [LoanApplicationSubmitted.detailType],
      detail: { data: { amount: [{ numeric: ['>=', 250000] }], applicant: { creditScore: [{ numeric: ['<', 600] }] } } },
    });
  });

  test('a misspelt field does not compile', () => {
    // @ts-expect-error 'ammount' is not a field of LoanApplicationSubmitted's data
    const top = on(LoanApplicationSubmitted, { ammount: [{ numeric: ['>=', 1] }] });
    // @ts-expect-error 'score' is not a field of data.applicant
    const nested = on(LoanApplicationSubmitted, { applicant: { score: [1] } });
    // The filters still reach the pattern unchanged at run time: only the compiler refuses them.
    expect(subscriptionPattern(top).detail).toEqual({ data: { ammount: [{ numeric: ['>=', 1] }] } });
    expect(subscriptionPattern(nested).detail).toEqual({ data: { applicant: { score: [1] } } });
  });
});
