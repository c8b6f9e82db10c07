import type { CatalogueItem, CreditSegment, CustomerSubstitute } from '../local/partners/erp.ts';
import { SEED_CATALOGUE, SEED_FACILITIES, substitute } from '../local/partners/seed.ts';
import type { Facility } from '../local/partners/wms.ts';
import { type Random, random, subSeed } from './random.ts';

/**
 * The article's distributor for one simulated week: its customers and their credit, its three distribution
 * centres and their stock, the orders that arrive (when, through which channel, what they ask for) and the
 * inbound receipts that refill short items. Pure and seeded: the same options give the same week.
 */
export interface WorkloadOptions {
  readonly orders: number;
  /** @default 7 */
  readonly days?: number;
  readonly seed: number;
  /** Midnight UTC of the first simulated day (a Monday reads best). */
  readonly start: Date;
  /** Extra arrivals at `factor` × the mean rate for `minutes` from `at` (the burst fault). */
  readonly burst?: { readonly at: number; readonly minutes: number; readonly factor: number };
}

export type ChannelName = 'wholesale' | 'retail-replenishment' | 'direct-to-customer';

export interface SimCustomer {
  readonly id: string;
  readonly name: string;
  readonly channel: ChannelName;
  readonly group: 'STD' | 'PREF' | 'KEY';
  readonly segment: 'ENT' | 'MID' | 'SMB' | 'B2C';
  readonly credit: CreditSegment;
  readonly email: string | null;
  /** Relative order frequency. */
  readonly weight: number;
  /** The customer's substitution records in the ERP (trade accounts only). */
  readonly substitutes?: readonly CustomerSubstitute[];
}

/** A retail chain that orders by X12 850 through the EDI gateway. */
export interface EdiChain {
  readonly customerId: string;
  readonly name: string;
  readonly interchangeId: string;
  /** Mailbox drops per day, hours UTC. */
  readonly dropHoursUtc: readonly number[];
}

export interface OrderLine {
  readonly sku: string;
  readonly quantity: number;
  readonly unitPrice: string;
  readonly unitCost: string;
  readonly dropShip: boolean;
}

export interface Arrival {
  /** Epoch ms (virtual). */
  readonly at: number;
  /** The canonical order id Handoff will give it. */
  readonly orderId: string;
  readonly channel: ChannelName;
  readonly customerId: string;
  /** ERP sales order number, or the chain's PO number for EDI. */
  readonly reference: string;
  readonly serviceLevel: 'economy' | 'standard' | 'expedited' | 'next-day';
  readonly shipComplete: boolean;
  readonly requestedDeliveryDays: number;
  readonly lines: readonly OrderLine[];
  /** Where it ships: the customer's delivery address. */
  readonly shipTo: ShipToPlace;
  /** An address error in the order as the ERP sends it: this postal code instead of the right one. */
  readonly addressError?: { readonly kind: 'leading-zero' | 'other-address'; readonly postalCode: string };
}

export interface ShipToPlace {
  readonly city: string;
  readonly region: string;
  readonly postalCode: string;
}

export interface Receipt {
  readonly at: number;
  readonly facility: string;
  readonly sku: string;
  readonly quantity: number;
}

