import type { EventDetail, EventName } from '../../contracts/events.ts';
import type { CanonicalOrder } from '../../contracts/order.ts';
import type { FieldViolation } from '../../contracts/validation.ts';
import type {
  ExceptionPriority,
  ExceptionType,
  FulfilmentPath,
  OrderStage,
  OwnerTeam,
  ServiceLevel,
} from '../../contracts/vocabulary.ts';
import type { CarrierBooking, RateShopResult, ShipmentSpec } from '../adapters/tms/carrier-client.ts';
import type { PurchaseOrder, VendorConfirmation } from '../adapters/vendor/vendor-client.ts';
import type { AllocatedLine, ShortLine, SiteStock } from '../core/allocation.ts';
import type { AppliedSubstitution } from '../core/allocation-substitution.ts';
import type { CreditProfile } from '../core/credit.ts';
import type { ExceptionClosure, PathOutcome } from '../core/exception-decisions.ts';
import type { ApprovedSubstitute, CatalogueEntry } from '../core/substitution.ts';

export type * from './backorders.ts';
export type * from './dead-letters.ts';
export type * from './edi.ts';
export type * from './observability.ts';
export type * from './post-shipment.ts';
export type * from './sla.ts';

/** The ports the use cases depend on; adapters implement them for AWS and for partner HTTP APIs. */

