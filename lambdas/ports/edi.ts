import type {
  CatalogueItem,
  PurchaseOrderReference,
  TradingPartnerProfile,
} from '../adapters/edi/x12-850.ts';
import type { OutboundDocument, OutboundEnvelope, X12Party } from '../adapters/edi/x12-outbound.ts';

/** The ports of EDI retail replenishment: trading partners, their purchase orders, control numbers, the gateway. */

/** What Handoff knows about one trading partner (from configuration). */
export interface TradingPartner {
  /** ISA05/ISA06 its interchanges come from; ISA07/ISA08 of every document Handoff sends it. */
  readonly interchange: X12Party;
  /** GS03 of the documents sent to it. @default interchange.id */
  readonly applicationId?: string;
  /** Customer, terms, UOM and buyer item maps its 850s are read with. */
  readonly profile: TradingPartnerProfile;
  /** How its translator wants documents laid out. @default `*` `~` `>`, no line breaks */
  readonly layout?: Pick<OutboundEnvelope, 'delimiters' | 'newlineAfterSegment'>;
}

export interface TradingPartnerDirectory {
  /**
   * Every trading partner, keyed by its ISA06 interchange id. One interchange id per customer: the
   * documents for an order go to the partner whose profile names the order's customer.
   */
  all(): Promise<ReadonlyMap<string, TradingPartner>>;
}

export interface Catalogue {
  /** Every orderable SKU with its unit cost (and UPC): an 850 carries prices, never cost, and may name an item by UPC only. */
  items(): Promise<Readonly<Record<string, CatalogueItem>>>;
}

/** The partner identifiers of one purchase order, kept beside the order for the 855, 856 and 810. */
export interface EdiPurchaseOrder {
  readonly orderId: string;
  /** ISA06 of the partner the PO came from: the key into the directory. */
  readonly partnerId: string;
  readonly reference: PurchaseOrderReference;
  /** The interchange and group that carried it. */
  readonly interchange: { readonly isa13: string; readonly gs06: string };
  readonly receivedAt: string;
}

export interface EdiPurchaseOrderStore {
  /** First write wins: a redelivered or re-sent PO keeps the identifiers of the first receipt. */
  putIfAbsent(purchaseOrder: EdiPurchaseOrder): Promise<{ readonly created: boolean }>;
  get(orderId: string): Promise<EdiPurchaseOrder | undefined>;
}

export interface ControlNumberReservation {
  /** 1-999999999; used as ISA13, GS06 and ST02 of the document. */
  readonly controlNumber: number;
  /** ISO instant of the first reservation: the document's preparation time. */
  readonly reservedAt: string;
}

/**
 * X12 control numbers, one counter per trading partner. The first reservation of a document key takes the
 * partner's next number (1, 2, … 999999999, then 1 again) and records it with `at`; every later reservation
 * of the same key answers that same reservation. So numbers never repeat within a partner, and a retried or
 * redelivered document is rebuilt with the same number and time: the same bytes.
 */
export interface ControlNumberPort {
  reserve(partnerId: string, documentKey: string, at: Date): Promise<ControlNumberReservation>;
}

export interface EdiAcceptance {
  /** The gateway's id of the accepted document. */
  readonly acceptanceId: string;
  readonly receivedAt: string;
}

/** Sends X12 documents to trading partners through the EDI gateway, idempotent on the document's key. */
export interface EdiGateway {
  send(document: OutboundDocument): Promise<EdiAcceptance>;
}
