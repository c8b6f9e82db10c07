import * as z from 'zod/mini';
import {
  DECIMAL,
  fromCents,
  json,
  type PartnerEnvironment,
  problem,
  type Route,
  refuse,
  type SandboxPartner,
  Sequences,
  toCents,
  validBody,
} from './framework.ts';

/** The ERP's FSCM-style customer credit segment, in the ERP's field names. */
export interface CreditSegment {
  CreditLimitAmount: string;
  ReceivablesAmount: string;
  OpenOrdersAmount: string;
  OverdueAmount: string;
  OldestOverdueDays: number;
  CreditBlocked: boolean;
  AccountClosed: boolean;
  PaymentTerms: string;
}

export interface HazmatData {
  /** UN number, e.g. 'UN1133'. */
  UNNumber: string;
  /** DOT/ADR hazard class, e.g. '3' (flammable liquid). */
  HazardClass: string;
  PackingGroup: 'I' | 'II' | 'III' | null;
}

/** One material of the ERP item master: cost, list price, handling and sourcing. */
export interface CatalogueItem {
  Material: string;
  Description: string;
  ProductGroup: 'FASTENERS' | 'PUMPS' | 'VALVES' | 'PACKAGING' | 'CHEMICALS' | 'HARDWARE';
  BaseUnit: string;
  StandardCost: string;
  ListPrice: string;
  Currency: string;
  GrossWeightKg: number;
  LengthCm: number;
  WidthCm: number;
  HeightCm: number;
  Hazmat: HazmatData | null;
  /** Needs freight handling: parcel carriers refuse it. */
  Oversize: boolean;
  /** DROPSHIP items ship from the vendor, never from a DC. */
  SupplyType: 'STOCK' | 'DROPSHIP';
  Vendor: string | null;
  VendorLeadTimeDays: number | null;
}

/** One customer-material substitution record: a substitute the customer accepts for a material, in order of preference. */
export interface CustomerSubstitute {
  Material: string;
  SubstituteMaterial: string;
  /** False: on the list but withdrawn or never agreed. */
  CustomerApproved: boolean;
  /** Every use of this record needs the customer's confirmation first. */
  RequiresApproval: boolean;
}

export interface InvoiceLine {
  readonly lineNo: number;
  readonly sku: string;
  readonly quantity: number;
  readonly unitPrice: string;
  readonly amount: string;
}

export interface ErpInvoice {
  readonly invoiceId: string;
  readonly orderId: string;
  readonly customerId: string;
  readonly shipmentId: string;
  readonly currency: string;
  readonly lines: readonly InvoiceLine[];
  readonly amount: string;
  readonly postedAt: string;
  readonly dueDate: string;
  readonly status: 'POSTED';
}

const InvoiceRequest = z.object({
  orderId: z.string().check(z.minLength(1), z.maxLength(80)),
  customerId: z.string().check(z.minLength(1), z.maxLength(40)),
  shipmentId: z.string().check(z.minLength(1), z.maxLength(80)),
  currency: z.string().check(z.regex(/^[A-Z]{3}$/)),
  lines: z
    .array(
      z.object({
        lineNo: z.int().check(z.gte(1)),
        sku: z.string().check(z.minLength(1)),
        quantity: z.int().check(z.gt(0)),
        // Omitted: the ERP prices the line from its item master, as the system of record for pricing.
        unitPrice: z.optional(z.string().check(z.regex(DECIMAL))),
      }),
    )
    .check(z.minLength(1)),
});

function dueDate(postedAt: Date, paymentTerms: string): string {
  const days = Number(/^NET(\d{1,3})$/.exec(paymentTerms)?.[1] ?? 0);
  return new Date(postedAt.getTime() + days * 86_400_000).toISOString().slice(0, 10);
}

/**
 * The cloud ERP, system of record for customers, credit, items and billing: credit segments (FSCM-style
 * field names), the item master with cost and price, and invoice posting. Posting an invoice raises the
 * customer's receivables, as the real ERP would.
 */
