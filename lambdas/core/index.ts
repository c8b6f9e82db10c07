/** Public API of the pure domain core (no I/O, no clock: time is always passed in). */

export type {
  AllocatedLine,
  AllocationPlan,
  AllocationReasonCode,
  AllocationRequest,
  OrderLineDemand,
  ShortLine,
  SiteStock,
  StockPosition,
} from './allocation.ts';
export { allocateSingleSite, availableToPromise, InvalidAllocationInput } from './allocation.ts';
export type {
  AccountStatus,
  CreditAssessment,
  CreditPolicy,
  CreditProfile,
  CreditReasonCode,
} from './credit.ts';
export { ACCOUNT_STATUSES, assessCredit, DEFAULT_CREDIT_POLICY, InvalidCreditInput } from './credit.ts';
export { DomainError, InvalidInputError } from './errors.ts';
export { marginPct, orderCost, orderValue, roundMoney, toCents } from './money.ts';
export {
  CUSTOMER_PRIORITY_BONUS,
  MAX_PRIORITY,
  priorityScore,
  SERVICE_LEVEL_PRIORITY_BASE,
} from './priority.ts';
export type { ReleaseDecision, ReleaseInput } from './release.ts';
export { DEFAULT_RELEASE_WINDOW_DAYS, decideRelease, InvalidReleaseInput } from './release.ts';
export type {
  InventoryConfidence,
  RoutingDecision,
  RoutingInput,
  RoutingLine,
  RoutingPolicy,
  TransportConstraints,
} from './routing.ts';
export {
  classifyOrder,
  DEFAULT_ROUTING_POLICY,
  InvalidRoutingInput,
  LOW_MARGIN_THRESHOLD_PCT,
  NoDeployedPath,
  resolveDeployedPath,
} from './routing.ts';
export type {
  Channel,
  CustomerPriority,
  FulfilmentPath,
  FulfilmentTerms,
  ServiceLevel,
  SourceSystem,
} from './vocabulary.ts';
export {
  CHANNELS,
  CUSTOMER_PRIORITIES,
  FULFILMENT_PATHS,
  FULFILMENT_TERMS,
  isOneOf,
  SERVICE_LEVELS,
  SOURCE_SYSTEMS,
} from './vocabulary.ts';
