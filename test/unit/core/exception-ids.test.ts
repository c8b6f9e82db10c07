import { describe, expect, it } from 'vitest';
import { ORDER_ID_PATTERN } from '../../../contracts/order.ts';
import { MAX_EXCEPTION_ID_LENGTH, orderExceptionId } from '../../../lambdas/shared/ids.ts';
import { substituteReviewId } from '../../../lambdas/use-cases/allocate-stock.ts';
import { creditHoldExceptionId } from '../../../lambdas/use-cases/check-credit.ts';
import { vendorExceptionId } from '../../../lambdas/use-cases/drop-ship.ts';

// The longest order id the contract allows (80 characters).
const LONGEST = `ERP-${'7'.repeat(76)}`;

describe('an order’s exception ids', () => {
  it('reads EXC-<order>-<suffix> while that fits in 80 characters', () => {
    expect(creditHoldExceptionId('ERP-SO1001')).toBe('EXC-ERP-SO1001-CREDIT');
    expect(vendorExceptionId('WEB-42')).toBe('EXC-WEB-42-VENDOR');
    expect(substituteReviewId('ERP-SO1001')).toBe('EXC-ERP-SO1001-SUBSTITUTE');
    const fits = `ERP-${'1'.repeat(65)}`;
    expect(creditHoldExceptionId(fits)).toHaveLength(MAX_EXCEPTION_ID_LENGTH);
    expect(creditHoldExceptionId(fits)).toBe(`EXC-${fits}-CREDIT`);
  });

  it('hashes the longest order ids the contract allows, so every id stays within 80 characters', () => {
    expect(ORDER_ID_PATTERN.test(LONGEST)).toBe(true);
    const ids = [
      creditHoldExceptionId(LONGEST),
      vendorExceptionId(LONGEST),
      substituteReviewId(LONGEST),
      orderExceptionId(LONGEST, 'a1b2c3d4e5f6', 'STEP'),
    ];
    expect(ids.map((id) => id.replace(/[0-9a-f]{24}$/, '<hash>'))).toEqual([
      'EXC-CREDIT-<hash>',
      'EXC-VENDOR-<hash>',
      'EXC-SUB-<hash>',
      'EXC-STEP-<hash>',
    ]);
    for (const id of ids) expect(id.length).toBeLessThanOrEqual(MAX_EXCEPTION_ID_LENGTH);
  });

  it('gives one order and suffix one id, and two orders two ids, however long', () => {
    const other = `${LONGEST.slice(0, -1)}8`;
    expect(creditHoldExceptionId(LONGEST)).toBe(creditHoldExceptionId(LONGEST));
    expect(creditHoldExceptionId(LONGEST)).not.toBe(creditHoldExceptionId(other));
    expect(orderExceptionId(LONGEST, 'aaaaaaaaaaaa', 'STEP')).not.toBe(
      orderExceptionId(LONGEST, 'bbbbbbbbbbbb', 'STEP'),
    );
  });
});
