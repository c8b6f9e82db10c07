import { DomainError, InvalidInputError } from './errors.ts';
import { priorityScore } from './priority.ts';
import {
  CHANNELS,
  type Channel,
  CUSTOMER_PRIORITIES,
  type CustomerPriority,
  FULFILMENT_TERMS,
  type FulfilmentPath,
  type FulfilmentTerms,
  isOneOf,
  SERVICE_LEVELS,
  type ServiceLevel,
  SOURCE_SYSTEMS,
  type SourceSystem,
} from './vocabulary.ts';

export interface RoutingLine {
  sku: string;
  quantity: number;
  dropShip?: boolean;
  hazmat?: boolean;
  oversize?: boolean;
}

/**
 * What the WMS snapshot says about filling the order, taken by the router before it chooses a path.
 * Percentages are of ordered units, available-to-promise (safety stock held back).
 */
export interface InventoryConfidence {
  /** The best single facility's fill. */
  bestSiteFillPct: number;
  /** The whole network's fill, within the split limit. */
  networkFillPct: number;
  /** How far the snapshot can be trusted: 'low' when it is stale or a cycle count is open. */
  confidence: 'high' | 'low';
}

/** Transport constraints known at routing time. */
export interface TransportConstraints {
  /** Today's last premium-carrier pickup has passed at the best facility: an expedite ships tomorrow. */
  premiumCutoffPassed?: boolean;
}

export interface RoutingInput {
  channel: Channel;
  serviceLevel: ServiceLevel;
  sourceSystem: SourceSystem;
  customerPriority: CustomerPriority;
  terms: FulfilmentTerms;
  orderValue: number;
  marginPct: number;
  lines: readonly RoutingLine[];
  /** Absent when the router could not read stock: the order then goes the single-site way. */
  inventory?: InventoryConfidence | undefined;
  transport?: TransportConstraints | undefined;
}

/** The distributor's routing thresholds. */
export interface RoutingPolicy {
  /**
   * Below this margin a premium carrier would make an expedited order loss-making, so it ships standard
   * unless the customer is a key account (whose service matters more than one order's margin).
   */
  expediteMinMarginPct: number;
}

export const DEFAULT_ROUTING_POLICY: RoutingPolicy = { expediteMinMarginPct: 5 };

export interface RoutingDecision {
  path: FulfilmentPath;
  reasonCodes: string[];
  priorityScore: number;
}

/** Orders whose margin is below this percentage are flagged LOW_MARGIN. */
export const LOW_MARGIN_THRESHOLD_PCT = 10;

export class InvalidRoutingInput extends InvalidInputError {
  override name = 'InvalidRoutingInput';
}

/** Neither the classified path nor the standard fallback is deployed: nothing can run the order. */
export class NoDeployedPath extends DomainError {
  override name = 'NoDeployedPath';
  readonly retryable = false;
  readonly requestedPath: FulfilmentPath;

  constructor(requestedPath: FulfilmentPath) {
    super(
      `neither path '${requestedPath}' nor the fallback 'standard-single-site' is deployed; cannot route the order`,
    );
    this.requestedPath = requestedPath;
  }
}

function requireOneOf<T extends string>(field: string, values: readonly T[], value: unknown): void {
  if (!isOneOf(values, value)) {
    throw new InvalidRoutingInput(field, `must be one of ${values.join(', ')} (got ${String(value)})`);
  }
}

function requirePct(field: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 100) {
    throw new InvalidRoutingInput(field, `must be a percentage between 0 and 100 (got ${String(value)})`);
  }
}

