import { InvalidInputError } from './errors.ts';
import { marginPct as marginPctOf, toCents } from './money.ts';

export interface SubstitutionShortLine {
  lineNo: number;
  sku: string;
  /** Units that could not be allocated; an integer >= 1. */
  shortBy: number;
  /** Price the customer was quoted for the original sku, per unit. */
  unitPrice: number;
  /** Cost of the original sku, per unit. Carried for audit; no rule depends on it. */
  unitCost: number;
}

/** One entry of the customer's own substitution list. */
export interface ApprovedSubstitute {
  forSku: string;
  substituteSku: string;
  /** False entries are on the list but withdrawn or never agreed: they are never proposed. */
  customerApproved: boolean;
  /** Every proposal of this entry needs a human decision. */
  requiresApproval?: boolean | undefined;
}

export interface CatalogueEntry {
  unitCost: number;
  listPrice: number;
}

export interface SubstitutionPolicy {
  /** The substitute must keep at least this gross margin (%) at the price charged. */
  minMarginPct: number;
  /** When true the customer is charged no more than the original unit price. */
  priceProtection: boolean;
  /** A proposal whose value (quantity x price charged) exceeds this needs human approval. */
  approvalRequiredAboveValue: number;
  /** A proposal whose margin (%) is below this needs human approval. @default no margin band */
  approvalRequiredWhenMarginBelowPct?: number | undefined;
}

export interface SubstitutionInput {
  customerId: string;
  shortLines: readonly SubstitutionShortLine[];
  /** The customer's list, in the customer's order of preference. */
  approvedSubstitutes: readonly ApprovedSubstitute[];
  catalogue: Readonly<Record<string, CatalogueEntry | undefined>>;
  /** Units available to promise, by sku; a missing sku has none. */
  availability: Readonly<Record<string, number | undefined>>;
  policy: SubstitutionPolicy;
}

export type CandidateRejectionCode =
  | 'NOT_CUSTOMER_APPROVED'
  | 'NOT_IN_CATALOGUE'
  | 'NO_STOCK'
  /** The substitute had stock, but proposals for lower line numbers took all of it. */
  | 'STOCK_COMMITTED_TO_EARLIER_LINE'
  /** Nothing to earn a margin on: the price charged would be 0. */
  | 'ZERO_PRICE_CHARGED'
  | 'MARGIN_BELOW_MINIMUM';

export interface RejectedCandidate {
  substituteSku: string;
  reasonCode: CandidateRejectionCode;
  /** Set for MARGIN_BELOW_MINIMUM: the margin (%) the candidate would have made, 2 decimals. */
  marginPct?: number;
}

export type SubstitutionChoiceCode =
  | 'FIRST_QUALIFYING_APPROVED_SUBSTITUTE'
  | 'PRICE_PROTECTION_APPLIED'
  | 'PARTIAL_QUANTITY_STOCK_LIMITED'
  | 'NO_APPROVED_SUBSTITUTE_LISTED'
  | 'NO_QUALIFYING_SUBSTITUTE';

export type ApprovalReasonCode =
  | 'ENTRY_REQUIRES_APPROVAL'
  | 'VALUE_ABOVE_APPROVAL_THRESHOLD'
  | 'MARGIN_BELOW_APPROVAL_BAND';

interface ProposalBase {
  customerId: string;
  lineNo: number;
  originalSku: string;
  shortBy: number;
  reasonCodes: SubstitutionChoiceCode[];
  /** Every candidate passed over for this line, in list order. */
  rejected: RejectedCandidate[];
}

