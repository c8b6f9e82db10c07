import { ORDER_ID_PATTERN } from '../../contracts/order.ts';
import { ContractViolation } from '../../contracts/validation.ts';

/** Path steps receive keys, not orders: `{ orderId }` and, from a Catch, the failure. */
export function orderIdOf(input: unknown): string {
  const orderId = (input as { orderId?: unknown } | null)?.orderId;
  if (typeof orderId !== 'string' || !ORDER_ID_PATTERN.test(orderId)) {
    throw new ContractViolation('step input', [
      { path: 'orderId', rule: `pattern:${ORDER_ID_PATTERN.source}`, message: 'must be an order id' },
    ]);
  }
  return orderId;
}
