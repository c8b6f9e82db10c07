import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import * as z from 'zod/mini';
import {
  authorized,
  canonicalJson,
  compileRoute,
  DECIMAL,
  EventFeed,
  json,
  matchRoute,
  type PartnerCredential,
  type PartnerEnvironment,
  problem,
  RandomStreams,
  Refusal,
  type Route,
  refuse,
  type SandboxClock,
  type SandboxRequest,
  type SandboxResponse,
  Sequences,
  systemClock,
  validBody,
} from './framework.ts';

/**
 * The drop-ship vendors: suppliers that ship the distributor's orders straight to its customers. Each
 * vendor takes purchase orders over its API and acknowledges them at once, line by line, X12 855-style
 * (accepted, rejected, or accepted with a rescheduled date), then ships on its scheduled date and sends an
 * advance ship notice (ASN, 856-style) on an outbound feed the local cloud collects with `drainAsns()`.
 */

/** How a vendor answers the purchase orders it receives from now on. */
export type VendorBehaviour =
  | { readonly kind: 'accept-all' }
  /** Rejects one line: the one for `itemCode`, or the first line it would otherwise accept. */
  | { readonly kind: 'reject-line'; readonly itemCode?: string; readonly reasonCode?: string }
  /** Accepts every line but schedules shipment `byBusinessDays` later than its lead time allows. */
  | { readonly kind: 'delay-ship-date'; readonly byBusinessDays: number };

export interface Vendor {
  readonly vendorCode: string;
  readonly name: string;
  /** Prefix of the vendor's own document numbers (sales orders, ASNs). */
  readonly documentPrefix: string;
  /** Items the vendor supplies, by the distributor's item code. */
  readonly items: readonly string[];
  /** Business days from receiving a purchase order to shipping it. */
  readonly leadTimeDays: number;
  /** Business days from the vendor's dock to the customer. */
  readonly transitDays: number;
  /** Hour (UTC) the vendor's shipments leave on their ship date; the ASN is sent then. */
  readonly shipHourUtc: number;
  /** The carrier the vendor ships with (SCAC). */
  readonly carrierScac: string;
  readonly warehouseCode: string;
  readonly country: string;
  behaviour: VendorBehaviour;
}

/** X12 855 line acknowledgement codes: item accepted, item rejected, item accepted with the date rescheduled. */
export type LineAckCode = 'IA' | 'IR' | 'DR';
/** X12 855 BAK02: acknowledged with no change, acknowledged with change, rejected. */
export type PoAckCode = 'AD' | 'AC' | 'RD';

export interface AcknowledgedLine {
  readonly lineNumber: number;
  readonly itemCode: string;
  readonly quantityOrdered: number;
  readonly quantityAccepted: number;
  readonly unitCost: string;
  readonly status: LineAckCode;
  readonly scheduledShipDate: string | null;
  readonly reasonCode: string | null;
}

export interface VendorAddress {
  readonly name: string;
  readonly address1: string;
  readonly address2?: string;
  readonly city: string;
  readonly state?: string;
  readonly postalCode: string;
  readonly country: string;
  readonly phone?: string;
}

/** A purchase order as the vendor keeps it. */
export interface VendorPurchaseOrder {
  readonly vendorOrderNumber: string;
  readonly purchaseOrderNumber: string;
  readonly vendorCode: string;
  readonly buyerReference: string;
  readonly currency: string;
  readonly requestedDeliveryDate: string;
  readonly shipTo: VendorAddress;
  readonly lines: readonly AcknowledgedLine[];
  readonly acknowledgement: { readonly type: PoAckCode; readonly acknowledgedAt: string };
  readonly scheduledShipDate: string | null;
  readonly estimatedDeliveryDate: string | null;
  readonly receivedAt: string;
  /** When the goods leave (and the ASN is sent); null when nothing was accepted. */
  readonly shipsAt: string | null;
}