export interface ProposedSubstitution extends ProposalBase {
  outcome: 'proposed';
  substituteSku: string;
  /** min(shortBy, units of the substitute still available). */
  quantity: number;
  /** shortBy - quantity: what stays short even with the substitute. */
  remainingShortBy: number;
  /** What the customer was quoted for the original sku. */
  quotedUnitPrice: number;
  /** What the customer is charged per unit of the substitute. */
  unitPrice: number;
  unitCost: number;
  /** (unitPrice - unitCost) / unitPrice x 100, 2 decimals. */
  marginPct: number;
  /** quantity x unitPrice. */
  value: number;
  needsApproval: boolean;
  /** Empty when needsApproval is false. */
  approvalReasonCodes: ApprovalReasonCode[];
}

export interface NoSubstitution extends ProposalBase {
  outcome: 'no-substitute';
}

export type SubstitutionProposal = ProposedSubstitution | NoSubstitution;

export interface SubstitutionDecisionInput {
  approved: boolean;
  decidedBy: string;
  /** ISO 8601 datetime with a zone designator. */
  decidedAt: string;
  reason: string;
}

export interface SubstitutionDecisionRecord {
  customerId: string;
  lineNo: number;
  originalSku: string;
  substituteSku: string;
  quantity: number;
  unitPrice: number;
  value: number;
  outcome: 'approved' | 'declined';
  /** False when the proposal was auto-approved and this record only confirms it. */
  approvalRequired: boolean;
  approvalReasonCodes: ApprovalReasonCode[];
  /** Trimmed. */
  decidedBy: string;
  /** Normalised to UTC, e.g. 2025-03-10T09:30:00.000Z. */
  decidedAt: string;
  /** Trimmed. */
  reason: string;
}

export class InvalidSubstitutionInput extends InvalidInputError {
  override name = 'InvalidSubstitutionInput';
}

export class InvalidSubstitutionDecision extends InvalidInputError {
  override name = 'InvalidSubstitutionDecision';
}

function requireNonEmptyString(
  error: new (field: string, rule: string) => InvalidInputError,
  field: string,
  value: unknown,
): asserts value is string {
  if (typeof value !== 'string' || value.trim().length === 0) {
    throw new error(field, 'must be a non-empty string');
  }
}

function requireNonNegativeFinite(field: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidSubstitutionInput(field, `must be a finite number >= 0 (got ${String(value)})`);
  }
}

function requireBoolean(field: string, value: unknown): void {
  if (typeof value !== 'boolean') {
    throw new InvalidSubstitutionInput(field, `must be true or false (got ${String(value)})`);
  }
}

