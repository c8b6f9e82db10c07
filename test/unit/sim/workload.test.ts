import { describe, expect, it } from 'vitest';
import { shipToAddressIssues } from '../../../lambdas/core/address.ts';
import { buildWorkload } from '../../../sim/workload.ts';

const START = new Date('2026-11-23T00:00:00.000Z'); // a Monday

describe('the simulated week', () => {
  const week = buildWorkload({ orders: 5000, days: 7, seed: 42, start: START });

  it('is the same for the same seed and different for another', () => {
    const again = buildWorkload({ orders: 5000, days: 7, seed: 42, start: START });
    expect(again.arrivals).toEqual(week.arrivals);
    expect(again.facilities).toEqual(week.facilities);
    const other = buildWorkload({ orders: 5000, days: 7, seed: 43, start: START });
    expect(other.arrivals.map((a) => a.at)).not.toEqual(week.arrivals.map((a) => a.at));
  });

  it('has every order once, in time order, inside the week, with unique ids', () => {
    expect(week.arrivals).toHaveLength(5000);
    expect(new Set(week.arrivals.map((a) => a.orderId)).size).toBe(5000);
    for (let i = 1; i < week.arrivals.length; i++) {
      expect(week.arrivals[i]?.at).toBeGreaterThanOrEqual(week.arrivals[i - 1]?.at ?? 0);
    }
    expect(Math.min(...week.arrivals.map((a) => a.at))).toBeGreaterThanOrEqual(week.start);
    expect(Math.max(...week.arrivals.map((a) => a.at))).toBeLessThan(week.end);
  });

  it('mixes the three channels 55 / 15 / 30', () => {
    const share = (channel: string) => week.arrivals.filter((a) => a.channel === channel).length / 5000;
    expect(share('wholesale')).toBeCloseTo(0.55, 2);
    expect(share('retail-replenishment')).toBeCloseTo(0.15, 2);
    expect(share('direct-to-customer')).toBeCloseTo(0.3, 2);
  });

  it('ships every ERP order to an address Handoff can deliver to, except the address errors it sends', () => {
    const erp = week.arrivals.filter((a) => a.channel !== 'retail-replenishment');
    for (const a of erp) {
      expect(shipToAddressIssues({ ...a.shipTo, country: 'US' })).toEqual([]);
      if (a.addressError) {
        const sent = { ...a.shipTo, postalCode: a.addressError.postalCode, country: 'US' };
        expect(shipToAddressIssues(sent).map((i) => i.rule)).toEqual([
          a.addressError.kind === 'leading-zero' ? 'usZipFormat' : 'zipMatchesState',
        ]);
      }
    }
    const rate = (channel: string) =>
      week.arrivals.filter((a) => a.channel === channel && a.addressError).length /
      week.arrivals.filter((a) => a.channel === channel).length;
    // Consumers type their own addresses (1 %), trade accounts' are on file (0.2 %), EDI ship-tos are store numbers.
    expect(rate('direct-to-customer')).toBeGreaterThan(0.004);
    expect(rate('direct-to-customer')).toBeLessThan(0.02);
    expect(rate('wholesale')).toBeLessThan(0.006);
    expect(rate('retail-replenishment')).toBe(0);
    const kinds = new Set(week.arrivals.flatMap((a) => (a.addressError ? [a.addressError.kind] : [])));
    expect([...kinds].sort()).toEqual(['leading-zero', 'other-address']);
  });

  it('peaks on Monday and is quiet at the weekend, busiest in office hours', () => {
    const perDay = Array.from(
      { length: 7 },
      (_, d) => week.arrivals.filter((a) => Math.floor((a.at - week.start) / 86_400_000) === d).length,
    );
    expect(Math.max(...perDay)).toBe(perDay[0]);
    expect(perDay[5]).toBeLessThan((perDay[2] ?? 0) / 2);
    const wholesale = week.arrivals.filter((a) => a.channel === 'wholesale');
    const office = wholesale.filter((a) => {
      const hour = new Date(a.at).getUTCHours();
      return hour >= 13 && hour < 22;
    });
    expect(office.length / wholesale.length).toBeGreaterThan(0.7);
  });

  it('sizes stock from demand: short items below the week and refilled by receipts', () => {
    const demand = new Map<string, number>();
    for (const a of week.arrivals)
      for (const l of a.lines) if (!l.dropShip) demand.set(l.sku, (demand.get(l.sku) ?? 0) + l.quantity);
    const stock = (sku: string) =>
      week.facilities.reduce((sum, f) => sum + (f.inventory.find((i) => i.itemCode === sku)?.onHand ?? 0), 0);
    for (const sku of week.shortSkus) {
      expect(stock(sku)).toBeLessThan(demand.get(sku) ?? 0);
      expect(week.receipts.filter((r) => r.sku === sku)).toHaveLength(2);
    }
    expect(stock('BOLT-M8')).toBeGreaterThan(demand.get('BOLT-M8') ?? 0);
  });

  it('gives customers credit terms, some near their limit, overdue or closed', () => {
    const wholesale = week.customers.filter((c) => c.channel === 'wholesale');
    expect(wholesale.length).toBeGreaterThan(100);
    expect(wholesale.some((c) => c.credit.OldestOverdueDays > 30)).toBe(true);
    expect(wholesale.every((c) => /^NET\d+$/.test(c.credit.PaymentTerms))).toBe(true);
    expect(week.customers.filter((c) => c.channel === 'retail-replenishment').map((c) => c.id)).toContain(
      'C-7007',
    );
  });

  it('puts a burst of 10x the mean rate where asked, and nothing of the usual traffic in it', () => {
    const at = START.getTime() + 86_400_000 + 15 * 3_600_000;
    const burst = buildWorkload({
      orders: 5000,
      days: 7,
      seed: 42,
      start: START,
      burst: { at, minutes: 30, factor: 10 },
    });
    const inWindow = burst.arrivals.filter(
      (a) => a.at >= at && a.at < at + 30 * 60_000 && a.channel !== 'retail-replenishment',
    );
    const meanPer30Min = (5000 * 0.85) / (7 * 48);
    expect(inWindow.length).toBeGreaterThan(meanPer30Min * 8);
    expect(inWindow.length).toBeLessThan(meanPer30Min * 12);
  });
});