function validate(input: RoutingInput, policy: RoutingPolicy): void {
  if (input.inventory !== undefined) {
    requirePct('inventory.bestSiteFillPct', input.inventory.bestSiteFillPct);
    requirePct('inventory.networkFillPct', input.inventory.networkFillPct);
    if (input.inventory.networkFillPct < input.inventory.bestSiteFillPct) {
      throw new InvalidRoutingInput(
        'inventory.networkFillPct',
        `must be at least bestSiteFillPct (${input.inventory.bestSiteFillPct}): the network includes the best site`,
      );
    }
    requireOneOf('inventory.confidence', ['high', 'low'], input.inventory.confidence);
  }
  if (!Number.isFinite(policy.expediteMinMarginPct)) {
    throw new InvalidRoutingInput('policy.expediteMinMarginPct', 'must be a finite number');
  }
  requireOneOf('channel', CHANNELS, input.channel);
  requireOneOf('serviceLevel', SERVICE_LEVELS, input.serviceLevel);
  requireOneOf('sourceSystem', SOURCE_SYSTEMS, input.sourceSystem);
  requireOneOf('customerPriority', CUSTOMER_PRIORITIES, input.customerPriority);
  requireOneOf('terms', FULFILMENT_TERMS, input.terms);
  if (typeof input.orderValue !== 'number' || !Number.isFinite(input.orderValue) || input.orderValue < 0) {
    throw new InvalidRoutingInput(
      'orderValue',
      `must be a finite number >= 0 (got ${String(input.orderValue)})`,
    );
  }
  if (typeof input.marginPct !== 'number' || !Number.isFinite(input.marginPct)) {
    throw new InvalidRoutingInput('marginPct', `must be a finite number (got ${String(input.marginPct)})`);
  }
  // An empty order would vacuously be "all lines drop-ship"; refuse it instead.
  if (!Array.isArray(input.lines) || input.lines.length === 0) {
    throw new InvalidRoutingInput('lines', 'must contain at least one line');
  }
  input.lines.forEach((line, i) => {
    if (typeof line.sku !== 'string' || line.sku.length === 0) {
      throw new InvalidRoutingInput(`lines[${i}].sku`, 'must be a non-empty string');
    }
    if (!Number.isInteger(line.quantity) || line.quantity <= 0) {
      throw new InvalidRoutingInput(
        `lines[${i}].quantity`,
        `must be a positive integer (got ${String(line.quantity)})`,
      );
    }
  });
}

/** 'next-day' -> 'SERVICE_LEVEL_NEXT_DAY'. */
function serviceLevelCode(level: ServiceLevel): string {
  return `SERVICE_LEVEL_${level.toUpperCase().replaceAll('-', '_')}`;
}

/**
 * Classifies an order onto a fulfilment path. Rules are evaluated in order and the first match sets the
 * path, but the codes of every rule that matched are kept (winner first), followed by observation codes:
 *
 * 1. every line drop-ship -> 'drop-ship' [ALL_LINES_VENDOR_DIRECT]
 * 2. retail-replenishment via EDI -> 'edi-retail-replenishment' [EDI_REPLENISHMENT]
 * 3. expedited / next-day -> 'expedited' [SERVICE_LEVEL_*], unless
 *    - hazmat or oversize lines force ground: standard [EXPEDITE_BLOCKED_HAZMAT / _OVERSIZE], or
 *    - the margin is below policy.expediteMinMarginPct and the customer is not a key account:
 *      standard [EXPEDITE_BLOCKED_LOW_MARGIN], or
 *    - no single facility can fill it but the network can, under ship-partial terms: the split path
 *      (an expedite from one site would ship short) [EXPEDITE_NEEDS_SPLIT]
 * 4. no single facility fills the order, the network does, terms allow split shipments, and the stock
 *    snapshot is trusted -> 'multi-site-split' [NO_SINGLE_SITE_FILLS, NETWORK_FILLS]; under ship-complete
 *    terms the order stays single-site [SPLIT_BLOCKED_SHIP_COMPLETE] and waits for stock there
 * 5. otherwise 'standard-single-site' [DEFAULT_STANDARD]
 *
 * Observations: HAZMAT_LINES, OVERSIZE_LINES, MIXED_DROP_SHIP, LOW_MARGIN, KEY_ACCOUNT, SHIP_COMPLETE,
 * LOW_INVENTORY_CONFIDENCE, SHORT_ACROSS_NETWORK, PREMIUM_CUTOFF_PASSED.
 */
