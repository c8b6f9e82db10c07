import * as z from 'zod/mini';
import {
  EventFeed,
  json,
  type PartnerEnvironment,
  type Route,
  refuse,
  type SandboxPartner,
  Sequences,
  validBody,
} from './framework.ts';

export interface StockRow {
  itemCode: string;
  onHand: number;
  committed: number;
  safetyStock: number;
}

/** A distribution centre as the WMS describes it, with its stock. */
export interface Facility {
  facilityCode: string;
  distanceRank: number;
  freightCost: number;
  carrierCutoffHourUtc: number;
  transitDays: Record<string, number>;
  inventory: StockRow[];
}

export interface WmsLine {
  readonly lineNumber: number;
  readonly itemCode: string;
  readonly quantity: number;
}

export interface Reservation {
  readonly reservationNumber: string;
  readonly orderReference: string;
  readonly facilityCode: string;
  readonly lines: readonly WmsLine[];
  status: 'OPEN' | 'RELEASED';
  readonly createdAt: string;
}

/** What a release creates: the order the warehouse picks, packs and ships. */
export interface WarehouseOrder {
  readonly releaseNumber: string;
  readonly warehouseOrderNumber: string;
  readonly orderReference: string;
  readonly facilityCode: string;
  readonly priority: number;
  readonly shipByDate: string;
  readonly serviceLevel: string;
  readonly lines: readonly WmsLine[];
  status: 'RELEASED' | 'SHIPPED';
  readonly releasedAt: string;
  readonly reservationNumber: string | null;
}

/** The WMS's outbound message when goods are put away: one per receipt line. */
export interface InventoryReceivedEvent {
  readonly eventId: string;
  readonly eventType: 'inventory.received';
  readonly occurredAt: string;
  readonly facilityCode: string;
  readonly itemCode: string;
  readonly quantity: number;
  /** Stock position after the receipt. */
  readonly onHand: number;
  readonly committed: number;
}

/**
 * The WMS's ship confirmation: the warehouse order left the dock with a carrier. The WMS sends it when the
 * carrier it chose collects (orders Handoff booked a premium carrier for are confirmed by that carrier's
 * tracking instead).
 */
export interface OrderShippedEvent {
  readonly eventId: string;
  readonly eventType: 'order.shipped';
  readonly occurredAt: string;
  readonly facilityCode: string;
  readonly orderReference: string;
  readonly warehouseOrderNumber: string;
  readonly shipmentNumber: string;
  readonly carrierCode: string;
  readonly trackingNumber: string;
  readonly lines: readonly WmsLine[];
  /** Every released line shipped in full. */
  readonly complete: boolean;
}

export type WmsOutboundEvent = InventoryReceivedEvent | OrderShippedEvent;

const Lines = z
  .array(
    z.object({
      lineNumber: z.int().check(z.gte(1)),
      itemCode: z.string().check(z.minLength(1)),
      quantity: z.int().check(z.gt(0)),
    }),
  )
  .check(z.minLength(1));

const ReservationRequest = z.object({
  orderReference: z.string().check(z.minLength(1)),
  facilityCode: z.string().check(z.minLength(1)),
  lines: Lines,
});

const ReleaseRequest = z.object({
  orderReference: z.string().check(z.minLength(1)),
  facilityCode: z.string().check(z.minLength(1)),
  priority: z.int().check(z.gte(0)),
  shipByDate: z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}$/)),
  serviceLevel: z.string().check(z.minLength(1)),
  lines: Lines,
});

/**
 * The separate WMS: availability by facility, reservations that commit stock (409 when a facility cannot
 * cover a line), releases that create warehouse orders, and an outbound feed of `inventory.received`
 * messages that `receive()` produces and the local cloud collects with `drainEvents()`.
 */
export class WmsSandbox implements SandboxPartner {
  readonly name = 'wms' as const;
  facilities: Facility[] = [];
  readonly reservations: Reservation[] = [];
  readonly warehouseOrders: WarehouseOrder[] = [];
  /** Outbound messages (put-aways, ship confirmations); set `events.knobs` for duplicated, late or out-of-order delivery. */
  readonly events: EventFeed<WmsOutboundEvent>;
  private readonly ids = new Sequences();

