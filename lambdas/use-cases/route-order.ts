import type { CanonicalOrder } from '../../contracts/order.ts';
import type { FulfilmentPath } from '../../contracts/vocabulary.ts';
import { marginPct, orderCost, orderValue } from '../core/money.ts';
import { classifyOrder, resolveDeployedPath } from '../core/routing.ts';
import type { Clock, EventPublisher, ExecutionStarter, OrderRepository } from '../ports/index.ts';
import { OrderNotFound } from '../shared/errors.ts';

export interface RouteDeps {
  readonly orders: OrderRepository;
  readonly executions: ExecutionStarter;
  readonly events: EventPublisher;
  readonly clock: Clock;
  /** State machine ARN per deployed fulfilment path. */
  readonly pathStateMachines: Readonly<Partial<Record<FulfilmentPath, string>>>;
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

export function classify(order: CanonicalOrder) {
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
  });
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
  const decision = resolveDeployedPath(classify(record.order), deployed);
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
