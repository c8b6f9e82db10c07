import { describe, expect, it } from 'vitest';
import {
  addWorkingSeconds,
  alarmsDue,
  applyChange,
  type BusinessCalendar,
  cancelClock,
  clockChanges,
  clockState,
  DEFAULT_SLA_POLICY,
  elapsedSeconds,
  InvalidSlaPolicy,
  nextAlarm,
  parseSlaPolicy,
  type SlaClock,
  type StageTarget,
  targetFor,
  workingSecondsBetween,
} from '../../../lambdas/core/sla.ts';

const CENTRAL: BusinessCalendar = DEFAULT_SLA_POLICY.businessCalendar;
const t = (iso: string) => Date.parse(iso);
const HOUR = 3600;

const continuousHour: StageTarget = {
  stage: 'credit-to-allocation',
  ownerTeam: 'warehouse',
  targetSeconds: HOUR,
  jeopardySeconds: 0.75 * HOUR,
  calendar: 'continuous',
  pausesForCustomer: true,
};

function clock(over: Partial<SlaClock> = {}): SlaClock {
  return {
    orderId: 'ERP-1',
    stage: 'credit-to-allocation',
    instance: '',
    target: continuousHour,
    startedAt: '2026-12-03T10:00:00.000Z',
    pauses: [],
    ...over,
  };
}

describe('targets by channel, service level and segment', () => {
  const order = { channel: 'wholesale', serviceLevel: 'standard', segment: 'mid-market' } as const;

  it('takes the stage default when no override matches', () => {
    expect(targetFor(DEFAULT_SLA_POLICY, 'accept-to-credit-decision', order)).toMatchObject({
      ownerTeam: 'finance',
      targetSeconds: 240 * 60,
      jeopardySeconds: 180 * 60,
      calendar: 'business',
    });
  });

  it('takes the matching override, and the tightest of equally specific ones', () => {
    expect(
      targetFor(DEFAULT_SLA_POLICY, 'accept-to-credit-decision', { ...order, segment: 'enterprise' })
        .targetSeconds,
    ).toBe(120 * 60);
    const nextDayEnterprise = { ...order, segment: 'enterprise', serviceLevel: 'next-day' } as const;
    expect(targetFor(DEFAULT_SLA_POLICY, 'accept-to-credit-decision', nextDayEnterprise).targetSeconds).toBe(
      60 * 60,
    );
  });

  it('prefers a more specific override over a tighter general one', () => {
    const policy = parseSlaPolicy({
      stages: {
        'release-to-ship-confirmation': {
          overrides: [
            { serviceLevel: 'next-day', targetMinutes: 300 },
            { serviceLevel: 'next-day', channel: 'retail-replenishment', targetMinutes: 600 },
          ],
        },
      },
    });
    const edi = { channel: 'retail-replenishment', serviceLevel: 'next-day', segment: 'enterprise' } as const;
    expect(targetFor(policy, 'release-to-ship-confirmation', edi).targetSeconds).toBe(600 * 60);
    expect(
      targetFor(policy, 'release-to-ship-confirmation', { ...edi, channel: 'wholesale' }).targetSeconds,
    ).toBe(300 * 60);
  });

  it('computes jeopardy from the configured fraction', () => {
    const policy = parseSlaPolicy({ jeopardyFraction: 0.5 });
    expect(targetFor(policy, 'credit-to-allocation', order)).toMatchObject({
      targetSeconds: HOUR,
      jeopardySeconds: HOUR / 2,
    });
  });
});

