/**
 * The closed vocabularies every contract, rule and report shares. Each is an `as const` tuple so the
 * validators, the TypeScript unions and the published JSON Schemas come from the same list.
 */
export const CHANNELS = ['wholesale', 'retail-replenishment', 'direct-to-customer'] as const;
export type Channel = (typeof CHANNELS)[number];

export const SERVICE_LEVELS = ['economy', 'standard', 'expedited', 'next-day'] as const;
export type ServiceLevel = (typeof SERVICE_LEVELS)[number];

export const CUSTOMER_PRIORITIES = ['standard', 'preferred', 'key-account'] as const;
export type CustomerPriority = (typeof CUSTOMER_PRIORITIES)[number];

export const CUSTOMER_SEGMENTS = ['enterprise', 'mid-market', 'small-business', 'consumer'] as const;
export type CustomerSegment = (typeof CUSTOMER_SEGMENTS)[number];

export const FULFILMENT_TERMS = ['ship-complete', 'ship-partial'] as const;
export type FulfilmentTerms = (typeof FULFILMENT_TERMS)[number];

export const SOURCE_SYSTEMS = ['erp', 'edi', 'portal', 'ecommerce'] as const;
export type SourceSystem = (typeof SOURCE_SYSTEMS)[number];

export const FULFILMENT_PATHS = [
  'standard-single-site',
  'expedited',
  'multi-site-split',
  'drop-ship',
  'edi-retail-replenishment',
  'backorder-reevaluation',
] as const;
export type FulfilmentPath = (typeof FULFILMENT_PATHS)[number];

export const ORDER_STAGES = [
  'received',
  'accepted',
  'credit-hold',
  'credit-approved',
  'allocated',
  'backordered',
  'release-deferred',
  'released',
  'shipped',
  'delivered',
  'invoiced',
  'closed',
  'rejected',
  'exception',
] as const;
export type OrderStage = (typeof ORDER_STAGES)[number];

export const OWNER_TEAMS = ['finance', 'customer-service', 'warehouse', 'logistics', 'integration'] as const;
export type OwnerTeam = (typeof OWNER_TEAMS)[number];

export const EXCEPTION_TYPES = [
  'credit-hold',
  'shortage',
  'substitution',
  'validation',
  'address',
  'carrier-failure',
  'integration-failure',
  'sla-breach',
] as const;
export type ExceptionType = (typeof EXCEPTION_TYPES)[number];

export const EXCEPTION_PRIORITIES = ['low', 'normal', 'high', 'critical'] as const;
export type ExceptionPriority = (typeof EXCEPTION_PRIORITIES)[number];

/** Stages that SLA clocks measure, named by the span they time. */
export const SLA_STAGES = [
  'capture-to-accept',
  'accept-to-credit-decision',
  'credit-to-allocation',
  'allocation-to-release',
  'release-to-ship-confirmation',
  'ship-confirmation-to-invoice',
] as const;
export type SlaStage = (typeof SLA_STAGES)[number];
