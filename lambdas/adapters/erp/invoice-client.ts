import * as z from 'zod/mini';
import { parseWith } from '../../../contracts/validation.ts';
import type { Invoice } from '../../core/invoice.ts';
import type { InvoicePosting, PostedInvoice } from '../../ports/index.ts';
import { PartnerContractBroken } from '../../shared/errors.ts';
import type { PartnerClient } from '../http/partner-client.ts';

/** A money amount as the ERP writes it: a string, up to 12 digits and 4 decimals. */
const ErpDecimal = z.string().check(z.regex(/^\d{1,12}(\.\d{1,4})?$/));

/** The ERP's posted invoice (its `POST /invoices` answer), in the ERP's field names. */
const ErpPostedInvoice = z.looseObject({
  invoiceId: z.string().check(z.minLength(1), z.maxLength(80)),
  orderId: z.string().check(z.minLength(1)),
  customerId: z.string().check(z.minLength(1)),
  shipmentId: z.string().check(z.minLength(1)),
  currency: z.string().check(z.regex(/^[A-Z]{3}$/)),
  lines: z
    .array(
      z.looseObject({
        lineNo: z.int().check(z.gte(1)),
        sku: z.string().check(z.minLength(1)),
        quantity: z.int().check(z.gt(0)),
        unitPrice: ErpDecimal,
        amount: ErpDecimal,
      }),
    )
    .check(z.minLength(1)),
  amount: ErpDecimal,
  postedAt: z.iso.datetime({ offset: true }),
  dueDate: z.iso.date(),
  status: z.literal('POSTED'),
});

/** Major units as the ERP's decimal string: at most 4 decimals, at least 2 ("12.5" → "12.50"). */
export function toErpDecimal(amount: number): string {
  const [whole, fraction = ''] = amount.toFixed(4).split('.');
  return `${whole}.${fraction.replace(/0{1,2}$/, '')}`;
}

/**
 * ERP adapter for invoice posting (`POST /invoices` under the ERP base URL). Sends the canonical
 * invoice's order, customer, shipment, currency and lines with the order's unit prices (the price the
 * customer was quoted, not the item master's list price), keyed by the invoice id so a retried or
 * redelivered posting is one invoice in the ERP. A 422 (unknown customer or item, closed account, a key
 * reused with a different body) is PartnerRejected; 5xx and timeouts are PartnerUnavailable after the
 * client's own retries; an answer of the wrong shape, or about another shipment, is PartnerContractBroken.
 */
export class ErpInvoiceClient implements InvoicePosting {
  constructor(private readonly http: PartnerClient) {}

  async postInvoice(invoice: Invoice): Promise<PostedInvoice> {
    const body = await this.http.request({
      method: 'POST',
      path: '/invoices',
      idempotencyKey: invoice.idempotencyKey,
      body: {
        orderId: invoice.orderId,
        customerId: invoice.customerId,
        shipmentId: invoice.shipmentId,
        currency: invoice.currency,
        lines: invoice.lines.map((line) => ({
          lineNo: line.lineNo,
          sku: line.sku,
          quantity: line.quantity,
          unitPrice: toErpDecimal(line.unitPrice),
        })),
      },
    });
    const parsed = parseWith('ERP posted invoice', ErpPostedInvoice, body);
    if (!parsed.ok) throw new PartnerContractBroken('erp', parsed.error.message);
    const posted = parsed.value;
    if (posted.orderId !== invoice.orderId || posted.shipmentId !== invoice.shipmentId) {
      throw new PartnerContractBroken(
        'erp',
        `invoice ${invoice.invoiceId} was answered for order ${posted.orderId} shipment ${posted.shipmentId}, ` +
          `not order ${invoice.orderId} shipment ${invoice.shipmentId}`,
      );
    }
    return {
      invoiceId: invoice.invoiceId,
      erpInvoiceId: posted.invoiceId,
      amount: Number(posted.amount),
      currency: posted.currency,
      postedAt: new Date(posted.postedAt).toISOString(),
      dueDate: posted.dueDate,
    };
  }
}