describe('policy configuration', () => {
  it('keeps every default it does not replace', () => {
    const policy = parseSlaPolicy({ stages: { 'credit-to-allocation': { targetMinutes: 45 } } });
    expect(policy.stages['credit-to-allocation']).toMatchObject({
      targetMinutes: 45,
      ownerTeam: 'warehouse',
    });
    expect(policy.stages['capture-to-accept']).toEqual(DEFAULT_SLA_POLICY.stages['capture-to-accept']);
    expect(policy.businessCalendar).toEqual(CENTRAL);
  });

  it.each([
    [{ jeopardyFraction: 1 }, 'jeopardyFraction', 'between 0 and 1'],
    [{ stages: { 'pick-to-pack': {} } }, 'stages.pick-to-pack', 'must be one of'],
    [
      { stages: { 'credit-to-allocation': { targetMinutes: 0 } } },
      'stages.credit-to-allocation.targetMinutes',
      'whole number',
    ],
    [
      { stages: { 'credit-to-allocation': { ownerTeam: 'sales' } } },
      'stages.credit-to-allocation.ownerTeam',
      'must be one of',
    ],
    [
      { stages: { 'credit-to-allocation': { overrides: [{ targetMinutes: 5 }] } } },
      'stages.credit-to-allocation.overrides[0]',
      'at least one of',
    ],
    [
      { stages: { 'credit-to-allocation': { overrides: [{ channel: 'fax', targetMinutes: 5 }] } } },
      'stages.credit-to-allocation.overrides[0].channel',
      'must be one of',
    ],
    [{ businessCalendar: { timeZone: 'Mars/Olympus' } }, 'businessCalendar.timeZone', 'IANA'],
    [
      { businessCalendar: { opensAt: '19:00', closesAt: '07:00' } },
      'businessCalendar.closesAt',
      'after opensAt',
    ],
    [{ businessCalendar: { workingDays: [0] } }, 'businessCalendar.workingDays', 'ISO weekdays'],
    [{ businessCalendar: { holidays: ['2026-02-30x'] } }, 'businessCalendar.holidays[0]', 'YYYY-MM-DD'],
    [{ targets: {} }, 'targets', 'not a known field'],
  ])('refuses %j naming %s', (raw, field, rule) => {
    let error: unknown;
    try {
      parseSlaPolicy(raw);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidSlaPolicy);
    expect((error as InvalidSlaPolicy).field).toBe(field);
    expect((error as InvalidSlaPolicy).rule).toContain(rule);
  });
});

describe('business calendar arithmetic (Mon–Fri 07:00–19:00 America/Chicago)', () => {
  it('counts only working time between two instants', () => {
    // Friday 18:00 CST → Monday 08:00 CST: one hour on Friday, one on Monday.
    expect(
      workingSecondsBetween('business', CENTRAL, t('2026-12-05T00:00:00Z'), t('2026-12-07T14:00:00Z')),
    ).toBe(2 * HOUR);
    // Saturday all day: nothing.
    expect(
      workingSecondsBetween('business', CENTRAL, t('2026-12-05T12:00:00Z'), t('2026-12-06T12:00:00Z')),
    ).toBe(0);
    expect(
      workingSecondsBetween('continuous', CENTRAL, t('2026-12-05T12:00:00Z'), t('2026-12-06T12:00:00Z')),
    ).toBe(24 * HOUR);
  });

  it('adds working time over a weekend', () => {
    const due = addWorkingSeconds('business', CENTRAL, t('2026-12-05T00:00:00Z'), 2 * HOUR);
    expect(new Date(due).toISOString()).toBe('2026-12-07T14:00:00.000Z');
  });

  it('starts counting at opening time when started out of hours', () => {
    // Tuesday 05:00 CST + 30 min → 07:30 CST.
    const due = addWorkingSeconds('business', CENTRAL, t('2026-12-08T11:00:00Z'), 1800);
    expect(new Date(due).toISOString()).toBe('2026-12-08T13:30:00.000Z');
  });

  it('follows the zone across the daylight-saving change', () => {
    // Friday 6 March 18:00 CST + 2 h → Monday 9 March 08:00 CDT (UTC-5 from 8 March).
    const due = addWorkingSeconds('business', CENTRAL, t('2026-03-07T00:00:00Z'), 2 * HOUR);
    expect(new Date(due).toISOString()).toBe('2026-03-09T13:00:00.000Z');
  });

  it('skips holidays', () => {
    const withChristmas = { ...CENTRAL, holidays: ['2026-12-25'] };
    // Thursday 24 Dec 18:00 CST + 2 h → Monday 28 Dec 08:00 CST.
    const due = addWorkingSeconds('business', withChristmas, t('2026-12-25T00:00:00Z'), 2 * HOUR);
    expect(new Date(due).toISOString()).toBe('2026-12-28T14:00:00.000Z');
  });

  it('refuses to search forever in a calendar with no working hours', () => {
    const never = { ...CENTRAL, workingDays: [6], holidays: [] };
    const everySaturday = Array.from({ length: 120 }, (_, i) =>
      new Date(t('2026-12-05T12:00:00Z') + i * 7 * 86_400_000).toISOString().slice(0, 10),
    );
    expect(() =>
      addWorkingSeconds('business', { ...never, holidays: everySaturday }, t('2026-12-03T12:00:00Z'), 60),
    ).toThrow(InvalidSlaPolicy);
  });
});

