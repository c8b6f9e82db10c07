import type { OrderStage } from '../../contracts/vocabulary.ts';

/**
 * Which stage may follow which. The order record refuses any other move, so a late, duplicated or
 * out-of-order step cannot drag an order backwards.
 */
export const ALLOWED_TRANSITIONS: Readonly<Record<OrderStage, readonly OrderStage[]>> = {
  received: ['accepted', 'rejected', 'exception'],
  accepted: ['credit-approved', 'credit-hold', 'rejected', 'exception'],
  'credit-hold': ['credit-approved', 'rejected', 'exception'],
  'credit-approved': ['allocated', 'backordered', 'exception'],
  allocated: ['released', 'release-deferred', 'exception'],
  'release-deferred': ['released', 'exception'],
  backordered: ['allocated', 'closed', 'exception'],
  released: ['shipped', 'exception'],
  shipped: ['shipped', 'delivered', 'invoiced', 'exception'],
  delivered: ['invoiced', 'closed', 'exception'],
  invoiced: ['shipped', 'delivered', 'closed', 'exception'],
  closed: [],
  rejected: ['closed'],
  exception: [
    'accepted',
    'credit-hold',
    'credit-approved',
    'allocated',
    'backordered',
    'released',
    // Proof of shipment for an order parked after its release reached the warehouse but the answer did not
    // (see `recordShipment`): the goods left, so the record follows them.
    'shipped',
    'rejected',
    'closed',
  ],
};

export function canTransition(from: OrderStage, to: OrderStage): boolean {
  return ALLOWED_TRANSITIONS[from].includes(to);
}
