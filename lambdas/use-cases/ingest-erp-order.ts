import { ORDER_ID_PATTERN } from '../../contracts/order.ts';
import type { FieldViolation } from '../../contracts/validation.ts';
import { erpOrderId, toCanonicalOrder } from '../adapters/erp/sales-order.ts';
import type {
  CanonicalEvent,
  Clock,
  EventPublisher,
  ExceptionRepository,
  OrderRecord,
  OrderRepository,
  OwnedException,
} from '../ports/index.ts';
import { sha256 } from '../shared/ids.ts';
import { addHours, exceptionRaisedEvent, violationsForEvent } from './exceptions.ts';

export interface IngestDeps {
  readonly orders: OrderRepository;
  readonly exceptions: ExceptionRepository;
  readonly events: EventPublisher;
  readonly clock: Clock;
}

export type IngestOutcome =
  | { readonly kind: 'received'; readonly orderId: string }
  | { readonly kind: 'duplicate'; readonly orderId: string; readonly republished: boolean }
  | {
      readonly kind: 'quarantined';
      readonly orderId: string;
      readonly exceptionId: string;
      readonly violations: readonly FieldViolation[];
      readonly alreadyQuarantined: boolean;
    };

/** Customer service corrects a rejected ERP order within this many hours. */
export const QUARANTINE_SLA_HOURS = 4;
const MAX_KEPT_PAYLOAD_CHARS = 256 * 1024;

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
 */
export async function ingestErpOrder(rawBody: string, deps: IngestDeps): Promise<IngestOutcome> {
  const now = deps.clock.now();
  const occurredAt = now.toISOString();
  const hash = sha256(rawBody);

  let payload: unknown;
  try {
    payload = JSON.parse(rawBody);
  } catch (error) {
    return quarantine(deps, now, rawBody, hash, undefined, [
      {
        path: '',
        rule: 'json',
        message: `is not valid JSON (${error instanceof Error ? error.message : 'unparseable'})`,
      },
    ]);
  }

  const mapped = toCanonicalOrder(payload);
  if (!mapped.ok) return quarantine(deps, now, rawBody, hash, payload, mapped.error.violations);
  const order = mapped.value;

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
    if (existing.payloadHash !== hash) {
      // The live order is not rejected, only this change to it: no order.rejected under its id.
      return quarantine(
        deps,
        now,
        rawBody,
        hash,
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
  options: { readonly announceRejection: boolean } = { announceRejection: true },
): Promise<IngestOutcome> {
  const orderId = quarantineOrderId(payload, hash);
  const exceptionId = `EXC-Q-${hash.slice(0, 24)}`;
  const occurredAt = now.toISOString();
  const paths = [...new Set(violations.map((v) => v.path || '(document)'))].slice(0, 8).join(', ');
  const exception: OwnedException = {
    exceptionId,
    type: 'validation',
    ownerTeam: 'customer-service',
    priority: 'normal',
    state: 'open',
    stage: 'received',
    orderId,
    correlationId: orderId,
    raisedAt: occurredAt,
    slaDueAt: addHours(now, QUARANTINE_SLA_HOURS),
    recommendedAction: `Correct ${paths} in the ERP and resend the sales order; nothing was created in Handoff.`,
    reasonCodes: ['CONTRACT_VIOLATION'],
    violations,
    context: {
      source: 'erp',
      payloadSha256: hash,
      payloadBytes: Buffer.byteLength(rawBody),
      payload: rawBody.length > MAX_KEPT_PAYLOAD_CHARS ? rawBody.slice(0, MAX_KEPT_PAYLOAD_CHARS) : rawBody,
      payloadTruncated: rawBody.length > MAX_KEPT_PAYLOAD_CHARS,
    },
    audit: [
      {
        at: occurredAt,
        actor: 'handoff:erp-order-ingress',
        action: 'quarantined',
        why: 'contract violation',
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
      reasonCodes: ['CONTRACT_VIOLATION'],
      violations: violationsForEvent(violations),
      exceptionId,
    },
  };
  await deps.events.publish([
    ...(options.announceRejection ? [rejected] : []),
    exceptionRaisedEvent(exception, occurredAt),
  ]);
  return { kind: 'quarantined', orderId, exceptionId, violations, alreadyQuarantined: !created };
}