/** The vendor's outbound advance ship notice, one per shipped purchase order. */
export interface AdvanceShipNotice {
  readonly asnNumber: string;
  readonly messageType: 'ADVANCE_SHIP_NOTICE';
  readonly vendorCode: string;
  readonly purchaseOrderNumber: string;
  readonly vendorOrderNumber: string;
  readonly buyerReference: string;
  readonly shippedAt: string;
  readonly carrier: { readonly scac: string; readonly trackingNumber: string };
  readonly shipFrom: { readonly locationCode: string; readonly country: string };
  readonly lines: readonly {
    readonly lineNumber: number;
    readonly itemCode: string;
    readonly quantityShipped: number;
  }[];
}

const IsoDay = z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}$/));
const Text = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));

const PurchaseOrderRequest = z.object({
  purchaseOrderNumber: Text(120),
  vendorCode: Text(32),
  buyerReference: Text(80),
  currency: z.string().check(z.regex(/^[A-Z]{3}$/)),
  requestedDeliveryDate: IsoDay,
  shipTo: z.object({
    name: Text(120),
    address1: Text(120),
    address2: z.optional(Text(120)),
    city: Text(80),
    state: z.optional(Text(80)),
    postalCode: Text(12),
    country: z.string().check(z.regex(/^[A-Z]{2}$/)),
    phone: z.optional(Text(20)),
  }),
  lines: z
    .array(
      z.object({
        lineNumber: z.int().check(z.gte(1)),
        itemCode: Text(64),
        quantity: z.int().check(z.gt(0)),
        unitCost: z.string().check(z.regex(DECIMAL)),
      }),
    )
    .check(z.minLength(1)),
});
type PurchaseOrderRequest = z.output<typeof PurchaseOrderRequest>;

const DAY = 86_400_000;
const HOUR = 3_600_000;

const isoDate = (t: number) => new Date(t).toISOString().slice(0, 10);
const isWeekend = (t: number) => [0, 6].includes(new Date(t).getUTCDay());

/** Midnight UTC of the day `n` business days after `t`'s day. */
function addBusinessDays(t: number, n: number): number {
  let day = Math.floor(t / DAY) * DAY;
  for (let left = n; left > 0; ) {
    day += DAY;
    if (!isWeekend(day)) left -= 1;
  }
  while (isWeekend(day)) day += DAY;
  return day;
}

/** The answer to a purchase order: the vendor's document, with its status on the sandbox clock. */
function view(po: VendorPurchaseOrder, now: Date) {
  const status =
    po.acknowledgement.type === 'RD'
      ? 'REJECTED'
      : po.shipsAt !== null && Date.parse(po.shipsAt) <= now.getTime()
        ? 'SHIPPED'
        : 'ACKNOWLEDGED';
  const { shipsAt: _, ...document } = po;
  return { ...document, status };
}

/**
 * The drop-ship vendors behind one partner (`/vendor/…`). A purchase order is known by its buyer's number:
 * sending the same one again answers the vendor's existing acknowledgement (200) instead of a second order,
 * and a different order under the same number is a 409. Mounted in the PartnerSandbox, Idempotency-Key is
 * honoured on top, Stripe-style.
 */
export class VendorSandbox {
  readonly name = 'vendor' as const;
  readonly vendors = new Map<string, Vendor>();
  readonly purchaseOrders: VendorPurchaseOrder[] = [];
  /** Outbound ASNs; set `asns.knobs` for duplicated, late or out-of-order delivery. */
  readonly asns: EventFeed<AdvanceShipNotice>;
  private readonly fingerprints = new Map<string, string>();
  private readonly ids = new Sequences();

  constructor(private readonly env: PartnerEnvironment) {
    this.asns = new EventFeed('vendor.asns', env);
  }

  readonly routes: readonly Route[] = [
    {
      method: 'POST',
      pattern: '/vendor/purchase-orders',
      idempotent: true,
      handle: ({ body }) => {
        const request = validBody('vendor purchase order', PurchaseOrderRequest, body);
        const { purchaseOrder, created } = this.receive(request);
        return json(created ? 201 : 200, view(purchaseOrder, this.env.clock.now()));
      },
    },
    {
      method: 'GET',
      pattern: '/vendor/purchase-orders/:id',
      handle: ({ params }) => {
        const id = params.id ?? '';
        const po = this.purchaseOrders.find(
          (p) => p.purchaseOrderNumber === id || p.vendorOrderNumber === id,
        );
        return po
          ? json(200, view(po, this.env.clock.now()))
          : problem(404, 'not_found', `no purchase order ${id}`);
      },
    },
  ];