  constructor(private readonly env: PartnerEnvironment) {
    this.events = new EventFeed('wms.events', env);
  }

  readonly routes: readonly Route[] = [
    {
      method: 'GET',
      pattern: '/wms/availability',
      handle: ({ query }) => {
        const items = new Set((query.get('items') ?? '').split(','));
        return json(200, {
          facilities: this.facilities.map((f) => ({
            ...f,
            inventory: f.inventory.filter((i) => items.has(i.itemCode)),
          })),
        });
      },
    },
    {
      method: 'POST',
      pattern: '/wms/reservations',
      idempotent: true,
      // Two orders of one minute after the last units: who gets them must not depend on arrival order.
      ordered: true,
      handle: ({ body }) => {
        const reservation = this.reserve(validBody('WMS reservation request', ReservationRequest, body));
        return json(201, {
          reservationNumber: reservation.reservationNumber,
          facilityCode: reservation.facilityCode,
          status: reservation.status,
        });
      },
    },
    {
      method: 'GET',
      pattern: '/wms/reservations',
      handle: ({ query }) => json(200, { reservations: this.byOrder(this.reservations, query) }),
    },
    {
      method: 'POST',
      pattern: '/wms/releases',
      idempotent: true,
      handle: ({ body }) => {
        const order = this.release(validBody('WMS release request', ReleaseRequest, body));
        return json(201, {
          releaseNumber: order.releaseNumber,
          warehouseOrderNumber: order.warehouseOrderNumber,
          status: order.status,
        });
      },
    },
    {
      method: 'GET',
      pattern: '/wms/warehouse-orders',
      handle: ({ query }) => json(200, { warehouseOrders: this.byOrder(this.warehouseOrders, query) }),
    },
  ];

  /**
   * Goods put away at a site: on-hand rises now and an `inventory.received` message joins the outbound
   * feed. For tests and the simulator (a receipt is a physical event, not an API call).
   */
  receive(itemCode: string, facilityCode: string, quantity: number): InventoryReceivedEvent {
    if (!Number.isInteger(quantity) || quantity <= 0) {
      throw new RangeError(`receipt quantity must be a positive integer, got ${quantity}`);
    }
    const facility = this.facilities.find((f) => f.facilityCode === facilityCode);
    if (!facility) throw new RangeError(`no facility ${facilityCode} in the WMS`);
    let row = facility.inventory.find((i) => i.itemCode === itemCode);
    if (!row) {
      row = { itemCode, onHand: 0, committed: 0, safetyStock: 0 };
      facility.inventory.push(row);
    }
    row.onHand += quantity;
    const event: InventoryReceivedEvent = {
      eventId: this.ids.next('WMS-EVT-'),
      eventType: 'inventory.received',
      occurredAt: this.env.clock.now().toISOString(),
      facilityCode,
      itemCode,
      quantity,
      onHand: row.onHand,
      committed: row.committed,
    };
    this.events.emit(
      event,
      undefined,
      `received|${facilityCode}|${itemCode}|${event.occurredAt}|${quantity}`,
    );
    return event;
  }

  /**
   * The warehouse order leaves the dock: on-hand and committed fall by what shipped, the order is SHIPPED,
   * and an `order.shipped` confirmation joins the outbound feed, due at `confirmAt` (default now: a WMS
   * whose interface lags confirms later). For the simulator (shipping is a physical event, not an API call).
   */
  ship(
    warehouseOrderNumber: string,
    options: { readonly carrierCode: string; readonly confirmAt?: Date },
  ): OrderShippedEvent {
    const order = this.warehouseOrders.find((o) => o.warehouseOrderNumber === warehouseOrderNumber);
    if (!order) throw new RangeError(`no warehouse order ${warehouseOrderNumber}`);
    if (order.status !== 'RELEASED')
      throw new RangeError(`${warehouseOrderNumber} is already ${order.status}`);
    const facility = this.facility(order.facilityCode);
    for (const line of order.lines) {
      const row = facility.inventory.find((i) => i.itemCode === line.itemCode);
      if (!row) continue;
      row.onHand = Math.max(0, row.onHand - line.quantity);
      row.committed = Math.max(0, row.committed - line.quantity);
    }
    order.status = 'SHIPPED';
    const shipmentNumber = this.ids.next(`SHP-${order.facilityCode}-`);
    const event: OrderShippedEvent = {
      eventId: this.ids.next('WMS-EVT-'),
      eventType: 'order.shipped',
      occurredAt: this.env.clock.now().toISOString(),
      facilityCode: order.facilityCode,
      orderReference: order.orderReference,
      warehouseOrderNumber,
      shipmentNumber,
      carrierCode: options.carrierCode,
      trackingNumber: `${options.carrierCode}${shipmentNumber.replace(/\D/g, '').padStart(10, '0')}`,
      lines: order.lines,
      complete: true,
    };
    this.events.emit(
      event,
      options.confirmAt,
      `shipped|${order.orderReference}|${order.facilityCode}|${order.releasedAt}|${event.occurredAt}`,
    );
    return event;
  }

