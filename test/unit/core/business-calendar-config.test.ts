import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SLA_POLICY } from '../../../lambdas/core/sla.ts';
import { businessCalendarFromEnv } from '../../../lambdas/shared/business-calendar.ts';

const saved = process.env.BUSINESS_CALENDAR;
afterEach(() => {
  if (saved === undefined) delete process.env.BUSINESS_CALENDAR;
  else process.env.BUSINESS_CALENDAR = saved;
});

describe('BUSINESS_CALENDAR, the working hours functions time people’s work in', () => {
  it('is absent when unset (the functions fall back to the default policy’s hours)', () => {
    delete process.env.BUSINESS_CALENDAR;
    expect(businessCalendarFromEnv()).toBeUndefined();
  });

  it('completes a partial calendar with the default’s fields', () => {
    process.env.BUSINESS_CALENDAR = JSON.stringify({ timeZone: 'Europe/Amsterdam', closesAt: '17:30' });
    expect(businessCalendarFromEnv()).toEqual({
      ...DEFAULT_SLA_POLICY.businessCalendar,
      timeZone: 'Europe/Amsterdam',
      closesAt: '17:30',
    });
  });

  it('refuses a bad one at start-up, naming the variable and the field', () => {
    process.env.BUSINESS_CALENDAR = JSON.stringify({ opensAt: '25:00' });
    expect(() => businessCalendarFromEnv()).toThrow(/^BUSINESS_CALENDAR: businessCalendar\.opensAt/);
    process.env.BUSINESS_CALENDAR = '{not json';
    expect(() => businessCalendarFromEnv()).toThrow(/^BUSINESS_CALENDAR: /);
  });
});