  /** Sets how a vendor acknowledges purchase orders from the next one on. */
  setBehaviour(vendorCode: string, behaviour: VendorBehaviour): void {
    const vendor = this.vendors.get(vendorCode);
    if (!vendor) throw new RangeError(`no vendor ${vendorCode}`);
    vendor.behaviour = behaviour;
  }

  /** ASNs due now on the sandbox clock, with the feed's knobs applied. */
  drainAsns(): AdvanceShipNotice[] {
    return this.asns.drain();
  }

  private receive(request: PurchaseOrderRequest): { purchaseOrder: VendorPurchaseOrder; created: boolean } {
    const vendor = this.vendors.get(request.vendorCode);
    if (!vendor) {
      refuse(422, 'unknown_vendor', `no vendor ${request.vendorCode}`, { vendorCode: request.vendorCode });
    }
    const slot = `${vendor.vendorCode}\u0000${request.purchaseOrderNumber}`;
    const fingerprint = canonicalJson(request);
    const seen = this.fingerprints.get(slot);
    if (seen !== undefined) {
      if (seen !== fingerprint) {
        refuse(
          409,
          'purchase_order_conflict',
          `purchase order ${request.purchaseOrderNumber} was already received with different content`,
          { purchaseOrderNumber: request.purchaseOrderNumber },
        );
      }
      const existing = this.purchaseOrders.find(
        (p) => p.vendorCode === vendor.vendorCode && p.purchaseOrderNumber === request.purchaseOrderNumber,
      );
      if (existing) return { purchaseOrder: existing, created: false };
    }
    const purchaseOrder = this.acknowledge(vendor, request);
    this.purchaseOrders.push(purchaseOrder);
    this.fingerprints.set(slot, fingerprint);
    if (purchaseOrder.shipsAt !== null) this.scheduleAsn(vendor, purchaseOrder);
    return { purchaseOrder, created: true };
  }

  private acknowledge(vendor: Vendor, request: PurchaseOrderRequest): VendorPurchaseOrder {
    const now = this.env.clock.now();
    const delay = vendor.behaviour.kind === 'delay-ship-date' ? vendor.behaviour.byBusinessDays : 0;
    const shipDay = addBusinessDays(now.getTime(), vendor.leadTimeDays + delay);
    const deliveryDay = addBusinessDays(shipDay, vendor.transitDays);
    const late = isoDate(deliveryDay) > request.requestedDeliveryDate;
    const carried = request.lines.filter((line) => vendor.items.includes(line.itemCode));
    const behaviour = vendor.behaviour;
    const rejectedLine =
      behaviour.kind === 'reject-line'
        ? (carried.find((line) => behaviour.itemCode === undefined || line.itemCode === behaviour.itemCode)
            ?.lineNumber ?? null)
        : null;
    const lines: AcknowledgedLine[] = request.lines.map((line) => {
      const reasonCode = !vendor.items.includes(line.itemCode)
        ? 'ITEM_NOT_CARRIED'
        : line.lineNumber === rejectedLine && behaviour.kind === 'reject-line'
          ? (behaviour.reasonCode ?? 'OUT_OF_STOCK')
          : null;
      return {
        lineNumber: line.lineNumber,
        itemCode: line.itemCode,
        quantityOrdered: line.quantity,
        quantityAccepted: reasonCode ? 0 : line.quantity,
        unitCost: line.unitCost,
        status: reasonCode ? 'IR' : late || delay > 0 ? 'DR' : 'IA',
        scheduledShipDate: reasonCode ? null : isoDate(shipDay),
        reasonCode,
      };
    });
    const accepted = lines.filter((line) => line.status !== 'IR');
    const type: PoAckCode =
      accepted.length === 0 ? 'RD' : lines.every((line) => line.status === 'IA') ? 'AD' : 'AC';
    return {
      vendorOrderNumber: this.ids.next(`${vendor.documentPrefix}-SO-`),
      purchaseOrderNumber: request.purchaseOrderNumber,
      vendorCode: vendor.vendorCode,
      buyerReference: request.buyerReference,
      currency: request.currency,
      requestedDeliveryDate: request.requestedDeliveryDate,
      shipTo: request.shipTo,
      lines,
      acknowledgement: { type, acknowledgedAt: now.toISOString() },
      scheduledShipDate: accepted.length > 0 ? isoDate(shipDay) : null,
      estimatedDeliveryDate: accepted.length > 0 ? isoDate(deliveryDay) : null,
      receivedAt: now.toISOString(),
      shipsAt: accepted.length > 0 ? new Date(shipDay + vendor.shipHourUtc * HOUR).toISOString() : null,
    };
  }

