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
  BackorderFill,
  BackorderLine,
  BackorderReevaluation,
  BackorderRule,
  BackorderSweep,
} from './backorder.ts';
export {
  backorderIdFor,
  createBackorderLines,
  InvalidBackorderInput,
  reevaluateBackorders,
  sweepAgedBackorders,
} from './backorder.ts';
export type {
  AccountStatus,
  CreditAssessment,
  CreditPolicy,
  CreditProfile,
  CreditReasonCode,
} from './credit.ts';
export { ACCOUNT_STATUSES, assessCredit, DEFAULT_CREDIT_POLICY, InvalidCreditInput } from './credit.ts';
export type { AutoApproveBand, CreditLane, CreditLaneDecision, CreditReleaseRecord } from './credit-bands.ts';
export {
  creditLane,
  DEFAULT_AUTO_APPROVE_BANDS,
  DEFAULT_CREDIT_HOLD_SLAS,
  InvalidCreditLaneInput,
  InvalidCreditReleaseInput,
  recordCreditRelease,
} from './credit-bands.ts';
export { DomainError, InvalidInputError } from './errors.ts';
export type { EscalationFallback, EscalationLadder, EscalationTier } from './escalation.ts';
export {
  CREDIT_HOLD_LADDER,
  ESCALATION_LADDERS,
  InvalidEscalationInput,
  ladderFor,
  slaSeconds,
  tierOf,
  tierPriority,
} from './escalation.ts';
export type { BuildInvoiceResult, Invoice, InvoicingStatus } from './invoice.ts';
export {
  buildInvoice,
  InvalidInvoiceInput,
  invoiceIdFor,
  invoicingStatus,
  LineNotOnOrder,
  OverInvoicing,
  ProofOfShipmentMissing,
  ShipmentOrderMismatch,
} from './invoice.ts';
export { marginPct, orderCost, orderValue, roundMoney, toCents } from './money.ts';
export type { MultiSitePlan, MultiSiteRequest, Shipment } from './multi-site-allocation.ts';
export { allocateAcrossSites } from './multi-site-allocation.ts';
export type { NotificationPlan, NotificationRequest } from './notifications.ts';
export { customerHoldCategory, InvalidNotificationInput, planNotification } from './notifications.ts';
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
export type { SubstitutionDecisionRecord, SubstitutionProposal } from './substitution.ts';
export {
  decideSubstitution,
  InvalidSubstitutionDecision,
  InvalidSubstitutionInput,
  proposeSubstitutions,
} from './substitution.ts';
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
export type { Wave, WavePlan } from './waves.ts';
export { InvalidWavePlanInput, planWaves } from './waves.ts';
