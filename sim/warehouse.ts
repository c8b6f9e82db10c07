import type { PartnerSandbox } from '../local/partners/sandbox.ts';
import type { OrderShippedEvent, WarehouseOrder } from '../local/partners/wms.ts';
import { type Random, random, subSeed } from './random.ts';
import type { Workload } from './workload.ts';

const HOUR = 3_600_000;
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const DAY = 24 * HOUR;

export interface DockOptions {
  /** Share of ship confirmations the WMS interface sends late (8–30 hours after the truck left). @default 0.04 */
  readonly lateConfirmationRate?: number;
  /** Share it never sends until someone asks for a resend. @default 0.004 */
  readonly missingConfirmationRate?: number;
}

interface PlannedShipment {
  readonly warehouseOrderNumber: string;
  readonly orderReference: string;
  readonly facilityCode: string;
  /** Which release of the order at that facility (1 for the first, 2 for a backorder's fill...). */
  readonly release: number;
  readonly shipAt: number;
  readonly carrierCode: string;
  readonly confirmation: 'on-time' | 'late' | 'missing';
}

/**
 * The physical warehouse: each released warehouse order is picked and packed (1–4 hours), then leaves on
 * the next carrier collection at its centre's cut-off (Monday to Friday); the WMS confirms it then — a few
 * confirmations late, a few lost until someone asks for them. Orders Handoff booked a premium carrier for
 * are confirmed by that carrier's tracking, so the WMS stays silent about them.
 */
export class WarehouseDocks {
  private seen = 0;
  private bookingsSeen = 0;
  private readonly booked = new Set<string>();
  /** When each order was first released (what a premium booking made before it covers). */
  private readonly firstRelease = new Map<string, string>();
  private readonly planned: PlannedShipment[] = [];
  /** Releases seen per order and facility (what keys a release's draws). */
  private readonly releasesAt = new Map<string, number>();
  private readonly seed: number;
  private readonly cutoff: ReadonlyMap<string, number>;
  private readonly heavy: ReadonlySet<string>;
  private readonly hazmat: ReadonlySet<string>;
  /** Orders whose confirmation the WMS never sent, by order id (an operator's resend sends them). */
  readonly unconfirmed = new Map<string, OrderShippedEvent>();
  readonly counts = { shipped: 0, lateConfirmations: 0, missingConfirmations: 0, resent: 0 };
  /** When each shipped order's confirmation is due (late ones after the truck left). */
  private readonly confirmations = new Map<string, number>();

  constructor(
    private readonly sandbox: PartnerSandbox,
    workload: Workload,
    seed: number,
    private readonly options: DockOptions = {},
  ) {
    this.seed = seed;
    this.cutoff = new Map(workload.facilities.map((f) => [f.facilityCode, f.carrierCutoffHourUtc]));
    this.heavy = new Set(
      workload.catalogue.filter((i) => i.GrossWeightKg > 30 || i.Oversize).map((i) => i.Material),
    );
    this.hazmat = new Set(workload.catalogue.filter((i) => i.Hazmat).map((i) => i.Material));
  }

  /**
   * Orders the physical world still holds at `now`: released and not yet collected, or shipped with the
   * WMS's confirmation still to come (late, or lost and not yet asked for). Each is durable: the WMS has the
   * warehouse order, and the release→ship-confirmation SLA clock runs on it.
   */
  pendingAt(now: number): Map<string, string> {
    const pending = new Map<string, string>();
    for (const p of this.planned)
      pending.set(p.orderReference, `collection at ${new Date(p.shipAt).toISOString()}`);
    for (const [orderId, due] of this.confirmations) {
      if (due > now) pending.set(orderId, `a WMS confirmation due ${new Date(due).toISOString()}`);
    }
    for (const orderId of this.unconfirmed.keys())
      pending.set(orderId, 'a lost WMS confirmation (SLA clock running)');
    return pending;
  }

