import {
  type AllocationPlan,
  type AllocationRequest,
  allocateSingleSite,
  availableToPromise,
  type SiteStock,
} from './allocation.ts';
import {
  type ApprovedSubstitute,
  type CatalogueEntry,
  type ProposedSubstitution,
  proposeSubstitutions,
  type SubstitutionPolicy,
  type SubstitutionProposal,
} from './substitution.ts';

/**
 * The distributor's standing policy for substitutes the customer has approved in advance: never below a
 * 15 % gross margin, never charged above the quoted price, and a proposal worth more than $2,500 (or under
 * 20 % margin) waits for a person instead of shipping on the standing approval.
 */
export const STANDING_SUBSTITUTION_POLICY: SubstitutionPolicy = {
  minMarginPct: 15,
  priceProtection: true,
  approvalRequiredAboveValue: 2500,
  approvalRequiredWhenMarginBelowPct: 20,
};

export interface PricedLine {
  readonly lineNo: number;
  readonly sku: string;
  readonly quantity: number;
  readonly unitPrice: number;
  readonly unitCost: number;
}

/** A line that ships as another SKU: what the allocation reserved, the invoice charges and the audit shows. */
export interface AppliedSubstitution {
  readonly lineNo: number;
  readonly originalSku: string;
  readonly substituteSku: string;
  readonly quantity: number;
  /** What the customer was quoted for the original SKU. */
  readonly quotedUnitPrice: number;
  /** What the customer is charged per unit of the substitute (price protection: never above the quote). */
  readonly unitPrice: number;
  readonly unitCost: number;
  readonly marginPct: number;
  readonly reasonCodes: readonly string[];
}

export interface SubstitutionPlanInput {
  readonly customerId: string;
  readonly lines: readonly PricedLine[];
  /** The plan on the ordered SKUs alone. */
  readonly plan: AllocationPlan;
  /** Stock at every site, for the ordered SKUs and the substitutes listed for them. */
  readonly sites: readonly SiteStock[];
  readonly terms: AllocationRequest['terms'];
  readonly preferredSiteId?: string | undefined;
  readonly approvedSubstitutes: readonly ApprovedSubstitute[];
  readonly catalogue: Readonly<Record<string, CatalogueEntry | undefined>>;
  readonly policy?: SubstitutionPolicy;
  /**
   * A person's review of the proposals that needed approval: those approved (`<lineNo>:<substituteSku>`)
   * are applied like any other; every other proposal that needed approval is declined, so the line stays
   * short and nothing waits for a second review.
   */
  readonly review?: { readonly approved: ReadonlySet<string> };
}

/** The key a review approves a proposal by. */
export const proposalKey = (p: { readonly lineNo: number; readonly substituteSku: string }) =>
  `${p.lineNo}:${p.substituteSku}`;

export interface SubstitutionPlan {
  /** The plan to reserve: the original one, or one with substituted lines that covers more units. */
  readonly plan: AllocationPlan;
  readonly applied: readonly AppliedSubstitution[];
  /** Proposals a person must approve first: the line stays short (backordered) meanwhile. */
  readonly awaitingApproval: readonly ProposedSubstitution[];
  /** What was weighed for each short line, whatever the outcome (kept on the order for the audit). */
  readonly proposals: readonly SubstitutionProposal[];
  /** Reason codes for the stage entry: `SUBSTITUTED:<lineNo>:<sku>`, `SUBSTITUTE_NEEDS_APPROVAL:<lineNo>:<sku>`. */
  readonly reasonCodes: readonly string[];
}

const unitsAllocated = (plan: AllocationPlan) => plan.allocated.reduce((sum, line) => sum + line.quantity, 0);

/**
 * Fills short lines with the customer's approved substitutes. A line ships as one SKU (its invoice line,
 * notice and backorder stay one line), so a substitute replaces a short line whole, and only when one site
 * has enough of it for the whole line: a partial substitute would leave the line half one SKU, half another.
 * Candidates are weighed by the substitution rules (the customer's order of preference, stock, price
 * protection, minimum margin); a proposal within the standing policy is applied, one over its value or under
 * its margin band waits for approval and the line stays short. The substituted plan is taken only when every
 * substituted line is reserved in full and it covers more units than the original plan. Pure.
 */