  private scheduleAsn(vendor: Vendor, po: VendorPurchaseOrder): void {
    const shippedAt = po.shipsAt ?? this.env.clock.now().toISOString();
    this.asns.emit(
      {
        asnNumber: this.ids.next(`${vendor.documentPrefix}-ASN-`),
        messageType: 'ADVANCE_SHIP_NOTICE',
        vendorCode: vendor.vendorCode,
        purchaseOrderNumber: po.purchaseOrderNumber,
        vendorOrderNumber: po.vendorOrderNumber,
        buyerReference: po.buyerReference,
        shippedAt,
        carrier: { scac: vendor.carrierScac, trackingNumber: this.ids.next(vendor.carrierScac, 10) },
        shipFrom: { locationCode: vendor.warehouseCode, country: vendor.country },
        lines: po.lines
          .filter((line) => line.status !== 'IR')
          .map((line) => ({
            lineNumber: line.lineNumber,
            itemCode: line.itemCode,
            quantityShipped: line.quantityAccepted,
          })),
      },
      new Date(shippedAt),
      `${vendor.vendorCode}|${po.buyerReference}|${shippedAt}`,
    );
  }

  reset(): void {
    this.vendors.clear();
    this.purchaseOrders.length = 0;
    this.fingerprints.clear();
    this.asns.clear();
    this.ids.reset();
  }
}

// ---------------------------------------------------------------------------------------------------
// Reference data
// ---------------------------------------------------------------------------------------------------

/**
 * The two drop-ship vendors of the ERP item master (seed.ts SEED_CATALOGUE: SupplyType DROPSHIP), with
 * the same lead times. Kept here rather than derived from the catalogue so seed.ts may import this module.
 */
export const SEED_VENDORS: readonly Vendor[] = [
  {
    vendorCode: 'V-AQUADRIVE',
    name: 'AquaDrive Pump Works',
    documentPrefix: 'AQD',
    items: ['PUMP-SUB-75'],
    leadTimeDays: 5,
    transitDays: 3,
    shipHourUtc: 16,
    carrierScac: 'RDGL',
    warehouseCode: 'AQD-DAYTON',
    country: 'US',
    behaviour: { kind: 'accept-all' },
  },
  {
    vendorCode: 'V-TANKWORKS',
    name: 'TankWorks Pressure Vessels',
    documentPrefix: 'TKW',
    items: ['TANK-PRESS-80'],
    leadTimeDays: 7,
    transitDays: 4,
    shipHourUtc: 15,
    carrierScac: 'RDGL',
    warehouseCode: 'TKW-TULSA',
    country: 'US',
    behaviour: { kind: 'accept-all' },
  },
];

/** Puts the seed vendors (copies, so a run's behaviour knobs stay in that run) into a vendor sandbox. */
export function seedVendors(sandbox: VendorSandbox): void {
  for (const vendor of SEED_VENDORS) sandbox.vendors.set(vendor.vendorCode, { ...vendor });
}

// ---------------------------------------------------------------------------------------------------
// Standalone server (until the PartnerSandbox mounts the vendor partner)
// ---------------------------------------------------------------------------------------------------

export interface RecordedVendorCall {
  readonly method: string;
  readonly path: string;
  readonly idempotencyKey?: string;
  readonly body?: unknown;
}