  /** Plans the newly released orders and ships what is due by `now`. */
  tick(now: number): void {
    const orders = this.sandbox.wms.warehouseOrders;
    for (; this.seen < orders.length; this.seen++) {
      const order = orders[this.seen] as WarehouseOrder;
      // The premium carrier Handoff booked collects what was released with the booking; a later release
      // (a backorder's fill) leaves on the dock's own collection.
      const first = this.firstRelease.get(order.orderReference) ?? order.releasedAt;
      this.firstRelease.set(order.orderReference, first);
      if (first === order.releasedAt && this.bookedByHandoff(order.orderReference)) continue;
      this.planned.push(this.plan(order));
    }
    if (!this.planned.some((p) => p.shipAt <= now)) return;
    // In collection order, then by order: the WMS numbers shipments in the order it confirms them.
    const due = this.planned
      .filter((p) => p.shipAt <= now)
      .sort(
        (a, b) =>
          a.shipAt - b.shipAt ||
          compare(a.orderReference, b.orderReference) ||
          compare(a.facilityCode, b.facilityCode) ||
          a.release - b.release,
      );
    const later = this.planned.filter((p) => p.shipAt > now);
    this.planned.length = 0;
    this.planned.push(...later);
    for (const shipment of due) {
      const confirmAt =
        shipment.confirmation === 'late'
          ? new Date(shipment.shipAt + this.rngFor('late', shipment.orderReference).between(8, 30) * HOUR)
          : shipment.confirmation === 'missing'
            ? new Date(shipment.shipAt + 365 * DAY)
            : new Date(shipment.shipAt);
      const event = this.sandbox.wms.ship(shipment.warehouseOrderNumber, {
        carrierCode: shipment.carrierCode,
        confirmAt,
      });
      this.counts.shipped += 1;
      this.confirmations.set(shipment.orderReference, confirmAt.getTime());
      if (shipment.confirmation === 'late') this.counts.lateConfirmations += 1;
      if (shipment.confirmation === 'missing') {
        this.counts.missingConfirmations += 1;
        this.unconfirmed.set(shipment.orderReference, event);
      }
    }
  }

  /**
   * The warehouse team, asked about an order with no ship confirmation, has the WMS send it again now.
   * Returns false when the WMS has nothing unsent for it.
   */
  resend(orderId: string): boolean {
    const lost = this.unconfirmed.get(orderId);
    if (!lost) return false;
    this.unconfirmed.delete(orderId);
    // The same message again (same event id and shipment number): if the lost one ever turns up, it is a
    // duplicate the idempotency keys absorb.
    this.sandbox.wms.events.emit(lost);
    this.counts.resent += 1;
    return true;
  }

  private rngFor(...keys: string[]): Random {
    return random(subSeed(this.seed, `docks|${keys.join('|')}`));
  }

  private bookedByHandoff(orderId: string): boolean {
    const { bookings } = this.sandbox.tms;
    for (; this.bookingsSeen < bookings.length; this.bookingsSeen++)
      this.booked.add(bookings[this.bookingsSeen]?.shipperReference ?? '');
    return this.booked.has(orderId);
  }

  private plan(order: WarehouseOrder): PlannedShipment {
    // Draws keyed by the order, its facility and how many releases of it that facility has had, not by
    // the warehouse order number (the WMS numbers releases in the order they happened to arrive within a
    // step): the same seed gives the same dock whatever the concurrency of the step.
    const site = `${order.orderReference}|${order.facilityCode}`;
    const nth = (this.releasesAt.get(site) ?? 0) + 1;
    this.releasesAt.set(site, nth);
    const rng = this.rngFor(order.orderReference, order.facilityCode, String(nth));
    const released = Date.parse(order.releasedAt);
    const ready = released + rng.between(1, 4) * HOUR;
    const cutoffHour = this.cutoff.get(order.facilityCode) ?? 17;
    let day = Math.floor(ready / DAY) * DAY;
    for (;;) {
      const weekday = new Date(day).getUTCDay();
      const collection = day + cutoffHour * HOUR;
      if (weekday !== 0 && weekday !== 6 && collection >= ready) break;
      day += DAY;
    }
    const items = order.lines.map((l) => l.itemCode);
    const carrierCode = items.some((i) => this.hazmat.has(i))
      ? 'HZMT'
      : items.some((i) => this.heavy.has(i))
        ? 'RDGL'
        : 'PCPT';
    const late = this.options.lateConfirmationRate ?? 0.04;
    const missing = this.options.missingConfirmationRate ?? 0.004;
    const draw = rng.next();
    return {
      warehouseOrderNumber: order.warehouseOrderNumber,
      orderReference: order.orderReference,
      facilityCode: order.facilityCode,
      release: nth,
      shipAt: day + cutoffHour * HOUR,
      carrierCode,
      confirmation: draw < missing ? 'missing' : draw < missing + late ? 'late' : 'on-time',
    };
  }
}