export interface Clock {
  now(): Date;
  /**
   * Resolves after `ms` of this clock's time, or rejects when `signal` aborts. Partner call timeouts wait
   * on it: real time on AWS, the cloud's own time in the local cloud.
   */
  sleep?(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface StageHistoryEntry {
  readonly stage: OrderStage;
  readonly at: string;
  readonly reasonCodes: readonly string[];
}

export interface OrderRecord {
  readonly orderId: string;
  readonly order: CanonicalOrder;
  readonly stage: OrderStage;
  readonly version: number;
  readonly payloadHash: string;
  readonly receivedAt: string;
  readonly updatedAt: string;
  readonly stageHistory: readonly StageHistoryEntry[];
  readonly path?: FulfilmentPath;
  readonly executionName?: string;
  readonly credit?: {
    decision: string;
    reasonCodes: readonly string[];
    exceptionId?: string;
    /** For a hold: the escalation ladder its exception climbs (standard finance hold or fast review). */
    ladder?: string;
    /** For a hold a person decided: who, when and why (the credit release audit). */
    review?: {
      outcome: 'release' | 'reject';
      decidedBy: string;
      decidedAt: string;
      reason: string;
      tier: number;
    };
  };
  readonly allocation?: {
    status: 'full' | 'partial' | 'backorder';
    siteId: string | null;
    allocated: readonly AllocatedLine[];
    short: readonly ShortLine[];
    reservationId?: string;
    cutoffHourUtc?: number;
    transitDays?: number;
    /** A split allocation: one reserved shipment per facility (the single-site fields describe the first). */
    shipments?: readonly AllocatedShipment[];
    /** Lines reserved as the customer's approved substitute: what the invoice charges for them. */
    substitutions?: readonly AppliedSubstitution[];
    /** Substitutes proposed for short lines that wait for a person's approval (the lines stay backordered). */
    substitutesAwaitingApproval?: readonly AwaitingSubstitute[];
    /** The plan's reason codes, announced with the shortage (and again on a retried announcement). */
    reasonCodes?: readonly string[];
  };
  readonly release?: {
    action: 'release' | 'defer';
    releaseAt: string;
    shipBy: string;
    priority: number;
    releaseId?: string;
  };
  readonly exceptionIds?: readonly string[];
  /** Purchase orders placed with drop-ship vendors, with each vendor's acknowledgement. */
  readonly purchaseOrders?: readonly RecordedPurchaseOrder[];
  /** The carrier booked for the order (the expedited path books a premium carrier before release). */
  readonly booking?: {
    carrier: string;
    service: string;
    serviceLevel: ServiceLevel;
    bookingId: string;
    trackingNumber: string;
    pickupDate: string;
    estimatedDelivery?: string;
    charge?: number;
  };
}

export interface AllocatedShipment {
  readonly siteId: string;
  readonly lines: readonly AllocatedLine[];
  readonly reservationId: string;
  readonly cutoffHourUtc?: number;
  readonly transitDays?: number;
}

export type OrderPatch = Partial<
  Pick<
    OrderRecord,
    'path' | 'executionName' | 'credit' | 'allocation' | 'release' | 'booking' | 'purchaseOrders'
  >
> & {
  readonly addExceptionId?: string;
};

export type CreateResult =
  | { readonly created: true }
  | { readonly created: false; readonly existing: OrderRecord };

export interface OrderRepository {
  createIfAbsent(record: OrderRecord): Promise<CreateResult>;
  get(orderId: string): Promise<OrderRecord | undefined>;
  /** Records partner references on the order without moving it, with the same optimistic lock. */
  annotate(current: OrderRecord, patch: OrderPatch): Promise<OrderRecord>;
  /** Moves the order to `to` if it is still at `expectedVersion`; throws ConcurrentOrderUpdate otherwise. */
  transition(
    current: OrderRecord,
    to: OrderStage,
    reasonCodes: readonly string[],
    patch?: OrderPatch,
  ): Promise<OrderRecord>;
}

/** Partner deliveries already acted on (webhooks the partner may resend), for at-least-once edges. */
export interface DeliveryLedger {
  seen(orderId: string, source: string, deliveryId: string): Promise<boolean>;
  /** Records the delivery; `first` is false when another copy recorded it already. */
  record(orderId: string, source: string, deliveryId: string, at: string): Promise<{ first: boolean }>;
}

export interface AuditEntry {
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly why: string;
}

export interface OwnedException {
  readonly exceptionId: string;
  readonly type: ExceptionType;
  readonly ownerTeam: OwnerTeam;
  readonly priority: ExceptionPriority;
  readonly state: 'open' | 'resolved';
  readonly stage: OrderStage;
  readonly orderId: string;
  readonly correlationId: string;
  readonly raisedAt: string;
  readonly slaDueAt: string;
  readonly recommendedAction: string;
  readonly reasonCodes: readonly string[];
  readonly violations?: readonly FieldViolation[];
  /** What a person needs to decide: e.g. the quarantined payload, the failed state, the credit figures. */
  readonly context: Readonly<Record<string, unknown>>;
  readonly audit: readonly AuditEntry[];
  /** For exceptions a workflow waits on: the escalation tier now deciding, and its callback token. */
  readonly awaiting?: AwaitingDecision;
  /** Set once, when the exception is decided. */
  readonly resolution?: ExceptionResolution;
}

export interface AwaitingDecision {
  readonly tier: number;
  readonly role: string;
  /** The waiting workflow task's token (SendTaskSuccess); withdrawn by Step Functions on timeout. */
  readonly taskToken: string;
  readonly since: string;
}

export interface ExceptionResolution {
  /**
   * The decision in the words the waiting path routes on: a credit hold's 'release' | 'reject' (an
   * override releases), any other type's 'approve' | 'reject' | 'override'.
   */
  readonly outcome: PathOutcome;
  /**
   * How the exception was closed (`exception.resolved`'s resolution; 'overridden' flags an override).
   * Absent on records resolved before every type was decidable: see `closureOf`.
   */
  readonly closedAs?: ExceptionClosure;
  readonly decidedBy: string;
  readonly decidedAt: string;
  readonly reason: string;
  /** The escalation tier that decided; 0 for the SLA fallback. */
  readonly tier: number;
}

/** Fields an escalation or a new waiting task changes on an open exception. */
export interface AwaitPatch {
  readonly awaiting: AwaitingDecision;
  readonly ownerTeam: OwnerTeam;
  readonly priority: ExceptionPriority;
  readonly slaDueAt: string;
  readonly audit: AuditEntry;
}

export interface ExceptionRepository {
  /** Idempotent on exceptionId: a redelivered failure does not raise a second exception. */
  raiseIfAbsent(exception: OwnedException): Promise<{ readonly created: boolean }>;
  get(exceptionId: string): Promise<OwnedException | undefined>;
  /** Records who decides now and the token to answer; undefined when the exception is no longer open. */
  awaitDecision(exceptionId: string, patch: AwaitPatch): Promise<OwnedException | undefined>;
  /** Decides an open exception once; a second decision gets the stored exception (with its resolution). */
  resolve(
    current: OwnedException,
    resolution: ExceptionResolution,
    audit: AuditEntry,
  ): Promise<
    | { readonly resolved: true; readonly exception: OwnedException }
    | { readonly resolved: false; readonly existing: OwnedException | undefined }
  >;
}

/** Answers a workflow task waiting on a person (Step Functions SendTaskSuccess / SendTaskFailure). */
export interface DecisionCallbacks {
  /** 'expired' when the token is no longer live (timed out, or its execution ended). */
  succeed(taskToken: string, output: object): Promise<'delivered' | 'expired'>;
  /** Fails the waiting task with the named `error` its Catch matches on; 'expired' as for `succeed`. */
  fail(taskToken: string, error: string, cause: string): Promise<'delivered' | 'expired'>;
}

export interface CanonicalEvent<N extends EventName = EventName> {
  readonly name: N;
  readonly detail: EventDetail<N>;
}

export interface EventPublisher {
  publish(events: readonly CanonicalEvent[]): Promise<void>;
}

export interface CreditDataPort {
  /** undefined when the customer is unknown to the system of record. */
  getCreditProfile(customerId: string): Promise<CreditProfile | undefined>;
}

export interface SiteLogistics {
  readonly siteId: string;
  readonly cutoffHourUtc: number;
  readonly transitDays: Readonly<Partial<Record<ServiceLevel, number>>>;
}

export interface StockSnapshot {
  readonly sites: readonly SiteStock[];
  readonly logistics: readonly SiteLogistics[];
}

export interface InventoryPort {
  getStock(skus: readonly string[], shipToCountry: string): Promise<StockSnapshot>;
  reserve(request: {
    orderId: string;
    siteId: string;
    lines: readonly AllocatedLine[];
    idempotencyKey: string;
  }): Promise<{ reservationId: string }>;
}

export interface AwaitingSubstitute {
  readonly lineNo: number;
  readonly originalSku: string;
  readonly substituteSku: string;
  readonly quantity: number;
  readonly unitPrice: number;
  readonly value: number;
  /** Gross margin of the substitute at the price charged. */
  readonly marginPct: number;
  readonly approvalReasonCodes: readonly string[];
}

/** A customer's standing substitutes, as the ERP keeps them, with the item master's cost and list price. */
export interface CustomerSubstitutes {
  readonly approvedSubstitutes: readonly ApprovedSubstitute[];
  /** Cost and list price of every substitute listed. */
  readonly catalogue: Readonly<Record<string, CatalogueEntry | undefined>>;
}

export interface SubstitutionSourcePort {
  /** The customer's list for the given (short) SKUs, in the customer's order of preference. */
  substitutesFor(customerId: string, skus: readonly string[]): Promise<CustomerSubstitutes>;
}

export interface WarehousePort {
  release(request: {
    orderId: string;
    siteId: string;
    lines: readonly AllocatedLine[];
    priority: number;
    shipBy: string;
    serviceLevel: ServiceLevel;
    idempotencyKey: string;
  }): Promise<{ releaseId: string }>;
}

export interface ExecutionStarter {
  /** Starts (or finds, when the same name already ran with the same input) a workflow execution. */
  start(
    stateMachineArn: string,
    name: string,
    input: object,
  ): Promise<{ executionArn: string; alreadyStarted: boolean }>;
}

/** Shipping data of an item (ERP item master): what a carrier rates on. */
export interface ItemPhysicals {
  readonly sku: string;
  readonly weightKg: number;
  readonly lengthCm: number;
  readonly widthCm: number;
  readonly heightCm: number;
  readonly hazmat: boolean;
  readonly oversize: boolean;
}

export interface ItemMasterPort {
  getPhysicals(skus: readonly string[]): Promise<ReadonlyMap<string, ItemPhysicals>>;
}

/** The item master as an ingress checks an order or a receipt against it (the ERP adapter). */
export interface ItemReferencePort {
  /** The SKUs of `skus` the item master does not know (none when it knows them all). */
  unknownSkus(skus: readonly string[]): Promise<readonly string[]>;
}

/** Rates and books freight (the TMS adapter). */
export interface CarrierPort {
  rate(query: ShipmentSpec & { readonly serviceLevel?: ServiceLevel }): Promise<RateShopResult>;
  book(
    request: ShipmentSpec & {
      readonly shipmentId: string;
      readonly carrier: string;
      readonly service: string;
      readonly idempotencyKey: string;
    },
  ): Promise<CarrierBooking>;
}

/** Where an item comes from, per the ERP item master (SupplyType, Vendor, VendorLeadTimeDays). */
export interface VendorSourcing {
  readonly sku: string;
  readonly supplyType: 'stock' | 'drop-ship';
  /** The vendor that ships the item direct; null for stocked items. */
  readonly vendorId: string | null;
  readonly leadTimeDays: number | null;
}

/** Item sourcing from the ERP item master; SKUs it does not know are absent from the map. */
export interface VendorSourcingPort {
  getVendorSourcing(skus: readonly string[]): Promise<ReadonlyMap<string, VendorSourcing>>;
}

/** Places purchase orders with drop-ship vendors (the vendor adapter). */
export interface PurchasingPort {
  placePurchaseOrder(order: PurchaseOrder): Promise<VendorConfirmation>;
}

/** A vendor's acknowledgement as the order keeps it. */
export interface RecordedPurchaseOrder extends VendorConfirmation {
  /** ISO instant Handoff received the acknowledgement. */
  readonly placedAt: string;
}

/**
 * The OrderRepository as the drop-ship path uses it: it reads, annotates and moves orders, never creates one
 * (the purchase orders are the record's `purchaseOrders`).
 */
export type DropShipOrders = Pick<OrderRepository, 'get' | 'annotate' | 'transition'>;