  /** The outbound messages due now on the sandbox clock, with the feed's knobs applied. */
  drainEvents(): WmsOutboundEvent[] {
    return this.events.drain();
  }

  private byOrder<T extends { orderReference: string }>(rows: readonly T[], query: URLSearchParams): T[] {
    const orderReference = query.get('orderReference');
    return orderReference ? rows.filter((r) => r.orderReference === orderReference) : [...rows];
  }

  private facility(code: string): Facility {
    const facility = this.facilities.find((f) => f.facilityCode === code);
    if (!facility) refuse(422, 'unknown_facility', `no facility ${code} in the WMS`, { facilityCode: code });
    return facility;
  }

  /** All or nothing: every line must fit in on-hand minus committed, or nothing is committed. */
  private reserve(request: z.output<typeof ReservationRequest>): Reservation {
    const facility = this.facility(request.facilityCode);
    const demand = new Map<string, number>();
    for (const line of request.lines) {
      demand.set(line.itemCode, (demand.get(line.itemCode) ?? 0) + line.quantity);
    }
    // Physical availability (safety stock is the planner's buffer, the WMS will reserve into it).
    const shortages = [...demand].flatMap(([itemCode, requested]) => {
      const row = facility.inventory.find((i) => i.itemCode === itemCode);
      const available = row ? Math.max(0, row.onHand - row.committed) : 0;
      return requested > available ? [{ itemCode, requested, available }] : [];
    });
    if (shortages.length > 0) {
      refuse(
        409,
        'insufficient_stock',
        `${facility.facilityCode} cannot reserve ${shortages
          .map((s) => `${s.requested} × ${s.itemCode} (available ${s.available})`)
          .join(', ')}; nothing was reserved`,
        { facilityCode: facility.facilityCode, shortages },
      );
    }
    for (const [itemCode, quantity] of demand) {
      const row = facility.inventory.find((i) => i.itemCode === itemCode);
      if (row) row.committed += quantity;
    }
    const reservation: Reservation = {
      reservationNumber: this.ids.next('RSV-'),
      orderReference: request.orderReference,
      facilityCode: facility.facilityCode,
      lines: request.lines,
      status: 'OPEN',
      createdAt: this.env.clock.now().toISOString(),
    };
    this.reservations.push(reservation);
    return reservation;
  }

  private release(request: z.output<typeof ReleaseRequest>): WarehouseOrder {
    const facility = this.facility(request.facilityCode);
    const reservation = this.reservations.find(
      (r) =>
        r.orderReference === request.orderReference &&
        r.facilityCode === facility.facilityCode &&
        r.status === 'OPEN',
    );
    if (reservation) reservation.status = 'RELEASED';
    const order: WarehouseOrder = {
      releaseNumber: this.ids.next('REL-'),
      warehouseOrderNumber: this.ids.next(`WO-${facility.facilityCode}-`),
      orderReference: request.orderReference,
      facilityCode: facility.facilityCode,
      priority: request.priority,
      shipByDate: request.shipByDate,
      serviceLevel: request.serviceLevel,
      lines: request.lines,
      status: 'RELEASED',
      releasedAt: this.env.clock.now().toISOString(),
      reservationNumber: reservation?.reservationNumber ?? null,
    };
    this.warehouseOrders.push(order);
    return order;
  }

  reset(): void {
    this.facilities = [];
    this.reservations.length = 0;
    this.warehouseOrders.length = 0;
    this.events.clear();
    this.ids.reset();
  }
}