export interface Workload {
  readonly start: number;
  readonly end: number;
  readonly customers: readonly SimCustomer[];
  readonly chains: readonly EdiChain[];
  readonly catalogue: readonly CatalogueItem[];
  readonly facilities: readonly Facility[];
  readonly arrivals: readonly Arrival[];
  readonly receipts: readonly Receipt[];
  /** SKUs stocked below the week's demand, refilled by receipts mid-week. */
  readonly shortSkus: readonly string[];
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Share of the week's orders by channel (wholesale by ERP, retail replenishment by EDI, DTC by ERP). */
const CHANNEL_MIX: readonly (readonly [ChannelName, number])[] = [
  ['wholesale', 0.55],
  ['retail-replenishment', 0.15],
  ['direct-to-customer', 0.3],
];

/** Day-of-week factors (0 = Monday): Monday is the peak day (the weekend's backlog plus a promotion). */
const WEEKDAY: Record<ChannelName, readonly number[]> = {
  wholesale: [1.6, 1.15, 1.0, 1.0, 0.85, 0.1, 0.05],
  'retail-replenishment': [1.5, 1.0, 1.0, 1.0, 1.0, 0.3, 0],
  'direct-to-customer': [1.6, 0.9, 0.9, 0.9, 1.0, 1.2, 1.3],
};

/** Hour-of-day shape (UTC; the distributor works US Eastern hours, 13:00–22:00 UTC). */
function hourShape(channel: ChannelName, hour: number): number {
  if (channel === 'wholesale') {
    if (hour >= 13 && hour < 22) return hour === 14 || hour === 15 || hour === 19 ? 1.6 : 1.0;
    return hour >= 11 && hour < 24 ? 0.25 : 0.03;
  }
  // Consumers shop through the evening (23:00–04:00 UTC) with a lunchtime bump.
  if (hour >= 23 || hour < 4) return 1.5;
  if (hour >= 16 && hour < 19) return 1.0;
  if (hour >= 11 && hour < 23) return 0.6;
  return 0.15;
}

/** How often each item appears on a line, by channel. */
const POPULARITY: Record<ChannelName, Readonly<Record<string, number>>> = {
  wholesale: {
    'BOLT-M8': 14,
    'BOLT-M12': 10,
    'NUT-M8': 12,
    'WASHER-M8': 10,
    'ANCHOR-12': 6,
    'WIDGET-100': 9,
    'PUMP-220': 2,
    'PUMP-550': 0.4,
    'VALVE-3IN': 1.5,
    'VALVE-BALL-1IN': 5,
    'VALVE-BFY-8IN': 0.6,
    'VALVE-CHK-2IN': 2.5,
    'BOX-CARTON-L': 5,
    'STRETCH-FILM-18': 3,
    'TAPE-48MM': 5,
    'PALLET-48X40': 1,
    'SEALANT-THREAD': 3,
    'LUBE-AEROSOL': 2,
    'CLEANER-PVC': 1,
    'PUMP-SUB-75': 0.15,
    'TANK-PRESS-80': 0.1,
  },
  'retail-replenishment': {
    'VALVE-BALL-1IN': 10,
    'TAPE-48MM': 8,
    'WIDGET-100': 6,
    'SEALANT-THREAD': 5,
    'LUBE-AEROSOL': 4,
    'BOLT-M8': 6,
    'NUT-M8': 5,
    'WASHER-M8': 5,
    'VALVE-CHK-2IN': 3,
    'BOX-CARTON-L': 2,
  },
  'direct-to-customer': {
    'WIDGET-100': 8,
    'VALVE-BALL-1IN': 7,
    'SEALANT-THREAD': 5,
    'LUBE-AEROSOL': 5,
    'TAPE-48MM': 4,
    'PUMP-220': 1.5,
    'VALVE-CHK-2IN': 2,
    'VALVE-3IN': 0.5,
    'PUMP-SUB-75': 0.2,
  },
};

/** Units per line by product group: [min, max] for trade buyers; consumers buy one to four. */
const QUANTITY: Record<CatalogueItem['ProductGroup'], readonly [number, number]> = {
  FASTENERS: [100, 2000],
  HARDWARE: [5, 60],
  PUMPS: [1, 4],
  VALVES: [2, 24],
  PACKAGING: [10, 200],
  CHEMICALS: [6, 48],
};

const EDI_CHAINS: readonly EdiChain[] = [
  {
    customerId: 'C-7007',
    name: 'Lakeshore Home Centers',
    interchangeId: 'LAKESHOREHC',
    dropHoursUtc: [6, 18],
  },
  { customerId: 'C-7101', name: 'Prairie Supply Stores', interchangeId: 'PRAIRIESUP', dropHoursUtc: [5, 17] },
  { customerId: 'C-7202', name: 'Harbor Hardware Group', interchangeId: 'HARBORHWG', dropHoursUtc: [7] },
  { customerId: 'C-7303', name: 'Summit Farm & Home', interchangeId: 'SUMMITFH', dropHoursUtc: [4, 12, 20] },
];

/** Delivery addresses: customers' docks and consumers' homes, spread over the distributor's regions. */
const SHIP_TO_PLACES: readonly ShipToPlace[] = [
  { city: 'Columbus', region: 'OH', postalCode: '43215' },
  { city: 'Boston', region: 'MA', postalCode: '02134' },
  { city: 'Hartford', region: 'CT', postalCode: '06103' },
  { city: 'Newark', region: 'NJ', postalCode: '07102' },
  { city: 'Atlanta', region: 'GA', postalCode: '30303' },
  { city: 'Chicago', region: 'IL', postalCode: '60601' },
  { city: 'Dallas', region: 'TX', postalCode: '75201' },
  { city: 'Denver', region: 'CO', postalCode: '80202' },
  { city: 'Portland', region: 'ME', postalCode: '04101' },
  { city: 'Memphis', region: 'TN', postalCode: '38103' },
  { city: 'Milwaukee', region: 'WI', postalCode: '53202' },
  { city: 'Phoenix', region: 'AZ', postalCode: '85004' },
];

/** Orders whose address the ERP sends wrong, by channel: consumers type their own, trade accounts rarely err. */
const ADDRESS_ERROR_RATE: Record<ChannelName, number> = {
  wholesale: 0.002,
  'retail-replenishment': 0,
  'direct-to-customer': 0.01,
};

/**
 * The customer's delivery address, and now and then the error it is sent with: a ZIP whose leading zero a
 * spreadsheet dropped (New England and New Jersey ZIPs start with 0), else the postal code of another
 * address, pasted from the previous order.
 */
function addressOf(
  customer: SimCustomer,
  channel: ChannelName,
  rng: Random,
): Pick<Arrival, 'shipTo' | 'addressError'> {
  let sum = 0;
  for (const char of customer.id) sum = (sum * 31 + char.charCodeAt(0)) % 1_000_003;
  const index = sum % SHIP_TO_PLACES.length;
  const shipTo = SHIP_TO_PLACES[index] as ShipToPlace;
  if (!rng.chance(ADDRESS_ERROR_RATE[channel])) return { shipTo };
  if (shipTo.postalCode.startsWith('0'))
    return { shipTo, addressError: { kind: 'leading-zero', postalCode: shipTo.postalCode.slice(1) } };
  const other = SHIP_TO_PLACES[(index + 1) % SHIP_TO_PLACES.length] as ShipToPlace;
  return { shipTo, addressError: { kind: 'other-address', postalCode: other.postalCode } };
}

/** Short items: stocked at about half the week's demand, refilled by two receipts. */
const SHORT_SKUS = ['VALVE-3IN', 'VALVE-BFY-8IN', 'PUMP-550'] as const;

/** What trade accounts accept in place of a short item; the 5.5 kW pump has no substitute. */
const SUBSTITUTE_FOR: Readonly<Record<string, string>> = {
  'VALVE-3IN-RS': 'VALVE-3IN',
  'VALVE-BFY-8IN-W': 'VALVE-BFY-8IN',
};

/**
 * Trade accounts' substitution records: 60 % take the resilient-wedge gate valve (one in six of them only
 * after confirming each time), half the wafer butterfly valve, and one in ten once listed a smaller pump for
 * the 5.5 kW one and withdrew it. Consumers have none. Its own random stream: no other draw of the week moves.
 */
function withSubstitutes(customers: readonly SimCustomer[], rng: Random): SimCustomer[] {
  return customers.map((customer) => {
    if (customer.channel !== 'wholesale') return customer;
    const list: CustomerSubstitute[] = [];
    if (rng.chance(0.6))
      list.push(substitute('VALVE-3IN', 'VALVE-3IN-RS', { RequiresApproval: rng.chance(1 / 6) }));
    if (rng.chance(0.5)) list.push(substitute('VALVE-BFY-8IN', 'VALVE-BFY-8IN-W'));
    if (rng.chance(0.1)) list.push(substitute('PUMP-550', 'PUMP-220', { CustomerApproved: false }));
    return list.length > 0 ? { ...customer, substitutes: list } : customer;
  });
}

export function buildWorkload(options: WorkloadOptions): Workload {
  const days = options.days ?? 7;
  const start = options.start.getTime();
  const end = start + days * DAY;
  const rngCustomers = random(subSeed(options.seed, 'customers'));
  const customers = withSubstitutes(
    buildCustomers(rngCustomers, options.orders),
    random(subSeed(options.seed, 'substitutes')),
  );
  const byChannel = new Map<ChannelName, SimCustomer[]>();
  for (const c of customers) byChannel.set(c.channel, [...(byChannel.get(c.channel) ?? []), c]);

  const rng = random(subSeed(options.seed, 'arrivals'));
  const catalogue = new Map(SEED_CATALOGUE.map((item) => [item.Material, item]));
  const counters = { erp: 0, edi: 0 };
  // Its own stream: address errors do not move any other draw of the week.
  const rngAddresses = random(subSeed(options.seed, 'addresses'));
  const arrivals: Arrival[] = [];
  for (const [channel, share] of CHANNEL_MIX) {
    const count = Math.round(options.orders * share);
    const instants = arrivalInstants(rng, channel, count, start, days, options.burst);
    const pool = byChannel.get(channel) ?? [];
    const cumulative = cumulativeWeights(pool.map((c) => c.weight));
    for (const at of instants) {
      const customer = pool[pickIndex(cumulative, rng.next())] as SimCustomer;
      arrivals.push({
        ...arrivalFor(rng, channel, customer, at, catalogue, counters),
        ...addressOf(customer, channel, rngAddresses),
      });
    }
  }
  arrivals.sort((a, b) => a.at - b.at || a.orderId.localeCompare(b.orderId));

  const { facilities, receipts } = stockFor(
    arrivals,
    catalogue,
    start,
    random(subSeed(options.seed, 'stock')),
  );
  return {
    start,
    end,
    customers,
    chains: EDI_CHAINS,
    catalogue: SEED_CATALOGUE,
    facilities,
    arrivals,
    receipts,
    shortSkus: SHORT_SKUS,
  };
}

/**
 * Wholesale accounts (about one per 30 orders of the week), the retail chains and a pool of consumers.
 * Credit limits are sized to each account's weekly spend, so holds come from exposure growing with the
 * week's invoices as well as from the accounts that start near their limit, overdue or closed.
 */
function buildCustomers(rng: Random, orders: number): SimCustomer[] {
  const customers: SimCustomer[] = [];
  const wholesale = Math.max(20, Math.round(orders / 30));
  for (let i = 0; i < wholesale; i++) {
    const id = `C-${String(10_001 + i)}`;
    const segment = rng.weighted<SimCustomer['segment']>([
      ['ENT', 0.1],
      ['MID', 0.4],
      ['SMB', 0.5],
    ]);
    const group = rng.weighted<SimCustomer['group']>([
      ['KEY', segment === 'ENT' ? 0.4 : 0.03],
      ['PREF', 0.15],
      ['STD', 0.8],
    ]);
    const weight =
      segment === 'ENT' ? rng.between(3, 8) : segment === 'MID' ? rng.between(1, 3) : rng.between(0.3, 1);
    // Weekly spend of about weight × 5 orders × $900; limits cover two to eight weeks of it.
    const weekly = weight * 5 * 900;
    const limit = Math.round(weekly * rng.between(2, 8));
    const state = rng.weighted<'healthy' | 'near-limit' | 'overdue' | 'closed'>([
      ['healthy', 0.93],
      ['near-limit', 0.04],
      ['overdue', 0.025],
      ['closed', 0.005],
    ]);
    const receivables =
      state === 'near-limit' ? limit * rng.between(0.93, 0.99) : limit * rng.between(0.2, 0.7);
    customers.push({
      id,
      name: `Wholesale account ${i + 1}`,
      channel: 'wholesale',
      group,
      segment,
      weight,
      email: rng.chance(0.97) ? `purchasing@${id.toLowerCase()}.example` : null,
      credit: {
        CreditLimitAmount: money(limit),
        ReceivablesAmount: money(receivables),
        OpenOrdersAmount: money(limit * rng.between(0, 0.05)),
        OverdueAmount: state === 'overdue' ? money(limit * rng.between(0.05, 0.2)) : '0.00',
        OldestOverdueDays: state === 'overdue' ? rng.int(35, 90) : 0,
        CreditBlocked: false,
        AccountClosed: state === 'closed',
        PaymentTerms: rng.pick(['NET30', 'NET30', 'NET45', 'NET60']),
      },
    });
  }
  for (const chain of EDI_CHAINS) {
    customers.push({
      id: chain.customerId,
      name: chain.name,
      channel: 'retail-replenishment',
      group: 'KEY',
      segment: 'ENT',
      weight: 1,
      email: null,
      credit: {
        CreditLimitAmount: money(orders * 400),
        ReceivablesAmount: money(orders * 60),
        OpenOrdersAmount: '0.00',
        OverdueAmount: '0.00',
        OldestOverdueDays: 0,
        CreditBlocked: false,
        AccountClosed: false,
        PaymentTerms: 'NET45',
      },
    });
  }
  const consumers = Math.max(50, Math.round(orders / 5));
  for (let i = 0; i < consumers; i++) {
    const id = `D-${String(500_001 + i)}`;
    customers.push({
      id,
      name: `Consumer ${i + 1}`,
      channel: 'direct-to-customer',
      group: 'STD',
      segment: 'B2C',
      weight: 1,
      email: `buyer${i + 1}@mail.example`,
      credit: {
        // Card payments: the storefront's authorisation is the credit line.
        CreditLimitAmount: '25000.00',
        ReceivablesAmount: '0.00',
        OpenOrdersAmount: '0.00',
        OverdueAmount: '0.00',
        OldestOverdueDays: 0,
        CreditBlocked: false,
        AccountClosed: false,
        PaymentTerms: 'PREPAID',
      },
    });
  }
  return customers;
}

/** `count` instants over the week, drawn from the channel's hour-by-hour intensity. */
function arrivalInstants(
  rng: Random,
  channel: ChannelName,
  count: number,
  start: number,
  days: number,
  burst: WorkloadOptions['burst'],
): number[] {
  // Slots of an hour (EDI: the chains' mailbox drops, a few minutes wide).
  const slots: { at: number; width: number; weight: number }[] = [];
  for (let day = 0; day < days; day++) {
    const factor = WEEKDAY[channel][(new Date(start + day * DAY).getUTCDay() + 6) % 7] ?? 1;
    if (channel === 'retail-replenishment') {
      for (const chain of EDI_CHAINS) {
        for (const hour of chain.dropHoursUtc) {
          slots.push({ at: start + day * DAY + hour * HOUR, width: 10 * 60_000, weight: factor });
        }
      }
      continue;
    }
    for (let hour = 0; hour < 24; hour++) {
      slots.push({
        at: start + day * DAY + hour * HOUR,
        width: HOUR,
        weight: factor * hourShape(channel, hour),
      });
    }
  }
  let instants: number[] = [];
  const cumulative = cumulativeWeights(slots.map((s) => s.weight));
  for (let i = 0; i < count; i++) {
    const slot = slots[pickIndex(cumulative, rng.next())] as (typeof slots)[number];
    instants.push(Math.floor(slot.at + rng.next() * slot.width));
  }
  if (burst && channel !== 'retail-replenishment') {
    // From nothing to factor × the mean rate: the window is emptied, then filled at the burst rate.
    const from = burst.at;
    const to = burst.at + burst.minutes * 60_000;
    const meanPerMs = count / (days * DAY);
    const extra = Math.round(meanPerMs * burst.factor * (to - from));
    instants = instants.filter((t) => t < from || t >= to);
    for (let i = 0; i < extra; i++) instants.push(Math.floor(from + rng.next() * (to - from)));
  }
  return instants;
}

function arrivalFor(
  rng: Random,
  channel: ChannelName,
  customer: SimCustomer,
  at: number,
  catalogue: ReadonlyMap<string, CatalogueItem>,
  counters: { erp: number; edi: number },
): Omit<Arrival, 'shipTo' | 'addressError'> {
  const lineCount =
    channel === 'direct-to-customer'
      ? rng.weighted([
          [1, 0.7],
          [2, 0.22],
          [3, 0.08],
        ])
      : channel === 'retail-replenishment'
        ? rng.int(3, 10)
        : Math.min(12, 1 + Math.floor(Math.log(1 - rng.next()) / Math.log(0.7)));
  const popularity = Object.entries(POPULARITY[channel]);
  const lines: OrderLine[] = [];
  const used = new Set<string>();
  for (let i = 0; i < lineCount; i++) {
    const sku = rng.weighted(popularity);
    if (used.has(sku)) continue;
    used.add(sku);
    const item = catalogue.get(sku) as CatalogueItem;
    const [min, max] = channel === 'direct-to-customer' ? [1, 4] : QUANTITY[item.ProductGroup];
    // Trade buyers order in round numbers.
    const raw = rng.int(min, max);
    const quantity = raw >= 100 ? Math.round(raw / 50) * 50 : raw >= 20 ? Math.round(raw / 5) * 5 : raw;
    const discount = channel === 'direct-to-customer' ? 1 : customer.segment === 'ENT' ? 0.88 : 0.95;
    lines.push({
      sku,
      quantity,
      unitPrice: money(Number(item.ListPrice) * discount),
      unitCost: item.StandardCost,
      dropShip: item.SupplyType === 'DROPSHIP',
    });
  }
  // A drop-shipped item travels on its own order, as the ERP splits it.
  const dropShip = lines.filter((l) => l.dropShip);
  const orderLines = dropShip.length && dropShip.length < lines.length ? dropShip.slice(0, 1) : lines;
  const serviceLevel =
    channel === 'retail-replenishment'
      ? 'standard'
      : rng.weighted<Arrival['serviceLevel']>(
          channel === 'direct-to-customer'
            ? [
                ['standard', 0.7],
                ['expedited', 0.2],
                ['next-day', 0.1],
              ]
            : [
                ['standard', 0.78],
                ['expedited', 0.1],
                ['next-day', 0.05],
                ['economy', 0.07],
              ],
        );
  const isEdi = channel === 'retail-replenishment';
  const n = isEdi ? ++counters.edi : ++counters.erp;
  const reference = isEdi ? `PO${String(400_000 + n)}` : `SO${String(7_000_000 + n)}`;
  return {
    at,
    orderId: isEdi ? `EDI-${customer.id}-${reference}` : `ERP-${reference}`,
    channel,
    customerId: customer.id,
    reference,
    serviceLevel,
    shipComplete: channel === 'wholesale' && rng.chance(0.15),
    // Most want it in days; a few order ahead for a job three weeks out.
    requestedDeliveryDays: rng.chance(0.04)
      ? rng.int(18, 24)
      : serviceLevel === 'next-day'
        ? 1
        : rng.int(2, 7),
    lines: orderLines,
  };
}

/**
 * Stock at each centre from the week's demand: most items cover it 1.4 times over, split 50/30/20 by the
 * centres' distance rank; short items start at about half their demand and get two receipts (Wednesday and
 * Friday mornings) at the nearest centre that stocks them.
 */
function stockFor(
  arrivals: readonly Arrival[],
  catalogue: ReadonlyMap<string, CatalogueItem>,
  start: number,
  rng: Random,
): { facilities: Facility[]; receipts: Receipt[] } {
  const demand = new Map<string, number>();
  for (const a of arrivals)
    for (const line of a.lines)
      if (!line.dropShip) demand.set(line.sku, (demand.get(line.sku) ?? 0) + line.quantity);
  const shares = [0.5, 0.3, 0.2];
  const receipts: Receipt[] = [];
  const facilities = SEED_FACILITIES.map((facility, index): Facility => {
    const stocked = new Set(facility.inventory.map((row) => row.itemCode));
    return {
      ...facility,
      inventory: [...stocked].map((itemCode) => {
        // A substitute is stocked for about a third of the demand for the item it stands in for.
        const original = SUBSTITUTE_FOR[itemCode];
        const weekly = original ? (demand.get(original) ?? 0) * 0.35 : (demand.get(itemCode) ?? 0);
        const short = (SHORT_SKUS as readonly string[]).includes(itemCode);
        const cover = short ? rng.between(0.4, 0.6) : rng.between(1.3, 1.6);
        const onHand = Math.max(
          catalogue.get(itemCode)?.ProductGroup === 'PUMPS' ? 4 : 20,
          Math.ceil(weekly * cover * (shares[index] ?? 0.2)),
        );
        return { itemCode, onHand, committed: 0, safetyStock: Math.floor(onHand / 40) };
      }),
    };
  });
  for (const sku of SHORT_SKUS) {
    const at = facilities.find((f) => f.inventory.some((row) => row.itemCode === sku));
    if (!at) continue;
    const weekly = demand.get(sku) ?? 0;
    for (const day of [2, 4]) {
      receipts.push({
        at: start + day * DAY + 14 * HOUR,
        facility: at.facilityCode,
        sku,
        quantity: Math.max(5, Math.ceil(weekly * 0.35)),
      });
    }
  }
  return { facilities, receipts };
}

function cumulativeWeights(weights: readonly number[]): number[] {
  const out: number[] = [];
  let sum = 0;
  for (const w of weights) {
    sum += w;
    out.push(sum);
  }
  return out.map((c) => c / (sum || 1));
}

function pickIndex(cumulative: readonly number[], u: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((cumulative[mid] ?? 1) > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function money(value: number): string {
  return (Math.round(value * 100) / 100).toFixed(2);
}
