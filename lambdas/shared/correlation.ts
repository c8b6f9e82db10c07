import { AsyncLocalStorage } from 'node:async_hooks';

const current = new AsyncLocalStorage<string>();

/**
 * Names the business correlation id (the order, or the receipt being worked) for the rest of this
 * invocation: partner calls carry it as `X-Correlation-Id`, so a partner's logs, and the sandboxes, can
 * tell one order's call from another's identical one (two orders reading one customer's credit segment).
 */
export function enterCorrelation(correlationId: string): void {
  current.enterWith(correlationId);
}

/** The invocation's correlation id, if its handler named one. */
export function correlationId(): string | undefined {
  return current.getStore();
}
