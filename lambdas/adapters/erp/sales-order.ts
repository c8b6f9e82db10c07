import * as z from 'zod/mini';
import { MAX_EVENT_ENTRY_BYTES, oversizeOrderViolation } from '../../../contracts/events.ts';
import { type CanonicalOrder, parseCanonicalOrder } from '../../../contracts/order.ts';
import { safeText } from '../../../contracts/text.ts';
import {
  ContractViolation,
  type FieldViolation,
  type ParseResult,
  parseWith,
} from '../../../contracts/validation.ts';
import type {
  Channel,
  CustomerPriority,
  CustomerSegment,
  ServiceLevel,
} from '../../../contracts/vocabulary.ts';

/**
 * The ERP's sales-order export, in the ERP's own field names (an OData-style S/4-like document:
 * decimals as strings, SAP-style codes for channel and shipping condition). Nothing outside this
 * adapter knows these names.
 */
const DecimalString = z.string().check(z.regex(/^\d{1,12}(\.\d{1,6})?$/));
/** Free text: NFC, well-formed, no controls (contracts/text.ts); `min` 0 where the ERP exports empty fields. */
const text = (max: number, min = 1) => safeText(max, min);

export const DISTRIBUTION_CHANNELS: Readonly<Record<string, Channel>> = {
  '10': 'wholesale',
  '20': 'retail-replenishment',
  '30': 'direct-to-customer',
};
export const SHIPPING_CONDITIONS: Readonly<Record<string, ServiceLevel>> = {
  '01': 'standard',
  '02': 'expedited',
  '03': 'next-day',
  '04': 'economy',
};
const CUSTOMER_GROUPS: Readonly<Record<string, CustomerPriority>> = {
  STD: 'standard',
  PREF: 'preferred',
  KEY: 'key-account',
};
const SEGMENTS: Readonly<Record<string, CustomerSegment>> = {
  ENT: 'enterprise',
  MID: 'mid-market',
  SMB: 'small-business',
  B2C: 'consumer',
};

const codes = (table: Readonly<Record<string, unknown>>) =>
  z.enum(Object.keys(table) as [string, ...string[]]);

export const ErpSalesOrderItem = z.strictObject({
  ItemNo: z.string().check(z.regex(/^[0-9]{1,6}$/)),
  Material: text(64),
  Description: z.optional(text(200, 0)),
  Quantity: DecimalString,
  Unit: z.string().check(z.regex(/^[A-Z]{2,3}$/)),
  NetPrice: DecimalString,
  Cost: DecimalString,
  DropShip: z.optional(z.boolean()),
  Hazmat: z.optional(z.boolean()),
  Oversize: z.optional(z.boolean()),
});

export const ErpSalesOrder = z.strictObject({
  SalesOrder: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,59}$/)),
  SoldToParty: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/)),
  CustomerName: z.optional(text(120)),
  CustomerGroup: codes(CUSTOMER_GROUPS),
  Segment: codes(SEGMENTS),
  PaymentTerms: z.string().check(z.regex(/^(NET[0-9]{1,3}|CIA|COD|PREPAID)$/)),
  /** SAP complete-delivery flag: 'X' means ship complete. */
  CompleteDelivery: z.enum(['X', '']),
  DistributionChannel: codes(DISTRIBUTION_CHANNELS),
  ShippingCondition: codes(SHIPPING_CONDITIONS),
  /** YYYYMMDD, as ERPs export dates. */
  RequestedDeliveryDate: z.string().check(z.regex(/^[0-9]{8}$/)),
  CreationDateTime: z.iso.datetime({ offset: true }),
  Currency: z.string().check(z.regex(/^[A-Z]{3}$/)),
  PurchaseOrderByCustomer: z.optional(text(40, 0)),
  Plant: z.optional(z.string().check(z.regex(/^[A-Z0-9][A-Z0-9-]{1,31}$/))),
  ShipTo: z.strictObject({
    Name: text(120),
    Street: text(120),
    Street2: z.optional(text(120, 0)),
    City: text(80),
    Region: z.optional(text(80, 0)),
    PostalCode: text(12),
    Country: z.string().check(z.regex(/^[A-Z]{2}$/)),
    Email: z.optional(text(254, 0)),
    Phone: z.optional(text(20, 0)),
  }),
  Items: z.array(ErpSalesOrderItem).check(z.minLength(1), z.maxLength(500)),
});
export type ErpSalesOrder = z.infer<typeof ErpSalesOrder>;

const CONTRACT = 'ERP sales order';

