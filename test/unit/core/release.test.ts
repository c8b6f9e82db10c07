import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../lambdas/core/errors.ts';
import { decideRelease, InvalidReleaseInput, type ReleaseInput } from '../../../lambdas/core/release.ts';

/**
 * Today is Monday 2025-03-10, 09:00Z; the site's carrier cut-off is 15:00Z.
 * Promise 2025-03-13 with 1 transit day -> ship by 2025-03-12 (two days out).
 */
function input(overrides: Partial<ReleaseInput> = {}): ReleaseInput {
  return {
    serviceLevel: 'standard',
    customerPriority: 'standard',
    promiseDate: '2025-03-13',
    now: '2025-03-10T09:00:00.000Z',
    transitDays: 1,
    siteCutoffHourUtc: 15,
    ...overrides,
  };
}

function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

describe('decideRelease: ship-by date', () => {
  it('is the promise date minus the transit days', () => {
    expect(decideRelease(input({ promiseDate: '2025-03-13', transitDays: 1 })).shipBy).toBe('2025-03-12');
    expect(decideRelease(input({ promiseDate: '2025-03-13', transitDays: 0 })).shipBy).toBe('2025-03-13');
  });

  it('counts calendar days across month and leap-year boundaries', () => {
    expect(decideRelease(input({ promiseDate: '2025-03-02', transitDays: 3 })).shipBy).toBe('2025-02-27');
    expect(decideRelease(input({ promiseDate: '2024-03-01', transitDays: 1 })).shipBy).toBe('2024-02-29');
    expect(decideRelease(input({ promiseDate: '2026-01-02', transitDays: 5 })).shipBy).toBe('2025-12-28');
  });
});

describe('decideRelease: release now or defer', () => {
  it('releases now when ship-by is exactly the release window (2 days) away', () => {
    const decision = decideRelease(input({ promiseDate: '2025-03-13', transitDays: 1 })); // ship by 03-12
    expect(decision.action).toBe('release');
    expect(decision.releaseAt).toBe('2025-03-10T09:00:00.000Z');
    expect(decision.reasonCodes).not.toContain('FUTURE_DATED_ORDER');
  });

  it('defers an order whose ship-by is one day beyond the window until window-days before ship-by, at midnight UTC', () => {
    const decision = decideRelease(input({ promiseDate: '2025-03-14', transitDays: 1 })); // ship by 03-13
    expect(decision).toMatchObject({
      action: 'defer',
      releaseAt: '2025-03-11T00:00:00.000Z',
      shipBy: '2025-03-13',
      atRisk: false,
      reasonCodes: ['FUTURE_DATED_ORDER'],
    });
  });

  it('honours a custom release window', () => {
    const far = input({ promiseDate: '2025-03-16', transitDays: 1 }); // ship by 03-15, 5 days out
    expect(decideRelease({ ...far, releaseWindowDays: 5 }).action).toBe('release');
    expect(decideRelease({ ...far, releaseWindowDays: 4 })).toMatchObject({
      action: 'defer',
      releaseAt: '2025-03-11T00:00:00.000Z',
    });
  });

  it('with a zero-day window defers anything not shipping today until the ship-by day itself', () => {
    const decision = decideRelease(
      input({ promiseDate: '2025-03-12', transitDays: 1, releaseWindowDays: 0 }),
    );
    expect(decision).toMatchObject({ action: 'defer', releaseAt: '2025-03-11T00:00:00.000Z' });
    expect(
      decideRelease(input({ promiseDate: '2025-03-11', transitDays: 1, releaseWindowDays: 0 })).action,
    ).toBe('release');
  });

  it('judges "today" by the UTC date of now, not the local date in its offset', () => {
    // 23:30 in New York on the 10th is 04:30Z on the 11th, so ship-by 03-13 is only 2 days away.
    const decision = decideRelease(
      input({ now: '2025-03-10T23:30:00-05:00', promiseDate: '2025-03-14', transitDays: 1 }),
    );
    expect(decision.action).toBe('release');
    expect(decision.releaseAt).toBe('2025-03-11T04:30:00.000Z');
  });

  it('normalises the release time to a UTC ISO instant', () => {
    expect(decideRelease(input({ now: '2025-03-10T10:15+01:00' })).releaseAt).toBe(
      '2025-03-10T09:15:00.000Z',
    );
    expect(decideRelease(input({ now: '2025-03-10T09:00:00.123456Z' })).releaseAt).toBe(
      '2025-03-10T09:00:00.123Z',
    );
  });
});

