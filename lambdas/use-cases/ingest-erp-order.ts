import { ORDER_ID_PATTERN } from '../../contracts/order.ts';
import type { FieldViolation } from '../../contracts/validation.ts';
import { erpOrderId, salesOrderSizeViolation, toCanonicalOrder } from '../adapters/erp/sales-order.ts';
import { shipToAddressIssues } from '../core/address.ts';
import type {
  CanonicalEvent,
  Clock,
  EventPublisher,
  ExceptionRepository,
  ItemReferencePort,
  OrderRecord,
  OrderRepository,
  OwnedException,
} from '../ports/index.ts';
import { sha256 } from '../shared/ids.ts';
import {
  addHours,
  exceptionRaisedEvent,
  keptPayload,
  keptViolations,
  violationsForEvent,
} from './exceptions.ts';

export interface IngestDeps {
  readonly orders: OrderRepository;
  readonly exceptions: ExceptionRepository;
  readonly events: EventPublisher;
  readonly clock: Clock;
  /** The ERP item master: an order naming an item it does not know is refused at the door. */
  readonly items: ItemReferencePort;
}

export type IngestOutcome =
  | { readonly kind: 'received'; readonly orderId: string }
  | { readonly kind: 'duplicate'; readonly orderId: string; readonly republished: boolean }
  | {
      readonly kind: 'quarantined';
      readonly orderId: string;
      readonly exceptionId: string;
      /** As the exception keeps them: at most MAX_VIOLATIONS_KEPT. */
      readonly violations: readonly FieldViolation[];
      readonly alreadyQuarantined: boolean;
    };

/** Customer service corrects a rejected ERP order within this many hours. */
export const QUARANTINE_SLA_HOURS = 4;

/** The order id to file a rejection under: the ERP number when it can be read, else a payload hash. */
function quarantineOrderId(payload: unknown, hash: string): string {
  const salesOrder = (payload as { SalesOrder?: unknown } | null)?.SalesOrder;
  if (typeof salesOrder === 'string') {
    const candidate = erpOrderId(salesOrder.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 60));
    if (ORDER_ID_PATTERN.test(candidate)) return candidate;
  }
  return `UNIDENTIFIED-${hash.slice(0, 16)}`;
}

/**
 * ERP sales order in, `order.received` out — or a precise rejection kept for an operator. Safe to run
 * twice on the same message: the order record is written once, and a quarantined payload maps to one
 * exception id.
 *
 * Refused at the door, every broken rule at once: a message over 256 KB (its order.received could not be
 * published), anything that is not a sales order by the ERP contract (contracts/text.ts decides which texts
 * are accepted, normalised to NFC, or refused), and items the ERP item master does not know. The same sales
 * order sent again is a no-op when its content is the same (compared as the canonical order, so re-serialised
 * JSON or NFD text is the same order) and a named conflict when it is not.
 */
export async function ingestErpOrder(rawBody: string, deps: IngestDeps): Promise<IngestOutcome> {
  const now = deps.clock.now();
  const occurredAt = now.toISOString();
  const rawHash = sha256(rawBody);
  const tooLarge = salesOrderSizeViolation(rawBody);
  const sized = tooLarge ? [tooLarge] : [];

  let payload: unknown;
  try {
    payload = JSON.parse(rawBody);
  } catch (error) {
    return quarantine(deps, now, rawBody, rawHash, undefined, [
      ...sized,
      {
        path: '',
        rule: 'json',
        message: `is not valid JSON (${error instanceof Error ? error.message : 'unparseable'})`,
      },
    ]);
  }

  const mapped = toCanonicalOrder(payload);
  if (!mapped.ok || tooLarge) {
    const violations = [...sized, ...(mapped.ok ? [] : mapped.error.violations)];
    return quarantine(deps, now, rawBody, rawHash, payload, violations);
  }
  const order = mapped.value;
  const unknown = new Set(await deps.items.unknownSkus(order.lines.map((line) => line.sku)));
  if (unknown.size > 0) {
    const violations = order.lines.flatMap((line, index): FieldViolation[] =>
      unknown.has(line.sku)
        ? [
            {
              path: `Items[${index}].Material`,
              rule: 'knownItem',
              message: `names no item in the ERP item master (${line.sku})`,
            },
          ]
        : [],
    );
    return quarantine(deps, now, rawBody, rawHash, payload, violations);
  }
  // A ship-to no carrier can deliver to is customer service's to confirm with the customer, now, not the
  // carrier's to bounce at label time days later.
  const addressIssues = shipToAddressIssues(order.shipTo);
  if (addressIssues.length > 0) {
    const violations = addressIssues.map(
      (issue): FieldViolation => ({
        path: issue.field === 'postalCode' ? 'ShipTo.PostalCode' : 'ShipTo.Region',
        rule: issue.rule,
        message: issue.message,
      }),
    );
    return quarantine(deps, now, rawBody, rawHash, payload, violations, {
      announceRejection: true,
      cause: 'address',
    });
  }

  // The order's content, not the message's bytes: the same order re-serialised is the same order.
  const hash = sha256(JSON.stringify(order));
  const record: OrderRecord = {
    orderId: order.orderId,
    order,
    stage: 'received',
    version: 1,
    payloadHash: hash,
    receivedAt: occurredAt,
    updatedAt: occurredAt,
    stageHistory: [{ stage: 'received', at: occurredAt, reasonCodes: ['ERP_SALES_ORDER'] }],
  };
  const created = await deps.orders.createIfAbsent(record);
  if (!created.created) {
    const existing = created.existing;
    // Orders received before content hashing carry the hash of their message bytes.
    if (existing.payloadHash !== hash && existing.payloadHash !== rawHash) {
      // The live order is not rejected, only this change to it: no order.rejected under its id.
      return quarantine(
        deps,
        now,
        rawBody,
        rawHash,
        payload,
        [
          {
            path: 'SalesOrder',
            rule: 'changedAfterReceipt',
            message: `was already received on ${existing.receivedAt} with different content; amend the order through customer service`,
          },
        ],
        { announceRejection: false },
      );
    }
    // The first delivery may have died between the write and the publish: publish again while the order
    // has not moved on. Consumers recognise the repeat by its idempotency key.
    const republish = existing.stage === 'received';
    if (republish) await deps.events.publish([orderReceived(existing, occurredAt)]);
    return { kind: 'duplicate', orderId: existing.orderId, republished: republish };
  }
  await deps.events.publish([orderReceived(record, occurredAt)]);
  return { kind: 'received', orderId: order.orderId };
}

