import * as z from 'zod/mini';
import { parseWith } from '../../../contracts/validation.ts';
import type { BackorderRule } from '../../core/backorder.ts';
import type { BackorderRules } from '../../ports/index.ts';
import { ConfigurationError } from '../../shared/errors.ts';

const Rule = z.strictObject({
  maxAgeDays: z.int().check(z.gte(1), z.lte(365)),
  onAged: z.enum(['cancel', 'notify-and-keep']),
  allowPartialFill: z.boolean(),
  minFillQuantity: z.optional(z.int().check(z.gte(1))),
});
const Rules = z.record(z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/)), Rule);

/**
 * Customers' backorder rules as agreed in their contracts, from configuration (`BACKORDER_RULES`: JSON,
 * customer id → rule). A customer without one gets the default rule derived from its order terms.
 */
export class ConfiguredBackorderRules implements BackorderRules {
  private readonly rules: Readonly<Record<string, BackorderRule>>;

  constructor(json: string) {
    let raw: unknown;
    try {
      raw = JSON.parse(json || '{}');
    } catch {
      throw new ConfigurationError('BACKORDER_RULES must be JSON: customer id → backorder rule');
    }
    const parsed = parseWith('BACKORDER_RULES', Rules, raw);
    if (!parsed.ok) throw new ConfigurationError(parsed.error.message);
    this.rules = parsed.value as Record<string, BackorderRule>;
  }

  async ruleFor(customerId: string): Promise<BackorderRule | undefined> {
    return Object.hasOwn(this.rules, customerId) ? this.rules[customerId] : undefined;
  }
}
