import type { Invoice } from '../core/invoice.ts';
import type { NotificationSkipReason } from '../core/notifications.ts';

/** The ports of the post-shipment workflow: the shipment ledger, ERP invoice posting and customer messages. */

export interface ShippedLine {
  readonly lineNo: number;
  readonly sku: string;
  readonly quantity: number;
}

/** A confirmed shipment as the order keeps it: the shipment.confirmed detail minus the event envelope. */
export interface RecordedShipment {
  readonly shipmentId: string;
  readonly siteId: string;
  readonly carrier: string;
  readonly trackingNumber: string;
  /** ISO 8601 with a zone designator, as the warehouse reported it. */
  readonly shippedAt: string;
  readonly lines: readonly ShippedLine[];
  readonly partial: boolean;
  /** ISO instant Handoff recorded it. */
  readonly recordedAt: string;
}

/** An invoice posted to the ERP for one shipment. */
export interface RecordedInvoice {
  /** `INV-<shipmentId>`: Handoff's id, and the idempotency key of the posting and of invoice.issued. */
  readonly invoiceId: string;
  readonly shipmentId: string;
  /** The ERP's own document number for the posted invoice. */
  readonly erpInvoiceId: string;
  readonly lines: readonly ShippedLine[];
  readonly currency: string;
  /** Handoff's total (subtotal + tax), major units. */
  readonly total: number;
  /** The amount the ERP posted, major units (the ERP prices to the cent and adds no tax). */
  readonly erpAmount: number;
  /** ISO instant. */
  readonly issuedAt: string;
  /** YYYY-MM-DD, as the ERP set it from the customer's terms. */
  readonly dueDate: string;
}

/** What was decided about one customer notification: sent, or skipped and why. */
export type RecordedNotification =
  | {
      readonly notificationId: string;
      readonly shipmentId: string;
      readonly outcome: 'sent';
      readonly channel: 'email' | 'sms';
      readonly messageId: string;
      readonly at: string;
    }
  | {
      readonly notificationId: string;
      readonly shipmentId: string;
      readonly outcome: 'skipped';
      readonly reason: NotificationSkipReason;
      readonly at: string;
    };

export interface ShipmentLedgerEntries {
  readonly shipments: readonly RecordedShipment[];
  readonly invoices: readonly RecordedInvoice[];
  readonly notifications: readonly RecordedNotification[];
}

/**
 * Shipments, invoices and notifications of one order, kept beside the order record (e.g. items
 * `SHIPMENT#<id>`, `INVOICE#<id>`, `NOTIFICATION#<id>` under the order's partition key). Every write is
 * idempotent on its id and the first write wins: `recorded: false` means the id was already there.
 */
export interface ShipmentLedger {
  /** Everything recorded for the order; empty lists when nothing is (never undefined). Strongly consistent. */
  entries(orderId: string): Promise<ShipmentLedgerEntries>;
  recordShipment(orderId: string, shipment: RecordedShipment): Promise<{ readonly recorded: boolean }>;
  recordInvoice(orderId: string, invoice: RecordedInvoice): Promise<{ readonly recorded: boolean }>;
  recordNotification(
    orderId: string,
    notification: RecordedNotification,
  ): Promise<{ readonly recorded: boolean }>;
}

/** The ERP's answer to an invoice posting. */
export interface PostedInvoice {
  readonly invoiceId: string;
  readonly erpInvoiceId: string;
  /** Major units, as the ERP computed it. */
  readonly amount: number;
  readonly currency: string;
  /** ISO instant. */
  readonly postedAt: string;
  /** YYYY-MM-DD. */
  readonly dueDate: string;
}

/** Posts an invoice to the system of record for billing, idempotent on `invoice.idempotencyKey`. */
export interface InvoicePosting {
  postInvoice(invoice: Invoice): Promise<PostedInvoice>;
}

/** One customer message, in the shape the CRM adapter (`CrmClient.notify`) takes. */
export interface CustomerMessage {
  readonly orderId: string;
  readonly customerId: string;
  readonly channel: 'email' | 'sms';
  readonly template: string;
  readonly data: Readonly<Record<string, string | number>>;
  /** The notification id: one message per order, milestone and shipment, however often it is retried. */
  readonly idempotencyKey: string;
}

/** Sends customer messages; a refusal is a named error (PartnerRejected), an outage PartnerUnavailable. */
export interface CustomerNotifier {
  notify(message: CustomerMessage): Promise<{ readonly messageId: string; readonly status: string }>;
}