describe('decideRelease: carrier cut-off and promise risk', () => {
  const shipsToday = { promiseDate: '2025-03-11', transitDays: 1 }; // ship by 2025-03-10 = today

  it('flags an order that ships today and is still before the cut-off', () => {
    const decision = decideRelease(input({ ...shipsToday, now: '2025-03-10T14:59:59.999Z' }));
    expect(decision.atRisk).toBe(false);
    expect(decision.reasonCodes).toEqual(['SHIPS_TODAY_BEFORE_CUTOFF']);
  });

  it('treats the exact cut-off moment as missed and the promise as at risk', () => {
    const decision = decideRelease(input({ ...shipsToday, now: '2025-03-10T15:00:00Z' }));
    expect(decision.action).toBe('release');
    expect(decision.atRisk).toBe(true);
    expect(decision.reasonCodes).toEqual(['PROMISE_AT_RISK', 'MISSED_TODAYS_CUTOFF']);
  });

  it('puts an order whose ship-by date has already passed at risk, whatever the hour', () => {
    const decision = decideRelease(
      input({ promiseDate: '2025-03-10', transitDays: 1, now: '2025-03-10T01:00:00Z' }), // ship by yesterday
    );
    expect(decision.shipBy).toBe('2025-03-09');
    expect(decision.action).toBe('release');
    expect(decision.atRisk).toBe(true);
    expect(decision.reasonCodes).toEqual(['PROMISE_AT_RISK']);
  });

  it('does not put an order at risk when today is past the cut-off but ship-by is tomorrow', () => {
    const decision = decideRelease(
      input({ promiseDate: '2025-03-12', transitDays: 1, now: '2025-03-10T22:00:00Z' }),
    );
    expect(decision.atRisk).toBe(false);
    expect(decision.reasonCodes).toEqual([]);
  });

  it('handles a midnight cut-off: an order shipping today has already missed it', () => {
    const decision = decideRelease(
      input({ ...shipsToday, siteCutoffHourUtc: 0, now: '2025-03-10T00:00:00Z' }),
    );
    expect(decision.atRisk).toBe(true);
    expect(decision.reasonCodes).toEqual(['PROMISE_AT_RISK', 'MISSED_TODAYS_CUTOFF']);
  });

  it('handles a 23:00 cut-off', () => {
    expect(
      decideRelease(input({ ...shipsToday, siteCutoffHourUtc: 23, now: '2025-03-10T22:59:59Z' })).reasonCodes,
    ).toEqual(['SHIPS_TODAY_BEFORE_CUTOFF']);
    expect(
      decideRelease(input({ ...shipsToday, siteCutoffHourUtc: 23, now: '2025-03-10T23:00:00Z' })).reasonCodes,
    ).toEqual(['PROMISE_AT_RISK', 'MISSED_TODAYS_CUTOFF']);
  });
});