/**
 * The largest sales-order message Handoff takes: its order travels whole in one order.received, and an
 * EventBridge entry (like a Step Functions payload) stops at 256 KB. SQS would carry up to 1 MiB.
 */
export const MAX_SALES_ORDER_BYTES = MAX_EVENT_ENTRY_BYTES;

/** The violation of a sales-order message over MAX_SALES_ORDER_BYTES, on the document; undefined when it fits. */
export function salesOrderSizeViolation(rawBody: string): FieldViolation | undefined {
  const bytes = Buffer.byteLength(rawBody);
  if (bytes <= MAX_SALES_ORDER_BYTES) return undefined;
  return {
    path: '',
    rule: `maxBytes:${MAX_SALES_ORDER_BYTES}`,
    message: `is ${bytes} bytes, over the 256 KB limit of an EventBridge event and a Step Functions payload (order.received carries the whole order): split the order or shorten its texts`,
  };
}

/** Canonical field path → the ERP field an operator would correct, so a rejection speaks ERP. */
function toErpPath(canonicalPath: string): string {
  const replacements: [RegExp, string][] = [
    [/^orderId$/, 'SalesOrder'],
    [/^source\.reference$/, 'SalesOrder'],
    [/^customer\.id$/, 'SoldToParty'],
    [/^customer\.name$/, 'CustomerName'],
    [/^promiseDate$/, 'RequestedDeliveryDate'],
    [/^orderedAt$/, 'CreationDateTime'],
    [/^requestedSiteId$/, 'Plant'],
    [/^customerPo$/, 'PurchaseOrderByCustomer'],
    [/^shipTo\.line1$/, 'ShipTo.Street'],
    [/^shipTo\.line2$/, 'ShipTo.Street2'],
    [/^shipTo\.(\w)(\w*)$/, 'ShipTo.$1$2'],
    [/^lines\[(\d+)\]\.lineNo$/, 'Items[$1].ItemNo'],
    [/^lines\[(\d+)\]\.sku$/, 'Items[$1].Material'],
    [/^lines\[(\d+)\]\.quantity$/, 'Items[$1].Quantity'],
    [/^lines\[(\d+)\]\.unitPrice$/, 'Items[$1].NetPrice'],
    [/^lines\[(\d+)\]\.unitCost$/, 'Items[$1].Cost'],
    [/^lines\[(\d+)\]\.description$/, 'Items[$1].Description'],
  ];
  for (const [pattern, replacement] of replacements) {
    if (pattern.test(canonicalPath)) {
      return canonicalPath
        .replace(pattern, replacement)
        .replace(/^ShipTo\.(\w)/, (_m, c: string) => `ShipTo.${c.toUpperCase()}`);
    }
  }
  return canonicalPath;
}

export function erpOrderId(salesOrder: string): string {
  return `ERP-${salesOrder}`;
}

function toNumber(value: string): number {
  return Number(value);
}

function erpDate(value: string): string {
  return `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6, 8)}`;
}

/**
 * ERP sales order → canonical order. Reports every broken rule at once, with the ERP field path, so an
 * operator can fix the order in the ERP; the canonical contract is checked too, so nothing invalid leaves.
 */
