import type { CreditSegment, Facility, PartnerSandbox } from './sandbox.ts';

/** Customers of the article's distributor, with credit positions that exercise every credit branch. */
export const SEED_CUSTOMERS: Readonly<Record<string, CreditSegment>> = {
  'C-1001': credit('50000.00', '12000.00', '3000.00'),
  'C-2002': credit('250000.00', '90000.00', '40000.00'),
  // Near its limit: a normal order goes to finance.
  'C-3003': credit('15000.00', '13500.00', '1200.00'),
  'C-4004': { ...credit('20000.00', '4000.00', '0.00'), OverdueAmount: '2400.00', OldestOverdueDays: 47 },
  'C-5005': { ...credit('10000.00', '0.00', '0.00'), AccountClosed: true },
};

function credit(limit: string, receivables: string, openOrders: string): CreditSegment {
  return {
    CreditLimitAmount: limit,
    ReceivablesAmount: receivables,
    OpenOrdersAmount: openOrders,
    OverdueAmount: '0.00',
    OldestOverdueDays: 0,
    CreditBlocked: false,
    AccountClosed: false,
    PaymentTerms: 'NET30',
  };
}

function facility(code: string, rank: number, cutoff: number, stock: Record<string, number>): Facility {
  return {
    facilityCode: code,
    distanceRank: rank,
    freightCost: 12 * rank,
    carrierCutoffHourUtc: cutoff,
    transitDays: { economy: 5, standard: 3, expedited: 2, 'next-day': 1 },
    inventory: Object.entries(stock).map(([itemCode, onHand]) => ({
      itemCode,
      onHand,
      committed: Math.floor(onHand / 10),
      safetyStock: Math.floor(onHand / 20),
    })),
  };
}

/** Three distribution centres with stock of the catalogue's items; one item is short everywhere. */
export const SEED_FACILITIES: readonly Facility[] = [
  facility('DC-EAST', 1, 17, { 'WIDGET-100': 1200, 'BOLT-M8': 40000, 'PUMP-220': 35, 'VALVE-3IN': 6 }),
  facility('DC-CENTRAL', 2, 18, { 'WIDGET-100': 800, 'BOLT-M8': 25000, 'PUMP-220': 60, 'VALVE-3IN': 4 }),
  facility('DC-WEST', 3, 20, { 'WIDGET-100': 300, 'BOLT-M8': 9000, 'PUMP-220': 12 }),
];

export function seedSandbox(sandbox: PartnerSandbox): void {
  for (const [id, segment] of Object.entries(SEED_CUSTOMERS)) sandbox.credit.set(id, segment);
  sandbox.facilities = SEED_FACILITIES.map((f) => ({ ...f, inventory: f.inventory.map((i) => ({ ...i })) }));
}