describe('clock arithmetic', () => {
  it('counts from the start to now, or to the stop', () => {
    expect(elapsedSeconds(clock(), CENTRAL, new Date('2026-12-03T10:40:00Z'))).toBe(40 * 60);
    const stopped = clock({ stoppedAt: '2026-12-03T10:20:00.000Z' });
    expect(elapsedSeconds(stopped, CENTRAL, new Date('2026-12-03T12:00:00Z'))).toBe(20 * 60);
    expect(elapsedSeconds(clock({ startedAt: undefined }), CENTRAL, new Date('2026-12-03T12:00:00Z'))).toBe(
      0,
    );
  });

  it('does not count pauses, and counts overlapping pauses once', () => {
    const paused = clock({
      pauses: [
        { from: '2026-12-03T10:30:00.000Z', to: '2026-12-03T11:00:00.000Z', reason: 'a' },
        { from: '2026-12-03T10:45:00.000Z', to: '2026-12-03T11:15:00.000Z', reason: 'b' },
      ],
    });
    expect(elapsedSeconds(paused, CENTRAL, new Date('2026-12-03T12:00:00Z'))).toBe(75 * 60);
  });

  it('stands still during an open pause', () => {
    const open = clock({ pauses: [{ from: '2026-12-03T10:30:00.000Z', reason: 'awaiting customer' }] });
    expect(clockState(open)).toBe('paused');
    expect(elapsedSeconds(open, CENTRAL, new Date('2026-12-03T18:00:00Z'))).toBe(30 * 60);
    expect(nextAlarm(open, CENTRAL)).toBeUndefined();
  });

  it('counts business time on a business clock', () => {
    const finance = clock({
      target: { ...continuousHour, calendar: 'business' },
      startedAt: '2026-12-05T00:30:00.000Z', // Friday 18:30 CST
    });
    // Monday 07:15 CST: 30 min on Friday, 15 on Monday.
    expect(elapsedSeconds(finance, CENTRAL, new Date('2026-12-07T13:15:00Z'))).toBe(45 * 60);
    // Jeopardy at 45 min is Monday 07:15 CST; breach at 60 min is 07:30.
    expect(nextAlarm(finance, CENTRAL)).toEqual({ kind: 'jeopardy', at: new Date('2026-12-07T13:15:00Z') });
  });

  it('schedules jeopardy, then breach, shifted by pauses', () => {
    expect(nextAlarm(clock(), CENTRAL)).toEqual({ kind: 'jeopardy', at: new Date('2026-12-03T10:45:00Z') });
    const resumed = clock({
      pauses: [{ from: '2026-12-03T10:10:00.000Z', to: '2026-12-03T10:20:00.000Z', reason: 'x' }],
    });
    expect(nextAlarm(resumed, CENTRAL)).toEqual({ kind: 'jeopardy', at: new Date('2026-12-03T10:55:00Z') });
    const warned = { ...resumed, jeopardyRaisedAt: '2026-12-03T10:55:00.000Z' };
    expect(nextAlarm(warned, CENTRAL)).toEqual({ kind: 'breach', at: new Date('2026-12-03T11:10:00Z') });
    expect(nextAlarm({ ...warned, breachedAt: '2026-12-03T11:10:00.000Z' }, CENTRAL)).toBeUndefined();
    expect(nextAlarm(clock({ stoppedAt: '2026-12-03T10:05:00.000Z' }), CENTRAL)).toBeUndefined();
  });
});

