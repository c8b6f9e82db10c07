import * as z from 'zod/mini';
import { safeText } from './text.ts';
import {
  ContractViolation,
  type FieldViolation,
  formatPath,
  type ParseResult,
  parseWith,
} from './validation.ts';
import {
  CHANNELS,
  CUSTOMER_PRIORITIES,
  CUSTOMER_SEGMENTS,
  FULFILMENT_TERMS,
  SERVICE_LEVELS,
  SOURCE_SYSTEMS,
} from './vocabulary.ts';

/** Safe as a Step Functions execution name and a DynamoDB key: the order id is the correlation id. */
export const ORDER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/;
export const OrderId = z.string().check(z.regex(ORDER_ID_PATTERN));

export const Sku = z
  .string()
  .check(z.minLength(1), z.maxLength(64), z.regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/));
export const SiteId = z.string().check(z.regex(/^[A-Z0-9][A-Z0-9-]{1,31}$/));
/** Major currency units, at most 4 decimals (ERP unit prices are often quoted to 4 places). */
export const Money = z.number().check(
  z.nonnegative(),
  z.lte(1_000_000_000),
  z.refine((n) => Math.abs(Math.round(n * 10_000) - n * 10_000) < 1e-6, {
    message: 'must have at most 4 decimal places',
    params: { rule: 'maxDecimals:4' },
  }),
);
export const CurrencyCode = z.string().check(z.regex(/^[A-Z]{3}$/));
export const IsoDateTime = z.iso.datetime({ offset: true });
export const IsoDate = z.iso.date();

/** Free text (names, addresses, descriptions): NFC, well-formed, single line; see contracts/text.ts. */
const text = (max: number) => safeText(max);

export const OrderLine = z.strictObject({
  lineNo: z.int().check(z.gte(1), z.lte(9999)),
  sku: Sku,
  description: z.optional(text(200)),
  quantity: z.int().check(z.gt(0), z.lte(1_000_000)),
  uom: z.string().check(z.regex(/^[A-Z]{2,3}$/)),
  unitPrice: Money,
  unitCost: Money,
  dropShip: z.optional(z.boolean()),
  hazmat: z.optional(z.boolean()),
  oversize: z.optional(z.boolean()),
});

export const ShipTo = z.strictObject({
  name: text(120),
  line1: text(120),
  line2: z.optional(text(120)),
  city: text(80),
  region: z.optional(text(80)),
  postalCode: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9 -]{1,11}$/)),
  country: z.string().check(z.regex(/^[A-Z]{2}$/)),
  email: z.optional(z.email()),
  phone: z.optional(z.string().check(z.regex(/^\+?[0-9 ()-]{6,20}$/))),
});

export const CustomerTerms = z.strictObject({
  /** NET<days>, CIA (cash in advance), COD or PREPAID. */
  paymentTerms: z.string().check(z.regex(/^(NET[0-9]{1,3}|CIA|COD|PREPAID)$/)),
  fulfilment: z.enum(FULFILMENT_TERMS),
});

export const Customer = z.strictObject({
  id: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/)),
  name: z.optional(text(120)),
  segment: z.enum(CUSTOMER_SEGMENTS),
  priority: z.enum(CUSTOMER_PRIORITIES),
  terms: CustomerTerms,
});

export const SourceRef = z.strictObject({
  system: z.enum(SOURCE_SYSTEMS),
  /** The order's key in its system of record (ERP sales-order number, EDI PO number, …). */
  reference: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_./-]{0,63}$/)),
});

export const MAX_ORDER_LINES = 500;

export const CanonicalOrder = z
  .strictObject({
    orderId: OrderId,
    source: SourceRef,
    channel: z.enum(CHANNELS),
    serviceLevel: z.enum(SERVICE_LEVELS),
    customer: Customer,
    customerPo: z.optional(text(40)),
    shipTo: ShipTo,
    currency: CurrencyCode,
    orderedAt: IsoDateTime,
    promiseDate: IsoDate,
    requestedSiteId: z.optional(SiteId),
    lines: z.array(OrderLine).check(z.minLength(1), z.maxLength(MAX_ORDER_LINES)),
  })
  .check(
    z.superRefine(
      (order, ctx) => {
        for (const issue of orderCrossFieldIssues(order)) {
          ctx.addIssue({
            code: 'custom',
            path: issue.path,
            message: issue.message,
            params: { rule: issue.rule },
          });
        }
      },
      { when: (payload) => typeof payload.value === 'object' && payload.value !== null },
    ),
  );

export type CanonicalOrder = z.infer<typeof CanonicalOrder>;
export type OrderLine = z.infer<typeof OrderLine>;
export type ShipTo = z.infer<typeof ShipTo>;
export type Customer = z.infer<typeof Customer>;

interface CrossFieldIssue {
  readonly path: (string | number)[];
  readonly rule: string;
  readonly message: string;
}

/**
 * Rules that span fields (unique line numbers, promise date not before the order date). Written against
 * `unknown` so they can run on a payload whose other fields are broken.
 */
export function orderCrossFieldIssues(order: unknown): CrossFieldIssue[] {
  if (typeof order !== 'object' || order === null) return [];
  const issues: CrossFieldIssue[] = [];
  const { lines, promiseDate, orderedAt } = order as {
    lines?: unknown;
    promiseDate?: unknown;
    orderedAt?: unknown;
  };
  const seen = new Set<unknown>();
  (Array.isArray(lines) ? lines : []).forEach((line: unknown, index) => {
    const lineNo = (line as { lineNo?: unknown } | null)?.lineNo;
    if (typeof lineNo !== 'number') return;
    if (seen.has(lineNo)) {
      issues.push({ path: ['lines', index, 'lineNo'], rule: 'unique', message: `duplicates line ${lineNo}` });
    }
    seen.add(lineNo);
  });
  if (
    typeof promiseDate === 'string' &&
    typeof orderedAt === 'string' &&
    promiseDate < orderedAt.slice(0, 10)
  ) {
    issues.push({
      path: ['promiseDate'],
      rule: 'notBefore:orderedAt',
      message: 'must not be before the order date',
    });
  }
  return issues;
}

/**
 * Validates a canonical order and reports every broken rule at once. zod stops refining an object once a
 * field fails its type, so the cross-field rules are added here when they were skipped.
 */
export function parseCanonicalOrder(input: unknown): ParseResult<CanonicalOrder> {
  const parsed = parseWith('canonical order', CanonicalOrder, input);
  if (parsed.ok) return parsed;
  const known = new Set(parsed.error.violations.map((v) => `${v.path}|${v.rule}`));
  const missing: FieldViolation[] = orderCrossFieldIssues(input)
    .map((issue) => ({ path: formatPath(issue.path), rule: issue.rule, message: issue.message }))
    .filter((v) => !known.has(`${v.path}|${v.rule}`));
  if (missing.length === 0) return parsed;
  return {
    ok: false,
    error: new ContractViolation('canonical order', [...parsed.error.violations, ...missing]),
  };
}