describe('decideRelease: priority', () => {
  it.each([
    ['2025-03-09', 200],
    ['2025-03-10', 200],
    ['2025-03-11', 100],
    ['2025-03-12', 50],
    ['2025-03-13', 0],
  ])('adds urgency for ship-by %s (today is 2025-03-10): +%i', (shipBy, urgency) => {
    const decision = decideRelease(input({ promiseDate: shipBy, transitDays: 0, releaseWindowDays: 5 }));
    expect(decision.shipBy).toBe(shipBy);
    expect(decision.priority).toBe(300 + urgency);
  });

  it('adds the service-level base and customer bonus', () => {
    const far = { promiseDate: '2025-03-20', transitDays: 0 }; // no urgency
    expect(decideRelease(input({ ...far, serviceLevel: 'economy' })).priority).toBe(100);
    expect(
      decideRelease(input({ ...far, serviceLevel: 'expedited', customerPriority: 'preferred' })).priority,
    ).toBe(650);
    expect(
      decideRelease(input({ ...far, serviceLevel: 'next-day', customerPriority: 'key-account' })).priority,
    ).toBe(950);
  });

  it('caps priority at 1000 for an overdue next-day key-account order', () => {
    const decision = decideRelease(
      input({
        serviceLevel: 'next-day',
        customerPriority: 'key-account',
        promiseDate: '2025-03-10',
        transitDays: 0,
      }),
    );
    expect(decision.priority).toBe(1000);
  });

  it('gives a deferred order a priority too', () => {
    const decision = decideRelease(input({ promiseDate: '2025-03-20', transitDays: 0 }));
    expect(decision.action).toBe('defer');
    expect(decision.priority).toBe(300);
  });
});

describe('decideRelease: input validation', () => {
  it('rejects a promise date that is not YYYY-MM-DD, naming the field and the rule', () => {
    const error = captureError(() => decideRelease(input({ promiseDate: '2025/03/10' })));
    expect(error).toBeInstanceOf(InvalidReleaseInput);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ name: 'InvalidReleaseInput', field: 'promiseDate', retryable: false });
    expect((error as Error).message).toBe('promiseDate must be a date in YYYY-MM-DD format (got 2025/03/10)');
  });

  it.each(['2025-02-29', '2025-02-30', '2025-13-01', '2025-04-31', '2025-01-00', '0025-01-01'])(
    'rejects the impossible promise date %s',
    (promiseDate) => {
      expect(() => decideRelease(input({ promiseDate }))).toThrow(
        /^promiseDate must be a real calendar date/,
      );
    },
  );

  it('accepts 29 February in a leap year', () => {
    expect(
      decideRelease(input({ promiseDate: '2024-02-29', transitDays: 0, now: '2024-02-27T10:00:00Z' })).shipBy,
    ).toBe('2024-02-29');
  });

  it.each(['2025-03-10', '2025-03-10T09:00:00', '2025-03-10 09:00:00Z', 'yesterday', ''])(
    'rejects now = %j without a full date, time and zone',
    (now) => {
      expect(() => decideRelease(input({ now }))).toThrow(
        /^now must be an ISO 8601 datetime with a zone designator/,
      );
    },
  );

  it.each([
    '2025-03-10T24:00:00Z',
    '2025-03-10T09:60:00Z',
    '2025-02-30T09:00:00Z',
    '2025-03-10T09:00:00+25:00',
  ])('rejects the impossible datetime %s', (now) => {
    expect(() => decideRelease(input({ now }))).toThrow(/^now must be a real date and time of day/);
  });

  it.each([-1, 1.5, Number.NaN])('rejects transitDays = %s', (transitDays) => {
    expect(() => decideRelease(input({ transitDays }))).toThrow(/^transitDays must be an integer >= 0/);
  });

  it.each([-1, 24, 9.5])('rejects siteCutoffHourUtc = %s', (siteCutoffHourUtc) => {
    expect(() => decideRelease(input({ siteCutoffHourUtc }))).toThrow(
      /^siteCutoffHourUtc must be an integer between 0 and 23/,
    );
  });

  it('rejects a negative release window', () => {
    expect(() => decideRelease(input({ releaseWindowDays: -1 }))).toThrow(
      /^releaseWindowDays must be an integer >= 0/,
    );
  });

  it('rejects unknown service levels and customer priorities', () => {
    expect(() => decideRelease(input({ serviceLevel: 'same-day' as ReleaseInput['serviceLevel'] }))).toThrow(
      /^serviceLevel must be one of/,
    );
    expect(() =>
      decideRelease(input({ customerPriority: 'vip' as ReleaseInput['customerPriority'] })),
    ).toThrow(/^customerPriority must be one of/);
  });
});
