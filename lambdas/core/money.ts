/**
 * Money helpers. Amounts are in major units (12.5 = 12.50). Internally everything is summed in
 * integer cents so that totals do not drift (0.1 + 0.2 must be 0.3).
 */

/**
 * Converts a major-unit amount to integer cents, rounding half away from zero.
 * `toPrecision(15)` strips binary representation noise first, so 1.005 becomes 101 cents, not 100.
 */
export function toCents(amount: number): number {
  const cents = Math.round(Number((Math.abs(amount) * 100).toPrecision(15)));
  return amount < 0 ? -cents : cents;
}

/** Rounds a major-unit amount to 2 decimals without float drift. Never returns -0. */
export function roundMoney(amount: number): number {
  return toCents(amount) / 100 || 0;
}

/** Sum of line extensions; each line (quantity x unit price) is rounded to cents before summing. */
export function orderValue(lines: readonly { quantity: number; unitPrice: number }[]): number {
  let cents = 0;
  for (const line of lines) cents += toCents(line.quantity * line.unitPrice);
  return cents / 100 || 0;
}

/** Sum of line costs; each line (quantity x unit cost) is rounded to cents before summing. */
export function orderCost(lines: readonly { quantity: number; unitCost: number }[]): number {
  let cents = 0;
  for (const line of lines) cents += toCents(line.quantity * line.unitCost);
  return cents / 100 || 0;
}

/** Gross margin as a percentage of value, 2 decimals; 0 when value is 0 (nothing to earn a margin on). */
export function marginPct(value: number, cost: number): number {
  if (value === 0) return 0;
  return roundMoney(((value - cost) / value) * 100);
}
