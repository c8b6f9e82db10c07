import { describe, expect, it } from 'vitest';
import { detailTypesOf, ruleAdmits } from '../../../cli/replay.ts';
import { CliError } from '../../../cli/resources.ts';
import { parseInstant, parseWindow } from '../../../cli/window.ts';

const now = new Date('2026-12-03T15:00:00.000Z');

describe('command-line instants and windows', () => {
  it('reads ISO times, dates, now and durations back from now', () => {
    expect(parseInstant('--from', '2026-12-01T08:00:00+01:00', now).toISOString()).toBe(
      '2026-12-01T07:00:00.000Z',
    );
    expect(parseInstant('--from', '2026-12-01', now).toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(parseInstant('--to', 'now', now)).toBe(now);
    expect(parseInstant('--from', '90m', now).toISOString()).toBe('2026-12-03T13:30:00.000Z');
    expect(parseInstant('--from', '6h', now).toISOString()).toBe('2026-12-03T09:00:00.000Z');
    expect(parseInstant('--from', '7d', now).toISOString()).toBe('2026-11-26T15:00:00.000Z');
    expect(parseInstant('--from', '2w', now).toISOString()).toBe('2026-11-19T15:00:00.000Z');
  });

  it('refuses what it cannot read, naming the flag', () => {
    expect(() => parseInstant('--to', 'tomorrow', now)).toThrow(CliError);
    expect(() => parseInstant('--to', 'tomorrow', now)).toThrow(/^--to must be an ISO 8601 time/);
    expect(() => parseInstant('--from', '2026-13-45', now)).toThrow(/^--from must be/);
    expect(() => parseWindow({ from: '1h', to: '2h' }, now, { from: '7d' })).toThrow(
      /--to must be after --from/,
    );
    expect(parseWindow({}, now, { from: '7d' })).toEqual({
      from: new Date('2026-11-26T15:00:00.000Z'),
      to: now,
    });
  });
});

describe('replay targeting', () => {
  const shipment = { detailType: 'shipment.confirmed.v1', source: 'handoff.shipping' };

  it('knows the catalogue by name or detail type', () => {
    expect(detailTypesOf(['shipment.confirmed', 'invoice.issued.v1'])).toEqual([
      shipment,
      { detailType: 'invoice.issued.v1', source: 'handoff.billing' },
    ]);
    expect(() => detailTypesOf(['order.teleported'])).toThrow(
      /--detail-type order.teleported is not a Handoff event; use one of order.received, /,
    );
  });

  it('picks the rules whose source and detail-type admit the event', () => {
    expect(
      ruleAdmits({ source: ['handoff.shipping'], 'detail-type': ['shipment.confirmed.v1'] }, shipment),
    ).toBe(true);
    expect(ruleAdmits({ source: ['handoff.orders'], 'detail-type': ['order.received.v1'] }, shipment)).toBe(
      false,
    );
    expect(
      ruleAdmits({ source: ['handoff.shipping'], 'detail-type': ['shipment.delivered.v1'] }, shipment),
    ).toBe(false);
    // Every Handoff source, any type: the process log's rule.
    expect(ruleAdmits({ source: ['handoff.orders', 'handoff.shipping'] }, shipment)).toBe(true);
    // A content filter on detail is the rule's own business.
    expect(
      ruleAdmits({ 'detail-type': ['shipment.confirmed.v1'], detail: { partial: [true] } }, shipment),
    ).toBe(true);
    // A prefix matcher is taken to admit: one rule too many is harmless, one too few is not.
    expect(ruleAdmits({ 'detail-type': [{ prefix: 'shipment.' }] }, shipment)).toBe(true);
    expect(ruleAdmits(undefined, shipment)).toBe(false);
  });
});