export function substituteShortLines(input: SubstitutionPlanInput): SubstitutionPlan {
  const unchanged = (
    proposals: readonly SubstitutionProposal[] = [],
    awaiting: ProposedSubstitution[] = [],
  ) => ({
    plan: input.plan,
    applied: [],
    awaitingApproval: awaiting,
    proposals,
    reasonCodes: awaiting.map((p) => `SUBSTITUTE_NEEDS_APPROVAL:${p.lineNo}:${p.substituteSku}`),
  });
  const shortLineNos = new Set(input.plan.short.map((line) => line.lineNo));
  const shortLines = input.lines.filter((line) => shortLineNos.has(line.lineNo));
  if (shortLines.length === 0 || input.approvedSubstitutes.length === 0) return unchanged();

  // What one site can give of each substitute: a line is reserved at a single site.
  const availability: Record<string, number> = {};
  for (const entry of input.approvedSubstitutes) {
    availability[entry.substituteSku] = Math.max(
      0,
      ...input.sites.map((site) => availableToPromise(site.items[entry.substituteSku])),
    );
  }
  const proposals = proposeSubstitutions({
    customerId: input.customerId,
    shortLines: shortLines.map((line) => ({
      lineNo: line.lineNo,
      sku: line.sku,
      // The whole line: it is replaced whole or not at all.
      shortBy: line.quantity,
      unitPrice: line.unitPrice,
      unitCost: line.unitCost,
    })),
    approvedSubstitutes: input.approvedSubstitutes,
    catalogue: input.catalogue,
    availability,
    policy: input.policy ?? STANDING_SUBSTITUTION_POLICY,
  });
  const whole = proposals.filter(
    (p): p is ProposedSubstitution => p.outcome === 'proposed' && p.remainingShortBy === 0,
  );
  const approved = (p: ProposedSubstitution) => input.review?.approved.has(proposalKey(p)) ?? false;
  const awaiting = input.review ? [] : whole.filter((p) => p.needsApproval);
  const swaps = new Map(whole.filter((p) => !p.needsApproval || approved(p)).map((p) => [p.lineNo, p]));
  if (swaps.size === 0) return unchanged(proposals, awaiting);

  const plan = allocateSingleSite({
    lines: input.lines.map((line) => ({
      lineNo: line.lineNo,
      sku: swaps.get(line.lineNo)?.substituteSku ?? line.sku,
      quantity: line.quantity,
    })),
    sites: input.sites,
    terms: input.terms,
    preferredSiteId: input.preferredSiteId,
  });
  const reservedWhole = [...swaps.values()].every((swap) =>
    plan.allocated.some((line) => line.lineNo === swap.lineNo && line.quantity === swap.quantity),
  );
  if (!reservedWhole || unitsAllocated(plan) <= unitsAllocated(input.plan)) {
    return unchanged(proposals, awaiting);
  }
  const applied = [...swaps.values()].map(
    (p): AppliedSubstitution => ({
      lineNo: p.lineNo,
      originalSku: p.originalSku,
      substituteSku: p.substituteSku,
      quantity: p.quantity,
      quotedUnitPrice: p.quotedUnitPrice,
      unitPrice: p.unitPrice,
      unitCost: p.unitCost,
      marginPct: p.marginPct,
      reasonCodes: p.reasonCodes,
    }),
  );
  return {
    plan,
    applied,
    awaitingApproval: awaiting,
    proposals,
    reasonCodes: [
      ...applied.map((s) => `SUBSTITUTED:${s.lineNo}:${s.substituteSku}`),
      ...awaiting.map((p) => `SUBSTITUTE_NEEDS_APPROVAL:${p.lineNo}:${p.substituteSku}`),
    ],
  };
}