export class ErpSandbox implements SandboxPartner {
  readonly name = 'erp' as const;
  readonly credit = new Map<string, CreditSegment>();
  readonly items = new Map<string, CatalogueItem>();
  /** Customer-material substitution records by customer. */
  readonly substitutes = new Map<string, CustomerSubstitute[]>();
  readonly invoices: ErpInvoice[] = [];
  private readonly ids = new Sequences();

  constructor(private readonly env: PartnerEnvironment) {}

  readonly routes: readonly Route[] = [
    {
      method: 'GET',
      pattern: '/erp/customers/:customerId/credit-segment',
      handle: ({ params }) => {
        const id = params.customerId ?? '';
        const segment = this.credit.get(id);
        return segment
          ? json(200, { Customer: id, ...segment })
          : problem(404, 'not_found', `no customer ${id}`);
      },
    },
    {
      method: 'GET',
      pattern: '/erp/customers/:customerId/substitutes',
      handle: ({ params }) => {
        const id = params.customerId ?? '';
        return this.credit.has(id)
          ? json(200, { Customer: id, Substitutes: this.substitutes.get(id) ?? [] })
          : problem(404, 'not_found', `no customer ${id}`);
      },
    },
    {
      method: 'GET',
      pattern: '/erp/items',
      handle: ({ query }) => {
        const wanted = query.get('materials')?.split(',').filter(Boolean);
        const items = wanted ? wanted.flatMap((m) => this.items.get(m) ?? []) : [...this.items.values()];
        return json(200, { items });
      },
    },
    {
      method: 'GET',
      pattern: '/erp/items/:material',
      handle: ({ params }) => {
        const item = this.items.get(params.material ?? '');
        return item ? json(200, item) : problem(404, 'not_found', `no material ${params.material}`);
      },
    },
    {
      method: 'POST',
      pattern: '/erp/invoices',
      idempotent: true,
      handle: ({ body }) =>
        json(201, this.postInvoice(validBody('ERP invoice request', InvoiceRequest, body))),
    },
    {
      method: 'GET',
      pattern: '/erp/invoices',
      handle: ({ query }) => {
        const orderId = query.get('orderId');
        return json(200, {
          invoices: orderId ? this.invoices.filter((i) => i.orderId === orderId) : this.invoices,
        });
      },
    },
  ];

  private postInvoice(request: z.output<typeof InvoiceRequest>): ErpInvoice {
    const segment = this.credit.get(request.customerId);
    if (!segment) refuse(422, 'unknown_customer', `customer ${request.customerId} is not in the ERP`);
    if (segment.AccountClosed) {
      refuse(422, 'account_closed', `customer ${request.customerId} is closed and cannot be invoiced`);
    }
    const lines = request.lines.map((line): InvoiceLine => {
      const item = this.items.get(line.sku);
      const unitPrice = line.unitPrice ?? item?.ListPrice;
      if (unitPrice === undefined) {
        refuse(422, 'unknown_item', `line ${line.lineNo}: material ${line.sku} has no price in the ERP`, {
          lineNo: line.lineNo,
        });
      }
      return {
        lineNo: line.lineNo,
        sku: line.sku,
        quantity: line.quantity,
        unitPrice: fromCents(toCents(unitPrice)),
        amount: fromCents(toCents(unitPrice) * line.quantity),
      };
    });
    const total = lines.reduce((sum, line) => sum + toCents(line.amount), 0);
    const postedAt = this.env.clock.now();
    const invoice: ErpInvoice = {
      invoiceId: this.ids.next('INV-'),
      orderId: request.orderId,
      customerId: request.customerId,
      shipmentId: request.shipmentId,
      currency: request.currency,
      lines,
      amount: fromCents(total),
      postedAt: postedAt.toISOString(),
      dueDate: dueDate(postedAt, segment.PaymentTerms),
      status: 'POSTED',
    };
    this.invoices.push(invoice);
    // A new object, never an edit in place: callers may share one segment across customers or tests.
    this.credit.set(request.customerId, {
      ...segment,
      ReceivablesAmount: fromCents(toCents(segment.ReceivablesAmount) + total),
    });
    return invoice;
  }

  reset(): void {
    this.credit.clear();
    this.items.clear();
    this.substitutes.clear();
    this.invoices.length = 0;
    this.ids.reset();
  }
}
