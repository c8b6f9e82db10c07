import type { CanonicalOrder } from '../../contracts/order.ts';
import type { FulfilmentPath } from '../../contracts/vocabulary.ts';
import { inventoryConfidence } from '../core/inventory-confidence.ts';
import { marginPct, orderCost, orderValue } from '../core/money.ts';
import {
  classifyOrder,
  type InventoryConfidence,
  type RoutingDecision,
  resolveDeployedPath,
} from '../core/routing.ts';
import type {
  Clock,
  EventPublisher,
  ExecutionStarter,
  InventoryPort,
  OrderRepository,
} from '../ports/index.ts';
import { OrderNotFound, PartnerUnavailable } from '../shared/errors.ts';

export interface RouteDeps {
  readonly orders: OrderRepository;
  readonly executions: ExecutionStarter;
  readonly events: EventPublisher;
  readonly clock: Clock;
  /** State machine ARN per deployed fulfilment path. */
  readonly pathStateMachines: Readonly<Partial<Record<FulfilmentPath, string>>>;
  /** Stock by facility, read when a split across facilities could be the better path. */
  readonly inventory?: InventoryPort;
  /** Most facilities one order may be split across. @default DEFAULT_MAX_SPLIT_SITES */
  readonly maxSplitSites?: number;
}

export type RouteOutcome =
  | {
      readonly kind: 'started';
      readonly path: FulfilmentPath;
      readonly executionArn: string;
      readonly alreadyStarted: boolean;
      readonly reasonCodes: readonly string[];
    }
  | { readonly kind: 'ignored'; readonly reason: string };

/** The input every path execution starts with: keys, never the whole order (256 KB payload limit). */
export interface PathExecutionInput {
  readonly orderId: string;
  readonly correlationId: string;
  readonly path: FulfilmentPath;
  readonly priorityScore: number;
}

export function classify(order: CanonicalOrder, inventory?: InventoryConfidence): RoutingDecision {
  const value = orderValue(order.lines);
  return classifyOrder({
    channel: order.channel,
    serviceLevel: order.serviceLevel,
    sourceSystem: order.source.system,
    customerPriority: order.customer.priority,
    terms: order.customer.terms.fulfilment,
    orderValue: value,
    marginPct: marginPct(value, orderCost(order.lines)),
    lines: order.lines,
    inventory,
  });
}

/**
 * Stock matters to the path only when the order could split: stocked lines, not EDI replenishment, and a
 * split path deployed. Ship-complete orders are read too, so a split their terms block is on record. A WMS
 * outage routes single-site (INVENTORY_UNAVAILABLE) rather than holding the order.
 */
async function readInventory(
  order: CanonicalOrder,
  deps: RouteDeps,
): Promise<{ inventory?: InventoryConfidence; reasonCodes: string[] }> {
  const stocked = order.lines.filter((line) => line.dropShip !== true);
  const couldSplit =
    deps.inventory !== undefined &&
    deps.pathStateMachines['multi-site-split'] !== undefined &&
    stocked.length > 0 &&
    order.source.system !== 'edi';
  if (!couldSplit || !deps.inventory) return { reasonCodes: [] };
  try {
    const snapshot = await deps.inventory.getStock(
      stocked.map((line) => line.sku),
      order.shipTo.country,
    );
    const inventory = inventoryConfidence(
      stocked.map(({ lineNo, sku, quantity }) => ({ lineNo, sku, quantity })),
      snapshot.sites,
      deps.maxSplitSites === undefined ? {} : { maxSites: deps.maxSplitSites },
    );
    return { inventory, reasonCodes: [] };
  } catch (error) {
    if (error instanceof PartnerUnavailable) return { reasonCodes: ['INVENTORY_UNAVAILABLE'] };
    throw error;
  }
}

/**
 * Classifies a received order, records the path and why, and starts the path's execution named after the
 * order. Redelivery is harmless: the record moves only from `received`, and the execution name is unique.
 */
export async function routeOrder(orderId: string, deps: RouteDeps): Promise<RouteOutcome> {
  let record = await deps.orders.get(orderId);
  if (!record) throw new OrderNotFound(orderId);
  if (record.stage !== 'received' && record.stage !== 'accepted') {
    return { kind: 'ignored', reason: `order is already at ${record.stage}` };
  }

  const deployed = new Set(Object.keys(deps.pathStateMachines) as FulfilmentPath[]);
  // Stock is read only for a first routing: a redelivery keeps the recorded path.
  const stock = record.path ? { reasonCodes: [] } : await readInventory(record.order, deps);
  const classified = classify(record.order, stock.inventory);
  const decision = resolveDeployedPath(
    { ...classified, reasonCodes: [...classified.reasonCodes, ...stock.reasonCodes] },
    deployed,
  );
  // Once accepted, a redelivery keeps the recorded path even if the deployed paths changed meanwhile.
  const path = record.path ?? decision.path;
  const stateMachineArn = deps.pathStateMachines[path];
  if (!stateMachineArn) return { kind: 'ignored', reason: `recorded path ${path} is no longer deployed` };

  if (record.stage === 'received') {
    record = await deps.orders.transition(record, 'accepted', decision.reasonCodes, {
      path,
      executionName: orderId,
    });
  }
  const input: PathExecutionInput = {
    orderId,
    correlationId: orderId,
    path,
    priorityScore: decision.priorityScore,
  };
  const started = await deps.executions.start(stateMachineArn, orderId, input);
  await deps.events.publish([
    {
      name: 'order.accepted',
      detail: {
        schemaVersion: 1,
        orderId,
        correlationId: orderId,
        idempotencyKey: `${orderId}:accepted`,
        occurredAt: deps.clock.now().toISOString(),
        path,
        reasonCodes: decision.reasonCodes,
        priorityScore: decision.priorityScore,
        executionName: orderId,
      },
    },
  ]);
  return {
    kind: 'started',
    path,
    executionArn: started.executionArn,
    alreadyStarted: started.alreadyStarted,
    reasonCodes: decision.reasonCodes,
  };
}