function validate(input: SubstitutionInput): void {
  requireNonEmptyString(InvalidSubstitutionInput, 'customerId', input.customerId);
  if (!Array.isArray(input.shortLines)) throw new InvalidSubstitutionInput('shortLines', 'must be an array');
  if (!Array.isArray(input.approvedSubstitutes)) {
    throw new InvalidSubstitutionInput('approvedSubstitutes', 'must be an array');
  }
  for (const key of ['catalogue', 'availability'] as const) {
    if (typeof input[key] !== 'object' || input[key] === null) {
      throw new InvalidSubstitutionInput(key, 'must be an object keyed by sku');
    }
  }
  const { policy } = input;
  if (typeof policy !== 'object' || policy === null) {
    throw new InvalidSubstitutionInput('policy', 'must be an object');
  }
  if (!Number.isFinite(policy.minMarginPct) || policy.minMarginPct >= 100) {
    throw new InvalidSubstitutionInput(
      'policy.minMarginPct',
      `must be a finite number below 100 (got ${String(policy.minMarginPct)})`,
    );
  }
  requireBoolean('policy.priceProtection', policy.priceProtection);
  requireNonNegativeFinite('policy.approvalRequiredAboveValue', policy.approvalRequiredAboveValue);
  const band = policy.approvalRequiredWhenMarginBelowPct;
  if (band !== undefined && !Number.isFinite(band)) {
    throw new InvalidSubstitutionInput(
      'policy.approvalRequiredWhenMarginBelowPct',
      `must be a finite number when given (got ${String(band)})`,
    );
  }

  const seenLineNos = new Map<number, number>();
  input.shortLines.forEach((line, i) => {
    if (!Number.isInteger(line.lineNo)) {
      throw new InvalidSubstitutionInput(
        `shortLines[${i}].lineNo`,
        `must be an integer (got ${String(line.lineNo)})`,
      );
    }
    const firstIndex = seenLineNos.get(line.lineNo);
    if (firstIndex !== undefined) {
      throw new InvalidSubstitutionInput(
        `shortLines[${i}].lineNo`,
        `must be unique (${line.lineNo} already used by shortLines[${firstIndex}])`,
      );
    }
    seenLineNos.set(line.lineNo, i);
    requireNonEmptyString(InvalidSubstitutionInput, `shortLines[${i}].sku`, line.sku);
    if (!Number.isInteger(line.shortBy) || line.shortBy <= 0) {
      throw new InvalidSubstitutionInput(
        `shortLines[${i}].shortBy`,
        `must be a positive integer (got ${String(line.shortBy)})`,
      );
    }
    requireNonNegativeFinite(`shortLines[${i}].unitPrice`, line.unitPrice);
    requireNonNegativeFinite(`shortLines[${i}].unitCost`, line.unitCost);
  });

  const shortSkus = new Set(input.shortLines.map((l) => l.sku));
  input.approvedSubstitutes.forEach((entry, i) => {
    const path = `approvedSubstitutes[${i}]`;
    requireNonEmptyString(InvalidSubstitutionInput, `${path}.forSku`, entry.forSku);
    requireNonEmptyString(InvalidSubstitutionInput, `${path}.substituteSku`, entry.substituteSku);
    if (entry.substituteSku === entry.forSku) {
      throw new InvalidSubstitutionInput(`${path}.substituteSku`, 'must differ from forSku');
    }
    requireBoolean(`${path}.customerApproved`, entry.customerApproved);
    if (entry.requiresApproval !== undefined)
      requireBoolean(`${path}.requiresApproval`, entry.requiresApproval);
    // Only figures a rule will read are checked: those of candidates for a line that is actually short.
    if (!shortSkus.has(entry.forSku)) return;
    const sku = JSON.stringify(entry.substituteSku);
    const item = input.catalogue[entry.substituteSku];
    if (item !== undefined) {
      requireNonNegativeFinite(`catalogue[${sku}].unitCost`, item.unitCost);
      requireNonNegativeFinite(`catalogue[${sku}].listPrice`, item.listPrice);
    }
    const units = input.availability[entry.substituteSku];
    if (units !== undefined && (!Number.isInteger(units) || units < 0)) {
      throw new InvalidSubstitutionInput(
        `availability[${sku}]`,
        `must be an integer >= 0 (got ${String(units)})`,
      );
    }
  });
}

/**
 * Proposes a substitute for each short line, from the customer's approved list only.
 *
 * - Lines are handled in lineNo order; availability is shared, so a substitute promised to a lower line
 *   number is not promised again (a later line sees STOCK_COMMITTED_TO_EARLIER_LINE).
 * - Entries for the line's sku are tried in list order. A candidate is rejected, with a code, when it is
 *   not customer-approved, not in the catalogue, has no stock, would be charged at 0, or its margin at the
 *   price charged is below policy.minMarginPct. The first that survives is proposed with
 *   quantity = min(shortBy, available); candidates after it are not evaluated.
 * - Price charged = priceProtection ? min(quoted unit price, substitute list price) : list price.
 *   Margin = (price - cost) / price x 100, computed in integer cents and compared unrounded.
 * - needsApproval when the entry requiresApproval, the value (quantity x price) exceeds
 *   approvalRequiredAboveValue, or the margin is below approvalRequiredWhenMarginBelowPct.
 *
 * Returns one result per short line, in lineNo order; a line with nothing to offer gets an
 * 'no-substitute' result carrying every rejection, so the exception queue can show why.
 */