export function classifyOrder(
  input: RoutingInput,
  policy: RoutingPolicy = DEFAULT_ROUTING_POLICY,
): RoutingDecision {
  validate(input, policy);

  const dropShipLines = input.lines.filter((l) => l.dropShip === true).length;
  const allDropShip = dropShipLines === input.lines.length;
  const hasHazmat = input.lines.some((l) => l.hazmat === true);
  const hasOversize = input.lines.some((l) => l.oversize === true);
  const wantsExpedite = input.serviceLevel === 'expedited' || input.serviceLevel === 'next-day';
  const lowMargin = input.marginPct < LOW_MARGIN_THRESHOLD_PCT;
  const keyAccount = input.customerPriority === 'key-account';
  const inventory = input.inventory;
  const trusted = inventory?.confidence === 'high';
  const needsSplit =
    inventory !== undefined && inventory.bestSiteFillPct < 100 && inventory.networkFillPct >= 100;
  const splitAllowed = input.terms === 'ship-partial';

  const matches: { path: FulfilmentPath; codes: string[] }[] = [];
  if (allDropShip) matches.push({ path: 'drop-ship', codes: ['ALL_LINES_VENDOR_DIRECT'] });
  if (input.channel === 'retail-replenishment' && input.sourceSystem === 'edi') {
    matches.push({ path: 'edi-retail-replenishment', codes: ['EDI_REPLENISHMENT'] });
  }
  if (wantsExpedite) {
    if (hasHazmat || hasOversize) {
      const codes: string[] = [];
      if (hasHazmat) codes.push('EXPEDITE_BLOCKED_HAZMAT');
      if (hasOversize) codes.push('EXPEDITE_BLOCKED_OVERSIZE');
      matches.push({ path: 'standard-single-site', codes });
    } else if (input.marginPct < policy.expediteMinMarginPct && !keyAccount) {
      matches.push({ path: 'standard-single-site', codes: ['EXPEDITE_BLOCKED_LOW_MARGIN'] });
    } else if (needsSplit && splitAllowed && trusted) {
      matches.push({
        path: 'multi-site-split',
        codes: [serviceLevelCode(input.serviceLevel), 'EXPEDITE_NEEDS_SPLIT'],
      });
    } else {
      matches.push({ path: 'expedited', codes: [serviceLevelCode(input.serviceLevel)] });
    }
  }
  if (needsSplit) {
    if (!splitAllowed) {
      matches.push({ path: 'standard-single-site', codes: ['SPLIT_BLOCKED_SHIP_COMPLETE'] });
    } else if (trusted) {
      matches.push({ path: 'multi-site-split', codes: ['NO_SINGLE_SITE_FILLS', 'NETWORK_FILLS'] });
    }
  }
  if (matches.length === 0) matches.push({ path: 'standard-single-site', codes: ['DEFAULT_STANDARD'] });

  const reasonCodes = matches.flatMap((m) => m.codes);
  if (hasHazmat) reasonCodes.push('HAZMAT_LINES');
  if (hasOversize) reasonCodes.push('OVERSIZE_LINES');
  if (dropShipLines > 0 && !allDropShip) reasonCodes.push('MIXED_DROP_SHIP');
  if (lowMargin) reasonCodes.push('LOW_MARGIN');
  if (keyAccount) reasonCodes.push('KEY_ACCOUNT');
  if (input.terms === 'ship-complete') reasonCodes.push('SHIP_COMPLETE');
  if (inventory !== undefined) {
    if (!trusted) reasonCodes.push('LOW_INVENTORY_CONFIDENCE');
    if (inventory.networkFillPct < 100) reasonCodes.push('SHORT_ACROSS_NETWORK');
  }
  if (wantsExpedite && input.transport?.premiumCutoffPassed === true) {
    reasonCodes.push('PREMIUM_CUTOFF_PASSED');
  }

  return {
    // matches is never empty: the default rule is pushed when nothing else matched.
    path: matches[0]?.path ?? 'standard-single-site',
    reasonCodes: [...new Set(reasonCodes)],
    priorityScore: priorityScore(input.serviceLevel, input.customerPriority),
  };
}

/**
 * Maps a decision onto what is actually deployed. An undeployed path falls back to
 * 'standard-single-site' with `PATH_NOT_DEPLOYED:<path>` appended; if that is not deployed either,
 * throws NoDeployedPath. The input decision is never mutated.
 */
export function resolveDeployedPath(
  decision: RoutingDecision,
  deployed: ReadonlySet<FulfilmentPath>,
): RoutingDecision {
  if (deployed.has(decision.path)) return decision;
  if (!deployed.has('standard-single-site')) throw new NoDeployedPath(decision.path);
  return {
    ...decision,
    path: 'standard-single-site',
    reasonCodes: [...decision.reasonCodes, `PATH_NOT_DEPLOYED:${decision.path}`],
  };
}
