import type { CustomerPriority, ServiceLevel } from './vocabulary.ts';

export const MAX_PRIORITY = 1000;

export const SERVICE_LEVEL_PRIORITY_BASE: Readonly<Record<ServiceLevel, number>> = {
  economy: 100,
  standard: 300,
  expedited: 600,
  'next-day': 800,
};

export const CUSTOMER_PRIORITY_BONUS: Readonly<Record<CustomerPriority, number>> = {
  standard: 0,
  preferred: 50,
  'key-account': 150,
};

/** Service-level base + customer bonus + any extra points, as an integer clamped to 0..1000. */
export function priorityScore(
  serviceLevel: ServiceLevel,
  customerPriority: CustomerPriority,
  extra = 0,
): number {
  const raw = SERVICE_LEVEL_PRIORITY_BASE[serviceLevel] + CUSTOMER_PRIORITY_BONUS[customerPriority] + extra;
  return Math.max(0, Math.min(MAX_PRIORITY, Math.round(raw)));
}
