import { decideRelease } from '../core/release.ts';
import type { Clock, EventPublisher, OrderRepository, WarehousePort } from '../ports/index.ts';
import { IllegalStageTransition, OrderNotFound } from '../shared/errors.ts';
import { idempotencyKey } from '../shared/ids.ts';

export interface ReleaseDeps {
  readonly orders: OrderRepository;
  readonly warehouse: WarehousePort;
  readonly events: EventPublisher;
  readonly clock: Clock;
  /** Used when the WMS gave no transit time for the site and service level. @default 3 */
  readonly defaultTransitDays?: number;
  /** Used when the WMS gave no carrier cut-off for the site. @default 16 */
  readonly defaultCutoffHourUtc?: number;
}

export interface ReleaseStepResult {
  readonly action: 'release' | 'defer';
  readonly releaseAt: string;
  readonly shipBy: string;
  readonly priority: number;
  readonly releaseId?: string;
}

/**
 * The release decision: release now, prioritised by service level, promise date and customer priority,
 * or defer a future-dated order until its release window opens. Releasing calls the WMS once per order
 * (idempotency key), then records `released` and announces `warehouse.released`.
 */
export async function releaseToWarehouse(orderId: string, deps: ReleaseDeps): Promise<ReleaseStepResult> {
  const record = await deps.orders.get(orderId);
  if (!record) throw new OrderNotFound(orderId);
  if (record.stage === 'released' && record.release) return { ...record.release };
  if ((record.stage !== 'allocated' && record.stage !== 'release-deferred') || !record.allocation?.siteId) {
    throw new IllegalStageTransition(orderId, record.stage, 'released');
  }
  const { order, allocation } = record;
  const siteId = allocation.siteId as string;
  const now = deps.clock.now();
  const decision = decideRelease({
    serviceLevel: order.serviceLevel,
    customerPriority: order.customer.priority,
    promiseDate: order.promiseDate,
    now: now.toISOString(),
    transitDays: allocation.transitDays ?? deps.defaultTransitDays ?? 3,
    siteCutoffHourUtc: allocation.cutoffHourUtc ?? deps.defaultCutoffHourUtc ?? 16,
  });
  const summary = {
    action: decision.action,
    releaseAt: decision.releaseAt,
    shipBy: decision.shipBy,
    priority: decision.priority,
  };

  if (decision.action === 'defer') {
    if (record.stage === 'allocated') {
      await deps.orders.transition(record, 'release-deferred', decision.reasonCodes, { release: summary });
    }
    return summary;
  }

  const { releaseId } = await deps.warehouse.release({
    orderId,
    siteId,
    lines: allocation.allocated,
    priority: decision.priority,
    shipBy: decision.shipBy,
    serviceLevel: order.serviceLevel,
    idempotencyKey: idempotencyKey(orderId, 'release'),
  });
  await deps.orders.transition(record, 'released', decision.reasonCodes, {
    release: { ...summary, releaseId },
  });
  await deps.events.publish([
    {
      name: 'warehouse.released',
      detail: {
        schemaVersion: 1,
        orderId,
        correlationId: orderId,
        idempotencyKey: idempotencyKey(orderId, 'release'),
        occurredAt: now.toISOString(),
        siteId,
        releaseId,
        priority: decision.priority,
        shipBy: decision.shipBy,
        lines: [...allocation.allocated],
        reasonCodes: decision.reasonCodes,
      },
    },
  ]);
  return { ...summary, releaseId };
}