export function toCanonicalOrder(input: unknown): ParseResult<CanonicalOrder> {
  const businessRules = erpBusinessRuleViolations(input);
  const parsed = parseWith(CONTRACT, ErpSalesOrder, input);
  if (!parsed.ok) {
    // Shape errors and business-rule errors together, so one round trip to the ERP fixes everything.
    const known = new Set(parsed.error.violations.map((v) => `${v.path}|${v.rule}`));
    const extra = businessRules.filter((v) => !known.has(`${v.path}|${v.rule}`));
    return { ok: false, error: new ContractViolation(CONTRACT, [...parsed.error.violations, ...extra]) };
  }
  const erp = parsed.value;
  const violations: FieldViolation[] = [...businessRules];

  const order = {
    orderId: erpOrderId(erp.SalesOrder),
    source: { system: 'erp', reference: erp.SalesOrder },
    channel: DISTRIBUTION_CHANNELS[erp.DistributionChannel],
    serviceLevel: SHIPPING_CONDITIONS[erp.ShippingCondition],
    customer: {
      id: erp.SoldToParty,
      ...(erp.CustomerName ? { name: erp.CustomerName } : {}),
      segment: SEGMENTS[erp.Segment],
      priority: CUSTOMER_GROUPS[erp.CustomerGroup],
      terms: {
        paymentTerms: erp.PaymentTerms,
        fulfilment: erp.CompleteDelivery === 'X' ? 'ship-complete' : 'ship-partial',
      },
    },
    ...(erp.PurchaseOrderByCustomer ? { customerPo: erp.PurchaseOrderByCustomer } : {}),
    shipTo: {
      name: erp.ShipTo.Name,
      line1: erp.ShipTo.Street,
      ...(erp.ShipTo.Street2 ? { line2: erp.ShipTo.Street2 } : {}),
      city: erp.ShipTo.City,
      ...(erp.ShipTo.Region ? { region: erp.ShipTo.Region } : {}),
      postalCode: erp.ShipTo.PostalCode,
      country: erp.ShipTo.Country,
      ...(erp.ShipTo.Email ? { email: erp.ShipTo.Email } : {}),
      ...(erp.ShipTo.Phone ? { phone: erp.ShipTo.Phone } : {}),
    },
    currency: erp.Currency,
    orderedAt: erp.CreationDateTime,
    promiseDate: erpDate(erp.RequestedDeliveryDate),
    ...(erp.Plant ? { requestedSiteId: erp.Plant } : {}),
    lines: erp.Items.map((item) => ({
      lineNo: Number.parseInt(item.ItemNo, 10),
      sku: item.Material,
      ...(item.Description ? { description: item.Description } : {}),
      quantity: toNumber(item.Quantity),
      uom: item.Unit,
      unitPrice: toNumber(item.NetPrice),
      unitCost: toNumber(item.Cost),
      ...(item.DropShip ? { dropShip: true } : {}),
      ...(item.Hazmat ? { hazmat: true } : {}),
      ...(item.Oversize ? { oversize: true } : {}),
    })),
  };

  const canonical = parseCanonicalOrder(order);
  if (!canonical.ok) {
    const known = new Set(violations.map((v) => `${v.path}|${v.rule}`));
    for (const v of canonical.error.violations) {
      const erpPath = toErpPath(v.path);
      // A quantity already refused in ERP terms (whole units > 0) is not reported again in canonical terms.
      if (/^Items\[\d+\]\.Quantity$/.test(erpPath) && known.has(`${erpPath}|positiveWholeUnits`)) continue;
      if (known.has(`${erpPath}|${v.rule}`)) continue;
      violations.push({ ...v, path: erpPath });
    }
  }
  if (canonical.ok) {
    const oversize = oversizeOrderViolation(canonical.value);
    if (oversize) violations.push(oversize);
  }
  if (violations.length > 0) return { ok: false, error: new ContractViolation(CONTRACT, violations) };
  return canonical;
}

/**
 * The ERP-level business rules, checked on the raw document so they are reported even when its shape is
 * also wrong: whole positive quantities, unique item numbers, delivery not requested before creation.
 */
function erpBusinessRuleViolations(input: unknown): FieldViolation[] {
  if (typeof input !== 'object' || input === null) return [];
  const doc = input as { Items?: unknown; RequestedDeliveryDate?: unknown; CreationDateTime?: unknown };
  const violations: FieldViolation[] = [];
  const seen = new Set<number>();
  (Array.isArray(doc.Items) ? doc.Items : []).forEach((item: unknown, index) => {
    const { Quantity, ItemNo, Unit } = (item ?? {}) as {
      Quantity?: unknown;
      ItemNo?: unknown;
      Unit?: unknown;
    };
    if (typeof Quantity === 'string' && /^\d{1,12}(\.\d{1,6})?$/.test(Quantity)) {
      const quantity = Number(Quantity);
      if (!Number.isInteger(quantity) || quantity <= 0) {
        violations.push({
          path: `Items[${index}].Quantity`,
          rule: 'positiveWholeUnits',
          message: `must be a whole number of ${typeof Unit === 'string' ? Unit : 'units'} greater than 0`,
        });
      }
    }
    if (typeof ItemNo === 'string' && /^[0-9]{1,6}$/.test(ItemNo)) {
      const itemNo = Number.parseInt(ItemNo, 10);
      if (seen.has(itemNo)) {
        violations.push({
          path: `Items[${index}].ItemNo`,
          rule: 'unique',
          message: `duplicates item ${ItemNo}`,
        });
      }
      seen.add(itemNo);
    }
  });
  const { RequestedDeliveryDate: requested, CreationDateTime: created } = doc;
  if (
    typeof requested === 'string' &&
    /^[0-9]{8}$/.test(requested) &&
    typeof created === 'string' &&
    erpDate(requested) < created.slice(0, 10)
  ) {
    violations.push({
      path: 'RequestedDeliveryDate',
      rule: 'notBefore:orderedAt',
      message: 'must not be before the order date',
    });
  }
  return violations;
}