function orderReceived(record: OrderRecord, occurredAt: string): CanonicalEvent<'order.received'> {
  return {
    name: 'order.received',
    detail: {
      schemaVersion: 1,
      orderId: record.orderId,
      correlationId: record.orderId,
      idempotencyKey: `${record.orderId}:received`,
      occurredAt,
      order: record.order,
    },
  };
}

async function quarantine(
  deps: IngestDeps,
  now: Date,
  rawBody: string,
  hash: string,
  payload: unknown,
  violations: readonly FieldViolation[],
  options: { readonly announceRejection: boolean; readonly cause?: 'contract' | 'address' } = {
    announceRejection: true,
  },
): Promise<IngestOutcome> {
  const address = options.cause === 'address';
  const orderId = quarantineOrderId(payload, hash);
  const exceptionId = `EXC-Q-${hash.slice(0, 24)}`;
  const occurredAt = now.toISOString();
  const paths = [...new Set(violations.map((v) => v.path || '(document)'))].slice(0, 8).join(', ');
  const kept = keptViolations(violations);
  const exception: OwnedException = {
    exceptionId,
    type: address ? 'address' : 'validation',
    ownerTeam: 'customer-service',
    priority: 'normal',
    state: 'open',
    stage: 'received',
    orderId,
    correlationId: orderId,
    raisedAt: occurredAt,
    slaDueAt: addHours(now, QUARANTINE_SLA_HOURS),
    recommendedAction: (address
      ? `Confirm the ship-to with the customer (${paths} ${violations[0]?.message ?? ''}), correct it in the ERP and resend the sales order; nothing was created in Handoff.`
      : `Correct ${paths} in the ERP and resend the sales order; nothing was created in Handoff.`
    ).slice(0, 500),
    reasonCodes: [address ? 'ADDRESS_UNDELIVERABLE' : 'CONTRACT_VIOLATION'],
    violations: kept.violations,
    context: { source: 'erp', ...keptPayload(rawBody), violationCount: kept.violationCount },
    audit: [
      {
        at: occurredAt,
        actor: 'handoff:erp-order-ingress',
        action: 'quarantined',
        why: address ? 'ship-to address cannot be delivered to' : 'contract violation',
      },
    ],
  };
  const { created } = await deps.exceptions.raiseIfAbsent(exception);
  const rejected: CanonicalEvent<'order.rejected'> = {
    name: 'order.rejected',
    detail: {
      schemaVersion: 1,
      orderId,
      correlationId: orderId,
      idempotencyKey: `${exceptionId}:rejected`,
      occurredAt,
      stage: 'received',
      reasonCodes: [address ? 'ADDRESS_UNDELIVERABLE' : 'CONTRACT_VIOLATION'],
      violations: violationsForEvent(violations),
      exceptionId,
    },
  };
  await deps.events.publish([
    ...(options.announceRejection ? [rejected] : []),
    exceptionRaisedEvent(exception, occurredAt),
  ]);
  return {
    kind: 'quarantined',
    orderId,
    exceptionId,
    violations: kept.violations,
    alreadyQuarantined: !created,
  };
}