export interface StandaloneVendorOptions {
  /** @default the system clock */
  readonly clock?: SandboxClock;
  /** Seed of the ASN feed's random knobs. @default 1 */
  readonly seed?: number;
  /** Required credential; none means any caller is accepted (as the other sandboxes by default). */
  readonly credential?: PartnerCredential;
}

/**
 * The vendor partner on its own node:http server, for tests: the same routes, request validation, JSON
 * errors, recorded calls, optional credential and a `failNext` fault knob, without the rest of the
 * PartnerSandbox. Idempotency rests on the vendor's purchase-order numbers.
 */
export class StandaloneVendorServer {
  readonly vendor: VendorSandbox;
  readonly calls: RecordedVendorCall[] = [];
  /** Route prefix (e.g. 'POST /vendor/purchase-orders') → number of upcoming requests to answer with 503. */
  readonly failNext = new Map<string, number>();
  clock: SandboxClock;
  credential: PartnerCredential | undefined;
  baseUrl = '';
  private readonly random: RandomStreams;
  private readonly compiled: ReturnType<typeof compileRoute>[];
  private server: Server | undefined;

  constructor(options: StandaloneVendorOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.credential = options.credential;
    this.random = new RandomStreams(options.seed ?? 1);
    const host = this;
    this.vendor = new VendorSandbox({
      get clock() {
        return host.clock;
      },
      random: (stream) => this.random.stream(stream),
      draw: (stream, key) => this.random.draw(stream, key),
    });
    this.compiled = this.vendor.routes.map(compileRoute);
  }

  async start(port = 0): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    const address = server.address();
    this.baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
  }

  /** Forgets vendors, purchase orders, ASNs, calls and knobs; restarts the random streams at their seed. */
  reset(): void {
    this.calls.length = 0;
    this.failNext.clear();
    this.random.reset();
    this.vendor.reset();
  }

  callsTo(method: string, path: string): RecordedVendorCall[] {
    return this.calls.filter((call) => call.method === method && call.path === path);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let response: SandboxResponse;
    try {
      response = await this.dispatch(req);
    } catch (error) {
      response = problem(500, 'sandbox_error', error instanceof Error ? error.message : String(error));
    }
    if (res.destroyed) return;
    res
      .writeHead(response.status, { ...response.headers, 'content-type': 'application/json' })
      .end(JSON.stringify(response.body ?? null));
  }

  private async dispatch(req: IncomingMessage): Promise<SandboxResponse> {
    const url = new URL(req.url ?? '/', 'http://vendor');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const header = req.headers['idempotency-key'];
    const idempotencyKey = typeof header === 'string' && header !== '' ? header : undefined;
    let body: unknown;
    let malformed = false;
    if (rawBody !== '') {
      try {
        body = JSON.parse(rawBody);
      } catch {
        malformed = true;
      }
    }
    this.calls.push({
      method,
      path,
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
      ...(body !== undefined ? { body } : {}),
    });

    const route = `${method} ${path}`;
    const failures = [...this.failNext.entries()].find(([prefix, n]) => route.startsWith(prefix) && n > 0);
    if (failures) {
      this.failNext.set(failures[0], failures[1] - 1);
      return problem(503, 'unavailable', 'sandbox outage');
    }
    if (this.credential && !authorized(this.credential, req.headers)) {
      return problem(
        401,
        'unauthorized',
        'vendor requires a credential; the request had none or a wrong one',
      );
    }
    const match = matchRoute(this.compiled, method, path);
    if (match.kind === 'none') return problem(404, 'not_found', `no route ${route}`);
    if (match.kind === 'wrong-method') {
      return {
        ...problem(405, 'method_not_allowed', `${path} allows ${match.allowed.join(', ')}`),
        headers: { allow: match.allowed.join(', ') },
      };
    }
    if (malformed) return problem(400, 'invalid_json', `${route}: the body is not valid JSON`);
    const request: SandboxRequest = {
      method,
      path,
      params: match.params,
      query: url.searchParams,
      headers: req.headers,
      contentType: 'application/json',
      rawBody,
      body,
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
    };
    try {
      return match.route.handle(request);
    } catch (error) {
      if (error instanceof Refusal) return error.response;
      throw error;
    }
  }
}
