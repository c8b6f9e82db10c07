import type { CrmAccount } from './crm.ts';
import { x12Interchange } from './edi.ts';
import type { CatalogueItem, CreditSegment, CustomerSubstitute, HazmatData } from './erp.ts';
import type { FinanceAccount } from './finance.ts';
import type { PartnerSandbox } from './sandbox.ts';
import type { Carrier } from './tms.ts';
import { seedVendors } from './vendor.ts';
import type { Facility } from './wms.ts';

/**
 * Reference data of the article's distributor: a multi-site distributor of fasteners, pumps, valves and
 * packaging selling wholesale, to retail chains over EDI and direct to customers.
 */

/** Customers of the article's distributor, with credit positions that exercise every credit branch. */
export const SEED_CUSTOMERS: Readonly<Record<string, CreditSegment>> = {
  'C-1001': credit('50000.00', '12000.00', '3000.00'),
  'C-2002': credit('250000.00', '90000.00', '40000.00'),
  // Near its limit: a normal order goes to finance.
  'C-3003': credit('15000.00', '13500.00', '1200.00'),
  'C-4004': { ...credit('20000.00', '4000.00', '0.00'), OverdueAmount: '2400.00', OldestOverdueDays: 47 },
  'C-5005': { ...credit('10000.00', '0.00', '0.00'), AccountClosed: true },
  // Buys drop-shipped well pumps; on a finance hold after a returned payment.
  'C-6006': credit('30000.00', '8000.00', '2500.00'),
  // A retail chain ordering by EDI 850.
  'C-7007': { ...credit('400000.00', '120000.00', '60000.00'), PaymentTerms: 'NET45' },
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

const hazmat = (UNNumber: string, HazardClass: string, PackingGroup: HazmatData['PackingGroup']) => ({
  UNNumber,
  HazardClass,
  PackingGroup,
});

function item(
  Material: string,
  Description: string,
  ProductGroup: CatalogueItem['ProductGroup'],
  StandardCost: string,
  ListPrice: string,
  GrossWeightKg: number,
  [LengthCm, WidthCm, HeightCm]: readonly [number, number, number],
  extra: Partial<CatalogueItem> = {},
): CatalogueItem {
  return {
    Material,
    Description,
    ProductGroup,
    BaseUnit: 'EA',
    StandardCost,
    ListPrice,
    Currency: 'USD',
    GrossWeightKg,
    LengthCm,
    WidthCm,
    HeightCm,
    Hazmat: null,
    Oversize: false,
    SupplyType: 'STOCK',
    Vendor: null,
    VendorLeadTimeDays: null,
    ...extra,
  };
}

const dropShip = (Vendor: string, VendorLeadTimeDays: number) =>
  ({ SupplyType: 'DROPSHIP', Vendor, VendorLeadTimeDays }) as const;

/** The ERP item master: 23 SKUs, 3 hazmat, 4 oversize, 2 drop-shipped from a vendor. */
export const SEED_CATALOGUE: readonly CatalogueItem[] = [
  item('BOLT-M8', 'Hex bolt M8x40, zinc, grade 8.8', 'FASTENERS', '0.15', '0.42', 0.03, [5, 1, 1]),
  item('BOLT-M12', 'Hex bolt M12x60, zinc, grade 8.8', 'FASTENERS', '0.38', '0.95', 0.07, [7, 2, 2]),
  item('NUT-M8', 'Hex nut M8, zinc', 'FASTENERS', '0.04', '0.12', 0.005, [1, 1, 1]),
  item('WASHER-M8', 'Flat washer M8, zinc', 'FASTENERS', '0.02', '0.06', 0.002, [2, 2, 1]),
  item('ANCHOR-12', 'Wedge anchor 1/2 x 4-1/4 in, stainless', 'FASTENERS', '0.85', '2.10', 0.12, [11, 2, 2]),
  item('WIDGET-100', 'Adjustable pipe hanger bracket', 'HARDWARE', '8.10', '12.50', 0.4, [18, 8, 4]),
  item('PUMP-220', 'Centrifugal pump 2.2 kW, cast iron', 'PUMPS', '228.00', '310.00', 38, [60, 35, 40]),
  item(
    'PUMP-550',
    'End-suction pump 5.5 kW on baseplate',
    'PUMPS',
    '1420.00',
    '1895.00',
    118,
    [120, 55, 60],
    {
      Oversize: true,
    },
  ),
  item('PUMP-SUB-75', 'Submersible well pump 7.5 kW', 'PUMPS', '1850.00', '2480.00', 62, [160, 20, 20], {
    Oversize: true,
    ...dropShip('V-AQUADRIVE', 5),
  }),
  item('TANK-PRESS-80', 'Pressure tank 80 gal, vertical', 'PUMPS', '610.00', '845.00', 48, [180, 66, 66], {
    Oversize: true,
    ...dropShip('V-TANKWORKS', 7),
  }),
  item('VALVE-3IN', 'Gate valve 3 in, flanged, ductile iron', 'VALVES', '121.00', '185.00', 19, [30, 20, 38]),
  // The resilient-wedge 3-in gate valve and the wafer 8-in butterfly valve stand in for the short flanged and
  // lug-style ones on customers' substitution lists.
  item(
    'VALVE-3IN-RS',
    'Gate valve 3 in, resilient wedge, flanged, ductile iron',
    'VALVES',
    '124.00',
    '199.00',
    20,
    [31, 20, 40],
  ),
  item(
    'VALVE-BFY-8IN-W',
    'Butterfly valve 8 in, wafer style, EPDM seat',
    'VALVES',
    '238.00',
    '362.00',
    18,
    [45, 45, 16],
  ),
  item('VALVE-BALL-1IN', 'Ball valve 1 in, brass, full port', 'VALVES', '14.20', '24.90', 0.6, [10, 6, 8]),
  item(
    'VALVE-BFY-8IN',
    'Butterfly valve 8 in, lug style, EPDM seat',
    'VALVES',
    '265.00',
    '389.00',
    22,
    [45, 45, 25],
  ),
  item('VALVE-CHK-2IN', 'Swing check valve 2 in, bronze', 'VALVES', '48.00', '79.50', 3.1, [16, 10, 11]),
  item(
    'BOX-CARTON-L',
    'Corrugated carton 24x18x18 in, 200# test',
    'PACKAGING',
    '1.05',
    '2.20',
    0.9,
    [61, 46, 2],
  ),
  item(
    'STRETCH-FILM-18',
    'Stretch film 18 in x 1500 ft, 80 gauge',
    'PACKAGING',
    '14.50',
    '24.00',
    2.2,
    [46, 10, 10],
  ),
  item('TAPE-48MM', 'Carton sealing tape 48 mm x 100 m', 'PACKAGING', '1.10', '2.40', 0.25, [10, 10, 5]),
  item('PALLET-48X40', 'GMA wood pallet 48x40 in', 'PACKAGING', '9.80', '16.50', 22, [122, 102, 15], {
    Oversize: true,
  }),
  item('SEALANT-THREAD', 'Thread sealant with PTFE, 250 ml', 'CHEMICALS', '4.20', '8.90', 0.3, [6, 6, 15], {
    Hazmat: hazmat('UN1133', '3', 'III'),
  }),
  item(
    'LUBE-AEROSOL',
    'Penetrating lubricant aerosol, 400 ml',
    'CHEMICALS',
    '3.10',
    '6.75',
    0.45,
    [7, 7, 22],
    {
      Hazmat: hazmat('UN1950', '2.1', null),
    },
  ),
  item('CLEANER-PVC', 'PVC primer, purple, 473 ml', 'CHEMICALS', '5.40', '11.20', 0.55, [8, 8, 16], {
    Hazmat: hazmat('UN1993', '3', 'II'),
  }),
];

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

/**
 * Three distribution centres with stock of the stocked catalogue items (drop-ship items have none); VALVE-3IN
 * is short everywhere (its resilient-wedge substitute is not), only DC-CENTRAL has the hazmat cage for the PVC
 * primer and stocks 8-in valves.
 */
export const SEED_FACILITIES: readonly Facility[] = [
  facility('DC-EAST', 1, 17, {
    'WIDGET-100': 1200,
    'BOLT-M8': 40000,
    'PUMP-220': 35,
    'VALVE-3IN': 6,
    'VALVE-3IN-RS': 30,
    'BOLT-M12': 18000,
    'NUT-M8': 60000,
    'WASHER-M8': 80000,
    'ANCHOR-12': 4000,
    'PUMP-550': 8,
    'VALVE-BALL-1IN': 240,
    'VALVE-CHK-2IN': 90,
    'BOX-CARTON-L': 3000,
    'STRETCH-FILM-18': 400,
    'TAPE-48MM': 2500,
    'SEALANT-THREAD': 900,
    'LUBE-AEROSOL': 600,
  }),
  facility('DC-CENTRAL', 2, 18, {
    'WIDGET-100': 800,
    'BOLT-M8': 25000,
    'PUMP-220': 60,
    'VALVE-3IN': 4,
    'BOLT-M12': 12000,
    'NUT-M8': 40000,
    'WASHER-M8': 50000,
    'ANCHOR-12': 2500,
    'PUMP-550': 5,
    'VALVE-BALL-1IN': 180,
    'VALVE-BFY-8IN': 14,
    'VALVE-BFY-8IN-W': 16,
    'VALVE-CHK-2IN': 60,
    'BOX-CARTON-L': 2000,
    'STRETCH-FILM-18': 300,
    'PALLET-48X40': 350,
    'SEALANT-THREAD': 700,
    'CLEANER-PVC': 500,
  }),
  facility('DC-WEST', 3, 20, {
    'WIDGET-100': 300,
    'BOLT-M8': 9000,
    'PUMP-220': 12,
    'BOLT-M12': 5000,
    'NUT-M8': 15000,
    'WASHER-M8': 20000,
    'VALVE-BALL-1IN': 60,
    'BOX-CARTON-L': 900,
    'TAPE-48MM': 1200,
    'PALLET-48X40': 120,
  }),
];

const parcel = { mode: 'PARCEL', maxPieceWeightKg: 68, maxPieceLengthCm: 150 } as const;
const freight = { mode: 'LTL', maxPieceWeightKg: 1000, maxPieceLengthCm: 610 } as const;
const punctual = { behaviour: 'on-time', lateByHours: 48 } as const;

/** The TMS's carriers: a premium next-day parcel carrier, a ground parcel carrier, an LTL carrier and a hazmat-capable LTL carrier. */
export const SEED_CARRIERS: readonly Carrier[] = [
  {
    scac: 'FXNX',
    name: 'Falcon Express',
    ...parcel,
    cutoffHourUtc: 18,
    hazmat: false,
    hazmatSurcharge: '0.00',
    services: [
      {
        code: 'FX-PRIORITY-OVERNIGHT',
        serviceClass: 'OVERNIGHT',
        transitDays: 1,
        baseCharge: '38.00',
        perKg: '2.10',
      },
      { code: 'FX-2DAY', serviceClass: 'TWO_DAY', transitDays: 2, baseCharge: '21.00', perKg: '1.35' },
    ],
    ...punctual,
  },
  {
    scac: 'PCPT',
    name: 'Parcelpoint Ground',
    ...parcel,
    cutoffHourUtc: 17,
    hazmat: false,
    hazmatSurcharge: '0.00',
    services: [
      { code: 'PP-GROUND', serviceClass: 'GROUND', transitDays: 3, baseCharge: '9.80', perKg: '0.55' },
      { code: 'PP-SAVER', serviceClass: 'DEFERRED', transitDays: 5, baseCharge: '7.40', perKg: '0.42' },
    ],
    ...punctual,
  },
  {
    scac: 'RDGL',
    name: 'Ridgeline Freight',
    ...freight,
    cutoffHourUtc: 16,
    hazmat: false,
    hazmatSurcharge: '0.00',
    services: [
      { code: 'RL-STANDARD', serviceClass: 'GROUND', transitDays: 3, baseCharge: '145.00', perKg: '0.32' },
      { code: 'RL-ECONOMY', serviceClass: 'DEFERRED', transitDays: 5, baseCharge: '118.00', perKg: '0.26' },
    ],
    ...punctual,
  },
  {
    scac: 'HZMT',
    name: 'Hazline Carriers',
    ...freight,
    cutoffHourUtc: 15,
    hazmat: true,
    hazmatSurcharge: '45.00',
    services: [
      { code: 'HZ-STANDARD', serviceClass: 'GROUND', transitDays: 4, baseCharge: '189.00', perKg: '0.41' },
      { code: 'HZ-EXPEDITE', serviceClass: 'TWO_DAY', transitDays: 2, baseCharge: '265.00', perKg: '0.58' },
    ],
    ...punctual,
  },
];

/** CRM accounts keyed by ERP customer number; Buckeye has no mobile number on file. */
export const SEED_CRM_ACCOUNTS: readonly CrmAccount[] = [
  account(
    'C-1001',
    'Northwind Hardware',
    'purchasing@northwind-hardware.example',
    '+16145550101',
    'Standard',
  ),
  account('C-2002', 'Great Lakes Mechanical Contractors', 'ap@glmech.example', '+13125550182', 'Key Account'),
  account('C-3003', 'Buckeye Plumbing Supply', 'orders@buckeyeplumbing.example', null, 'Standard'),
  account(
    'C-4004',
    'Riverbend Facilities Services',
    'facilities@riverbend.example',
    '+15135550144',
    'Standard',
  ),
  account('C-5005', 'Old Mill Building Co', null, null, 'Standard'),
  account('C-6006', 'Summit Irrigation & Wells', 'office@summitwells.example', '+16085550123', 'Preferred'),
  account('C-7007', 'Lakeshore Home Centers', 'replenishment@lakeshorehome.example', null, 'Key Account'),
];

function account(
  AccountNumber: string,
  Name: string,
  Email: string | null,
  Phone: string | null,
  Tier: CrmAccount['Tier'],
): CrmAccount {
  return { AccountNumber, Name, Email, Phone, Tier };
}

/** Unapplied cash finance holds against each customer (payments received, not yet matched to invoices). */
const UNAPPLIED_CASH: Readonly<Record<string, string>> = { 'C-2002': '4500.00', 'C-7007': '18250.00' };

/** The finance system's view of the same customers: the ERP's figures plus unapplied cash. */
export const SEED_FINANCE_ACCOUNTS: readonly FinanceAccount[] = Object.entries(SEED_CUSTOMERS).map(
  ([customerId, segment]) => ({
    customerId,
    currency: 'USD',
    creditLimit: segment.CreditLimitAmount,
    openReceivables: segment.ReceivablesAmount,
    overdueReceivables: segment.OverdueAmount,
    oldestOverdueDays: segment.OldestOverdueDays,
    unappliedCash: UNAPPLIED_CASH[customerId] ?? '0.00',
    openOrders: segment.OpenOrdersAmount,
    paymentTerms: segment.PaymentTerms,
    closed: segment.AccountClosed,
  }),
);

/** Customers finance has on hold until someone releases them. */
export const SEED_FINANCE_HOLDS: readonly { customerId: string; reason: string }[] = [
  { customerId: 'C-4004', reason: 'Invoices 47 days overdue: collections review' },
  { customerId: 'C-6006', reason: 'Payment returned NSF: awaiting replacement funds' },
];

/** An X12 850 purchase order from the retail chain C-7007 (Lakeshore Home Centers), for the EDI mailbox. */
export function samplePurchaseOrder850(options: {
  readonly poNumber: string;
  readonly at: Date;
  readonly controlNumber?: number;
  readonly lines?: readonly { sku: string; quantity: number; unitPrice: string }[];
}): string {
  const lines = options.lines ?? [
    { sku: 'VALVE-BALL-1IN', quantity: 48, unitPrice: '22.40' },
    { sku: 'TAPE-48MM', quantity: 240, unitPrice: '2.15' },
  ];
  const date = options.at.toISOString().slice(0, 10).replaceAll('-', '');
  return x12Interchange({
    sender: 'LAKESHOREHC',
    receiver: 'HANDOFFDIST',
    controlNumber: options.controlNumber ?? 1,
    functionalId: 'PO',
    transactionSet: '850',
    at: options.at,
    body: [
      ['BEG', '00', 'SA', options.poNumber, '', date],
      ['REF', 'IA', 'C-7007'],
      ['DTM', '002', date],
      ['N1', 'ST', 'Lakeshore Home Centers #112', '92', '0112'],
      ['N3', '2200 Lakeshore Blvd'],
      ['N4', 'Toledo', 'OH', '43611', 'US'],
      ...lines.map((line, i) => [
        'PO1',
        String(i + 1),
        String(line.quantity),
        'EA',
        line.unitPrice,
        '',
        'VP',
        line.sku,
      ]),
      ['CTT', String(lines.length)],
    ],
  });
}

/**
 * Customers' substitution records in the ERP: C-1001 takes the resilient-wedge gate valve for the flanged one
 * and the wafer butterfly valve for the lug-style one, but withdrew its approval of hex bolts for the M12s;
 * C-2002 takes the gate valve only once it has confirmed each time.
 */
export const SEED_SUBSTITUTES: Readonly<Record<string, readonly CustomerSubstitute[]>> = {
  'C-1001': [
    substitute('VALVE-3IN', 'VALVE-3IN-RS'),
    substitute('VALVE-BFY-8IN', 'VALVE-BFY-8IN-W'),
    substitute('BOLT-M12', 'BOLT-M8', { CustomerApproved: false }),
  ],
  'C-2002': [substitute('VALVE-3IN', 'VALVE-3IN-RS', { RequiresApproval: true })],
};

export function substitute(
  Material: string,
  SubstituteMaterial: string,
  extra: Partial<CustomerSubstitute> = {},
): CustomerSubstitute {
  return { Material, SubstituteMaterial, CustomerApproved: true, RequiresApproval: false, ...extra };
}

/** Fills every partner with the reference data above (copies, so a run's stock moves stay in that run). */
export function seedSandbox(sandbox: PartnerSandbox): void {
  for (const [id, segment] of Object.entries(SEED_CUSTOMERS)) sandbox.credit.set(id, segment);
  for (const entry of SEED_CATALOGUE) sandbox.erp.items.set(entry.Material, entry);
  for (const [id, list] of Object.entries(SEED_SUBSTITUTES)) sandbox.erp.substitutes.set(id, [...list]);
  sandbox.facilities = SEED_FACILITIES.map((f) => ({ ...f, inventory: f.inventory.map((i) => ({ ...i })) }));
  for (const carrier of SEED_CARRIERS) sandbox.tms.carriers.set(carrier.scac, { ...carrier });
  for (const crm of SEED_CRM_ACCOUNTS) sandbox.crm.accounts.set(crm.AccountNumber, crm);
  for (const finance of SEED_FINANCE_ACCOUNTS) sandbox.finance.accounts.set(finance.customerId, finance);
  for (const hold of SEED_FINANCE_HOLDS) sandbox.finance.placeHold({ ...hold, placedBy: 'ar.collections' });
  seedVendors(sandbox.vendor);
}
