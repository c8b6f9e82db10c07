import type { BackorderAgedNotice, BackorderNotices, EventPublisher } from '../../ports/index.ts';

/** Announces each aged backorder as `backorder.aged`, which notifications and the WMS consume. */
export class EventBackorderNotices implements BackorderNotices {
  constructor(private readonly events: EventPublisher) {}

  async agedOut(notices: readonly BackorderAgedNotice[]): Promise<void> {
    if (notices.length === 0) return;
    await this.events.publish(
      notices.map((notice) => ({
        name: 'backorder.aged' as const,
        detail: {
          schemaVersion: 1 as const,
          orderId: notice.orderId,
          correlationId: notice.orderId,
          idempotencyKey: notice.idempotencyKey,
          occurredAt: notice.occurredAt,
          backorderId: notice.backorderId,
          lineNo: notice.lineNo,
          sku: notice.sku,
          outstandingQuantity: notice.outstandingQuantity,
          cancelAfter: notice.cancelAfter,
          action: notice.action,
          orderCancelled: notice.orderCancelled,
          reservationIds: [...notice.reservationIds],
          reasonCodes: [...notice.reasonCodes],
        },
      })),
    );
  }
}
