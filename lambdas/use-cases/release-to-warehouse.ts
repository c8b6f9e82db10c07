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
 * or defer a future-dated order until its release window opens. Releasing calls the WMS once per
 * facility shipment (idempotency key each), then records `released` and announces `warehouse.released`
 * per facility.
 */
export async function releaseToWarehouse(
  orderId: string,
  deps: ReleaseDeps,
  options: { readonly immediate?: boolean } = {},
): Promise<ReleaseStepResult> {
  const record = await deps.orders.get(orderId);
  if (!record) throw new OrderNotFound(orderId);
  if (record.stage === 'released' && record.release) return { ...record.release };
  if ((record.stage !== 'allocated' && record.stage !== 'release-deferred') || !record.allocation?.siteId) {
    throw new IllegalStageTransition(orderId, record.stage, 'released');
  }
  const { order, allocation } = record;
  // A split order ships from several facilities; it is released as one, timed by its slowest shipment.
  const shipments = allocation.shipments?.length
    ? allocation.shipments
    : [
        {
          siteId: allocation.siteId as string,
          lines: allocation.allocated,
          cutoffHourUtc: allocation.cutoffHourUtc,
          transitDays: allocation.transitDays,
        },
      ];
  const split = shipments.length > 1;
  const now = deps.clock.now();
  const transit = (days: number | undefined) => days ?? deps.defaultTransitDays ?? 3;
  const cutoff = (hour: number | undefined) => hour ?? deps.defaultCutoffHourUtc ?? 16;
  const decided = decideRelease({
    serviceLevel: order.serviceLevel,
    customerPriority: order.customer.priority,
    promiseDate: order.promiseDate,
    now: now.toISOString(),
    transitDays: Math.max(...shipments.map((s) => transit(s.transitDays))),
    siteCutoffHourUtc: Math.min(...shipments.map((s) => cutoff(s.cutoffHourUtc))),
  });
  // The expedited path releases at once: its premium carrier is booked, and a wave would only delay it.
  const decision =
    options.immediate && decided.action === 'defer'
      ? {
          ...decided,
          action: 'release' as const,
          releaseAt: now.toISOString(),
          reasonCodes: [...decided.reasonCodes, 'RELEASED_IMMEDIATELY_EXPEDITED'],
        }
      : decided;
  const summary = {
    action: decision.action,
    releaseAt: decision.releaseAt,
    shipBy: decision.shipBy,
    priority: decision.priority,
  };

  if (decision.action === 'defer') {
    if (record.stage === 'allocated') {
      await deps.orders.transition(record, 'release-deferred', decision.reasonCodes, { release: summary });
      // The SLA clock of allocation-to-release pauses until the window opens (the deferral is the plan).
      await deps.events.publish([
        {
          name: 'release.deferred',
          detail: {
            schemaVersion: 1,
            orderId,
            correlationId: orderId,
            idempotencyKey: idempotencyKey(orderId, 'release.deferred'),
            occurredAt: now.toISOString(),
            releaseAt: decision.releaseAt,
            shipBy: decision.shipBy,
            reasonCodes: decision.reasonCodes,
          },
        },
      ]);
    }
    return summary;
  }

  const released: { siteId: string; releaseId: string; lines: typeof allocation.allocated }[] = [];
  for (const shipment of shipments) {
    const key = split
      ? idempotencyKey(orderId, 'release', shipment.siteId)
      : idempotencyKey(orderId, 'release');
    const { releaseId } = await deps.warehouse.release({
      orderId,
      siteId: shipment.siteId,
      lines: shipment.lines,
      priority: decision.priority,
      shipBy: decision.shipBy,
      serviceLevel: order.serviceLevel,
      idempotencyKey: key,
    });
    released.push({ siteId: shipment.siteId, releaseId, lines: shipment.lines });
  }
  const releaseId = released.map((r) => r.releaseId).join(',');
  await deps.orders.transition(record, 'released', decision.reasonCodes, {
    release: { ...summary, releaseId },
  });
  await deps.events.publish(
    released.map((shipment) => ({
      name: 'warehouse.released' as const,
      detail: {
        schemaVersion: 1 as const,
        orderId,
        correlationId: orderId,
        idempotencyKey: split
          ? idempotencyKey(orderId, 'release', shipment.siteId)
          : idempotencyKey(orderId, 'release'),
        occurredAt: now.toISOString(),
        siteId: shipment.siteId,
        releaseId: shipment.releaseId,
        priority: decision.priority,
        shipBy: decision.shipBy,
        lines: [...shipment.lines],
        reasonCodes: decision.reasonCodes,
      },
    })),
  );
  return { ...summary, releaseId };
}