describe('jeopardy and breach, once each', () => {
  it('owes nothing before the jeopardy mark', () => {
    expect(alarmsDue(clock(), CENTRAL, new Date('2026-12-03T10:44:59Z'))).toEqual([]);
  });

  it('owes a jeopardy past the mark, then nothing once it is raised', () => {
    const now = new Date('2026-12-03T10:50:00Z');
    expect(alarmsDue(clock(), CENTRAL, now)).toEqual([
      { kind: 'jeopardy', elapsedSeconds: 50 * 60, dueAt: '2026-12-03T11:00:00.000Z' },
    ]);
    expect(alarmsDue(clock({ jeopardyRaisedAt: now.toISOString() }), CENTRAL, now)).toEqual([]);
  });

  it('owes a breach with its overrun past the target, once', () => {
    const now = new Date('2026-12-03T11:05:00Z');
    expect(alarmsDue(clock({ jeopardyRaisedAt: '2026-12-03T10:45:00.000Z' }), CENTRAL, now)).toEqual([
      { kind: 'breach', overrunSeconds: 300, dueAt: '2026-12-03T11:00:00.000Z' },
    ]);
    expect(alarmsDue(clock({ breachedAt: now.toISOString() }), CENTRAL, now)).toEqual([]);
  });

  it('owes the breach of a clock that stopped late, but no jeopardy after the stop', () => {
    const late = clock({ stoppedAt: '2026-12-03T11:30:00.000Z' });
    expect(alarmsDue(late, CENTRAL, new Date('2026-12-03T12:00:00Z'))).toEqual([
      { kind: 'breach', overrunSeconds: 1800, dueAt: '2026-12-03T11:00:00.000Z' },
    ]);
    const stoppedInJeopardy = clock({ stoppedAt: '2026-12-03T10:50:00.000Z' });
    expect(alarmsDue(stoppedInJeopardy, CENTRAL, new Date('2026-12-03T12:00:00Z'))).toEqual([]);
  });

  it('owes nothing for a cancelled clock', () => {
    const cancelled = cancelClock(clock(), '2026-12-03T10:30:00.000Z');
    expect(clockState(cancelled)).toBe('cancelled');
    expect(alarmsDue(cancelled, CENTRAL, new Date('2026-12-03T12:00:00Z'))).toEqual([]);
  });
});

