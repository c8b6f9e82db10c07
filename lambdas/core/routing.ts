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

export interface RoutingInput {
  channel: Channel;
  serviceLevel: ServiceLevel;
  sourceSystem: SourceSystem;
  customerPriority: CustomerPriority;
  terms: FulfilmentTerms;
  orderValue: number;
  marginPct: number;
  lines: readonly RoutingLine[];
}

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

function validate(input: RoutingInput): void {
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
 * 3. expedited / next-day -> 'expedited' [SERVICE_LEVEL_*], unless hazmat or oversize lines force ground:
 *    'standard-single-site' [EXPEDITE_BLOCKED_HAZMAT and/or EXPEDITE_BLOCKED_OVERSIZE]
 * 4. otherwise 'standard-single-site' [DEFAULT_STANDARD]
 *
 * Observations: HAZMAT_LINES, OVERSIZE_LINES, MIXED_DROP_SHIP, LOW_MARGIN, KEY_ACCOUNT, SHIP_COMPLETE.
 */
export function classifyOrder(input: RoutingInput): RoutingDecision {
  validate(input);

  const dropShipLines = input.lines.filter((l) => l.dropShip === true).length;
  const allDropShip = dropShipLines === input.lines.length;
  const hasHazmat = input.lines.some((l) => l.hazmat === true);
  const hasOversize = input.lines.some((l) => l.oversize === true);
  const wantsExpedite = input.serviceLevel === 'expedited' || input.serviceLevel === 'next-day';

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
    } else {
      matches.push({ path: 'expedited', codes: [serviceLevelCode(input.serviceLevel)] });
    }
  }
  if (matches.length === 0) matches.push({ path: 'standard-single-site', codes: ['DEFAULT_STANDARD'] });

  const reasonCodes = matches.flatMap((m) => m.codes);
  if (hasHazmat) reasonCodes.push('HAZMAT_LINES');
  if (hasOversize) reasonCodes.push('OVERSIZE_LINES');
  if (dropShipLines > 0 && !allDropShip) reasonCodes.push('MIXED_DROP_SHIP');
  if (input.marginPct < LOW_MARGIN_THRESHOLD_PCT) reasonCodes.push('LOW_MARGIN');
  if (input.customerPriority === 'key-account') reasonCodes.push('KEY_ACCOUNT');
  if (input.terms === 'ship-complete') reasonCodes.push('SHIP_COMPLETE');

  return {
    // matches is never empty: the default rule is pushed when nothing else matched.
    path: matches[0]?.path ?? 'standard-single-site',
    reasonCodes,
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