export function proposeSubstitutions(input: SubstitutionInput): SubstitutionProposal[] {
  validate(input);
  const { policy } = input;
  const committed = new Map<string, number>();
  const lines = [...input.shortLines].sort((a, b) => a.lineNo - b.lineNo);

  return lines.map((line): SubstitutionProposal => {
    const base = {
      customerId: input.customerId,
      lineNo: line.lineNo,
      originalSku: line.sku,
      shortBy: line.shortBy,
    };
    const entries = input.approvedSubstitutes.filter((entry) => entry.forSku === line.sku);
    const rejected: RejectedCandidate[] = [];
    const quotedCents = toCents(line.unitPrice);

    for (const entry of entries) {
      const substituteSku = entry.substituteSku;
      const reject = (reasonCode: CandidateRejectionCode, marginPct?: number): void => {
        rejected.push(
          marginPct === undefined ? { substituteSku, reasonCode } : { substituteSku, reasonCode, marginPct },
        );
      };
      if (!entry.customerApproved) {
        reject('NOT_CUSTOMER_APPROVED');
        continue;
      }
      const item = input.catalogue[substituteSku];
      if (item === undefined) {
        reject('NOT_IN_CATALOGUE');
        continue;
      }
      const onOffer = input.availability[substituteSku] ?? 0;
      const available = onOffer - (committed.get(substituteSku) ?? 0);
      if (available <= 0) {
        reject(onOffer > 0 ? 'STOCK_COMMITTED_TO_EARLIER_LINE' : 'NO_STOCK');
        continue;
      }
      const listCents = toCents(item.listPrice);
      const priceCents = policy.priceProtection ? Math.min(quotedCents, listCents) : listCents;
      const costCents = toCents(item.unitCost);
      if (priceCents === 0) {
        reject('ZERO_PRICE_CHARGED');
        continue;
      }
      const marginPct = marginPctOf(priceCents, costCents);
      // margin >= min  <=>  (price - cost) x 100 >= min x price, no rounding involved.
      if ((priceCents - costCents) * 100 < policy.minMarginPct * priceCents) {
        reject('MARGIN_BELOW_MINIMUM', marginPct);
        continue;
      }

      const quantity = Math.min(line.shortBy, available);
      committed.set(substituteSku, (committed.get(substituteSku) ?? 0) + quantity);
      const valueCents = quantity * priceCents;

      const reasonCodes: SubstitutionChoiceCode[] = ['FIRST_QUALIFYING_APPROVED_SUBSTITUTE'];
      if (policy.priceProtection && listCents > quotedCents) reasonCodes.push('PRICE_PROTECTION_APPLIED');
      if (quantity < line.shortBy) reasonCodes.push('PARTIAL_QUANTITY_STOCK_LIMITED');

      const approvalReasonCodes: ApprovalReasonCode[] = [];
      if (entry.requiresApproval === true) approvalReasonCodes.push('ENTRY_REQUIRES_APPROVAL');
      if (valueCents > toCents(policy.approvalRequiredAboveValue)) {
        approvalReasonCodes.push('VALUE_ABOVE_APPROVAL_THRESHOLD');
      }
      const band = policy.approvalRequiredWhenMarginBelowPct;
      if (band !== undefined && (priceCents - costCents) * 100 < band * priceCents) {
        approvalReasonCodes.push('MARGIN_BELOW_APPROVAL_BAND');
      }

      return {
        ...base,
        outcome: 'proposed',
        substituteSku,
        quantity,
        remainingShortBy: line.shortBy - quantity,
        quotedUnitPrice: quotedCents / 100,
        unitPrice: priceCents / 100,
        unitCost: costCents / 100,
        marginPct,
        value: valueCents / 100,
        needsApproval: approvalReasonCodes.length > 0,
        approvalReasonCodes,
        reasonCodes,
        rejected,
      };
    }

    return {
      ...base,
      outcome: 'no-substitute',
      reasonCodes: [entries.length === 0 ? 'NO_APPROVED_SUBSTITUTE_LISTED' : 'NO_QUALIFYING_SUBSTITUTE'],
      rejected,
    };
  });
}

const DATETIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-](\d{2}):(\d{2}))$/;

/** Epoch milliseconds for an ISO datetime with an explicit zone; undefined when malformed or not a real date. */
function parseZonedDateTime(value: unknown): number | undefined {
  const m = typeof value === 'string' ? DATETIME_RE.exec(value) : null;
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = [1, 2, 3, 4, 5, 6, 9, 10].map(
    (i) => Number(m[i] ?? 0),
  ) as [number, number, number, number, number, number, number, number];
  const utc = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(utc);
  const real =
    year >= 1900 &&
    check.getUTCFullYear() === year &&
    check.getUTCMonth() === month - 1 &&
    check.getUTCDate() === day &&
    hour < 24 &&
    minute < 60 &&
    second < 60 &&
    offsetHours < 24 &&
    offsetMinutes < 60;
  if (!real) return undefined;
  const millis = Math.floor(Number(`0.${m[7] ?? '0'}`) * 1000);
  const offsetSign = m[8]?.startsWith('-') ? -1 : 1;
  const offsetMs = m[8] === 'Z' ? 0 : offsetSign * (offsetHours * 60 + offsetMinutes) * 60_000;
  return utc + millis - offsetMs;
}

/**
 * Records a human decision on a proposal: who, when, why and the outcome.
 *
 * Rejected with InvalidSubstitutionDecision when decidedBy or reason is blank, decidedAt is not an ISO
 * datetime with a zone, the proposal offers no substitute, or the decision declines a proposal that did
 * not need approval. Such a proposal is covered by the customer's standing approval and the margin and
 * value policy; overriding it case by case would leave the list saying one thing and the orders another,
 * so the way to stop it is to withdraw the entry from the customer's list. Approving it is accepted and
 * recorded with approvalRequired false, so a workflow may confirm every proposal the same way.
 */
export function decideSubstitution(
  proposal: SubstitutionProposal,
  decision: SubstitutionDecisionInput,
): SubstitutionDecisionRecord {
  if (proposal.outcome !== 'proposed') {
    throw new InvalidSubstitutionDecision(
      'proposal.outcome',
      `must be 'proposed' to be decided (got ${String(proposal.outcome)})`,
    );
  }
  if (typeof decision.approved !== 'boolean') {
    throw new InvalidSubstitutionDecision(
      'decision.approved',
      `must be true or false (got ${String(decision.approved)})`,
    );
  }
  requireNonEmptyString(InvalidSubstitutionDecision, 'decision.decidedBy', decision.decidedBy);
  requireNonEmptyString(InvalidSubstitutionDecision, 'decision.reason', decision.reason);
  const decidedAtMs = parseZonedDateTime(decision.decidedAt);
  if (decidedAtMs === undefined) {
    throw new InvalidSubstitutionDecision(
      'decision.decidedAt',
      `must be an ISO 8601 datetime with a zone designator, e.g. 2025-03-10T09:30:00Z (got ${String(decision.decidedAt)})`,
    );
  }
  if (!proposal.needsApproval && !decision.approved) {
    throw new InvalidSubstitutionDecision(
      'decision.approved',
      'cannot decline a proposal that did not need approval; withdraw the entry from the customer list instead',
    );
  }

  return {
    customerId: proposal.customerId,
    lineNo: proposal.lineNo,
    originalSku: proposal.originalSku,
    substituteSku: proposal.substituteSku,
    quantity: proposal.quantity,
    unitPrice: proposal.unitPrice,
    value: proposal.value,
    outcome: decision.approved ? 'approved' : 'declined',
    approvalRequired: proposal.needsApproval,
    approvalReasonCodes: [...proposal.approvalReasonCodes],
    decidedBy: decision.decidedBy.trim(),
    decidedAt: new Date(decidedAtMs).toISOString(),
    reason: decision.reason.trim(),
  };
}