describe('clocks from canonical events', () => {
  const seed = { orderId: 'ERP-1', target: continuousHour };
  const at = (iso: string) => ({ occurredAt: iso });

  it('starts capture→accept at receipt, not at a source order date (often a date only)', () => {
    expect(
      clockChanges({
        name: 'order.received',
        detail: { ...at('2026-12-03T10:05:00.000Z'), order: { orderedAt: '2026-12-03T00:00:00.000Z' } },
      } as Parameters<typeof clockChanges>[0]),
    ).toEqual([
      { action: 'start', stage: 'capture-to-accept', instance: '', at: '2026-12-03T10:05:00.000Z' },
    ]);
  });

  it('stops each stage and starts the next on the same instant', () => {
    expect(clockChanges({ name: 'warehouse.released', detail: at('2026-12-03T11:00:00.000Z') })).toEqual([
      ...[
        'capture-to-accept',
        'accept-to-credit-decision',
        'credit-to-allocation',
        'allocation-to-release',
      ].map((stage) => ({
        action: 'stop',
        stage,
        instance: '',
        at: '2026-12-03T11:00:00.000Z',
        // The release ends allocation; the earlier stages are only swept up.
        ends: stage === 'allocation-to-release',
      })),
      {
        action: 'start',
        stage: 'release-to-ship-confirmation',
        instance: '',
        at: '2026-12-03T11:00:00.000Z',
      },
    ]);
  });

  it('times invoicing per shipment, and keeps the release clock on after a partial shipment', () => {
    const partial = clockChanges({
      name: 'shipment.confirmed',
      detail: { ...at('2026-12-03T12:00:00.000Z'), shipmentId: 'SHP-1', partial: true },
    });
    expect(partial).toContainEqual({
      action: 'start',
      stage: 'ship-confirmation-to-invoice',
      instance: 'SHP-1',
      at: '2026-12-03T12:00:00.000Z',
    });
    expect(partial.some((c) => c.action === 'stop' && c.stage === 'release-to-ship-confirmation')).toBe(
      false,
    );
    // A partial shipment ends no stage: it only sweeps up the earlier ones.
    expect(partial.filter((c) => c.action === 'stop' && c.ends)).toEqual([]);
    expect(
      clockChanges({
        name: 'invoice.issued',
        detail: { ...at('2026-12-03T13:00:00.000Z'), shipmentId: 'SHP-1' },
      }),
    ).toEqual([
      {
        action: 'stop',
        stage: 'ship-confirmation-to-invoice',
        instance: 'SHP-1',
        at: '2026-12-03T13:00:00.000Z',
        ends: true,
      },
    ]);
  });

  it('pauses only for a substitute the customer must approve', () => {
    expect(
      clockChanges({
        name: 'substitution.proposed',
        detail: { ...at('2026-12-03T10:10:00.000Z'), requiresApproval: false },
      }),
    ).toEqual([]);
    expect(
      clockChanges({
        name: 'substitution.proposed',
        detail: { ...at('2026-12-03T10:10:00.000Z'), requiresApproval: true, lineNo: 2 },
      }),
    ).toEqual([
      {
        action: 'pause',
        stage: 'credit-to-allocation',
        instance: '',
        at: '2026-12-03T10:10:00.000Z',
        reason: "awaiting the customer's decision on a substitute for line 2",
      },
    ]);
  });

  it('ends up with the same clock whatever order the events arrive in, and twice is once', () => {
    const changes = [
      { action: 'start', stage: 'credit-to-allocation', instance: '', at: '2026-12-03T10:00:00.000Z' },
      {
        action: 'pause',
        stage: 'credit-to-allocation',
        instance: '',
        at: '2026-12-03T10:10:00.000Z',
        reason: 'r',
      },
      {
        action: 'resume',
        stage: 'credit-to-allocation',
        instance: '',
        at: '2026-12-03T10:40:00.000Z',
        reason: 'd',
      },
      { action: 'stop', stage: 'credit-to-allocation', instance: '', at: '2026-12-03T11:00:00.000Z' },
    ] as const;
    const forward = changes.reduce<SlaClock | undefined>(
      (c, change) => applyChange(c, change, seed),
      undefined,
    );
    const stopFirst = [changes[3], changes[0], changes[1], changes[2], changes[0], changes[3]].reduce<
      SlaClock | undefined
    >((c, change) => applyChange(c, change, seed), undefined);
    expect(stopFirst).toEqual(forward);
    expect(elapsedSeconds(forward as SlaClock, CENTRAL, new Date('2026-12-03T12:00:00Z'))).toBe(30 * 60);
  });

  it('gives the same clock when the resume is tracked before its pause (a late proposal delivery)', () => {
    const start = {
      action: 'start',
      stage: 'credit-to-allocation',
      instance: '',
      at: '2026-12-03T10:00:00.000Z',
    } as const;
    const pause = {
      action: 'pause',
      stage: 'credit-to-allocation',
      instance: '',
      at: '2026-12-03T10:10:00.000Z',
      reason: "awaiting the customer's decision on a substitute for line 10",
    } as const;
    const resume = {
      action: 'resume',
      stage: 'credit-to-allocation',
      instance: '',
      at: '2026-12-03T14:10:00.000Z',
      reason: 'substitute for line 10 decided',
    } as const;
    const stop = {
      action: 'stop',
      stage: 'credit-to-allocation',
      instance: '',
      at: '2026-12-03T14:20:00.000Z',
    } as const;
    const run = (order: readonly (typeof start | typeof pause | typeof resume | typeof stop)[]) =>
      order.reduce<SlaClock | undefined>((c, change) => applyChange(c, change, seed), undefined) as SlaClock;
    const inOrder = run([start, pause, resume, stop]);
    const resumeFirst = run([start, resume, pause, stop]);
    expect(resumeFirst).toEqual(inOrder);
    expect(run([resume, stop, start, resume, pause, pause])).toEqual(inOrder);
    // Only the 10 minutes before the proposal and the 10 after the decision count.
    expect(elapsedSeconds(inOrder, CENTRAL, new Date('2026-12-03T15:00:00Z'))).toBe(20 * 60);
    // Meanwhile the early resume counts as nothing: the clock runs until its pause comes.
    const waiting = run([start, resume]);
    expect(clockState(waiting)).toBe('running');
    expect(elapsedSeconds(waiting, CENTRAL, new Date('2026-12-03T10:30:00Z'))).toBe(30 * 60);
  });

  it('keeps no early resume on a stage that does not pause', () => {
    const strict = { ...seed, target: { ...seed.target, pausesForCustomer: false } };
    const resumed = applyChange(
      undefined,
      {
        action: 'resume',
        stage: 'credit-to-allocation',
        instance: '',
        at: '2026-12-03T10:40:00.000Z',
        reason: 'd',
      },
      strict,
    );
    expect(resumed.pauses).toEqual([]);
  });

  it('pauses allocation→release while a future-dated order waits for its release window', () => {
    const deferred = clockChanges({ name: 'release.deferred', detail: at('2026-12-03T10:30:00.000Z') });
    expect(deferred).toEqual([
      {
        action: 'pause',
        stage: 'allocation-to-release',
        instance: '',
        at: '2026-12-03T10:30:00.000Z',
        reason: 'future-dated: waiting for its release window',
      },
    ]);
    const release = { ...seed, target: { ...continuousHour, pausesForCustomer: true } };
    const clock = [
      ...clockChanges({ name: 'allocation.confirmed', detail: at('2026-12-03T10:00:00.000Z') }),
      ...deferred,
      // Two weeks later the window opens and the order is released: only the 30 minutes before the deferral count.
      ...clockChanges({ name: 'warehouse.released', detail: at('2026-12-17T08:00:00.000Z') }),
    ]
      .flatMap((c) => (c.action !== 'cancel-all' && c.stage === 'allocation-to-release' ? [c] : []))
      .reduce<SlaClock | undefined>((c, change) => applyChange(c, change, release), undefined);
    expect(clockState(clock as SlaClock)).toBe('stopped');
    expect(elapsedSeconds(clock as SlaClock, CENTRAL, new Date('2026-12-18T00:00:00Z'))).toBe(30 * 60);
  });

  it('waits for the start when the stop comes first', () => {
    const stoppedOnly = applyChange(
      undefined,
      { action: 'stop', stage: 'credit-to-allocation', instance: '', at: '2026-12-03T11:00:00.000Z' },
      seed,
    );
    expect(clockState(stoppedOnly)).toBe('stopped');
    expect(elapsedSeconds(stoppedOnly, CENTRAL, new Date('2026-12-03T12:00:00Z'))).toBe(0);
    expect(alarmsDue(stoppedOnly, CENTRAL, new Date('2026-12-03T12:00:00Z'))).toEqual([]);
  });

  it('ignores a pause on a stage that does not pause for the customer', () => {
    const strict = applyChange(
      clock({ target: { ...continuousHour, pausesForCustomer: false } }),
      {
        action: 'pause',
        stage: 'credit-to-allocation',
        instance: '',
        at: '2026-12-03T10:10:00.000Z',
        reason: 'r',
      },
      seed,
    );
    expect(strict.pauses).toEqual([]);
  });

  it('cancels the running clocks of a rejected order', () => {
    expect(clockChanges({ name: 'order.rejected', detail: at('2026-12-03T10:30:00.000Z') })).toEqual([
      { action: 'cancel-all', at: '2026-12-03T10:30:00.000Z' },
    ]);
    const done = clock({ stoppedAt: '2026-12-03T10:20:00.000Z' });
    expect(cancelClock(done, '2026-12-03T10:30:00.000Z')).toBe(done);
  });

  it('stops, not cancels, a clock whose stop and the order closing share an instant, in either order', () => {
    const stop = {
      action: 'stop',
      stage: 'credit-to-allocation',
      instance: '',
      at: '2026-12-03T10:30:00.000Z',
    } as const;
    const stopFirst = cancelClock(applyChange(clock(), stop, seed), '2026-12-03T10:30:00.000Z');
    const cancelFirst = applyChange(cancelClock(clock(), '2026-12-03T10:30:00.000Z'), stop, seed);
    expect(cancelFirst).toEqual(stopFirst);
    expect(clockState(cancelFirst)).toBe('stopped');
    // A stop after the cancellation leaves it cancelled, whichever is tracked first.
    const laterStop = { ...stop, at: '2026-12-03T10:31:00.000Z' };
    const cancelThenStop = applyChange(cancelClock(clock(), '2026-12-03T10:30:00.000Z'), laterStop, seed);
    const stopThenCancel = cancelClock(applyChange(clock(), laterStop, seed), '2026-12-03T10:30:00.000Z');
    expect(clockState(cancelThenStop)).toBe('cancelled');
    expect(stopThenCancel).toEqual(cancelThenStop);
  });
});
