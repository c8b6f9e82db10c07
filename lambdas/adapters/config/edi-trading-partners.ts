import * as z from 'zod/mini';
import { parseWith } from '../../../contracts/validation.ts';
import {
  CUSTOMER_PRIORITIES,
  CUSTOMER_SEGMENTS,
  FULFILMENT_TERMS,
  SERVICE_LEVELS,
} from '../../../contracts/vocabulary.ts';
import type { TradingPartner, TradingPartnerDirectory } from '../../ports/index.ts';
import { ConfigurationError } from '../../shared/errors.ts';
import type { X12Party } from '../edi/x12-outbound.ts';

/**
 * The EDI function's configuration, read once at load: its trading partners (`EDI_TRADING_PARTNERS`) and
 * Handoff's own interchange id (`EDI_INTERCHANGE_ID`). Item costs come from the ERP item master.
 */

const Code = z.string().check(z.minLength(1), z.maxLength(40));
const Party = z.strictObject({
  qualifier: z.string().check(z.regex(/^[A-Z0-9]{2}$/)),
  id: z.string().check(z.minLength(2), z.maxLength(15)),
});
const TradingPartnerConfig = z.strictObject({
  interchange: Party,
  applicationId: z.optional(z.string().check(z.minLength(2), z.maxLength(15))),
  profile: z.strictObject({
    customerId: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/)),
    customerName: z.optional(z.string().check(z.minLength(1), z.maxLength(120))),
    segment: z.enum(CUSTOMER_SEGMENTS),
    priority: z.enum(CUSTOMER_PRIORITIES),
    paymentTerms: Code,
    fulfilment: z.enum(FULFILMENT_TERMS),
    currency: z.string().check(z.regex(/^[A-Z]{3}$/)),
    serviceLevel: z.optional(z.enum(SERVICE_LEVELS)),
    uomMap: z.optional(z.record(Code, Code)),
    buyerItems: z.optional(z.record(Code, Code)),
    defaultCountry: z.optional(z.string().check(z.regex(/^[A-Z]{2}$/))),
  }),
  layout: z.optional(
    z.strictObject({
      delimiters: z.optional(
        z.strictObject({
          element: z.optional(z.string().check(z.length(1))),
          segment: z.optional(z.string().check(z.length(1))),
          subElement: z.optional(z.string().check(z.length(1))),
        }),
      ),
      newlineAfterSegment: z.optional(z.boolean()),
    }),
  ),
});
const TradingPartnersConfig = z.array(TradingPartnerConfig).check(z.minLength(1));

function configJson(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ConfigurationError(`${name} must be JSON`);
  }
}

/** `EDI_TRADING_PARTNERS`: a JSON array of trading partners (the TradingPartner shape), read once at load. */
export function configuredTradingPartners(name: string, text: string): TradingPartnerDirectory {
  const parsed = parseWith(name, TradingPartnersConfig, configJson(name, text));
  if (!parsed.ok) throw new ConfigurationError(parsed.error.message);
  const partners = new Map<string, TradingPartner>();
  const customers = new Set<string>();
  for (const partner of parsed.value) {
    if (partners.has(partner.interchange.id) || customers.has(partner.profile.customerId)) {
      throw new ConfigurationError(
        `${name}: interchange id ${partner.interchange.id} or customer ${partner.profile.customerId} appears twice`,
      );
    }
    partners.set(partner.interchange.id, partner);
    customers.add(partner.profile.customerId);
  }
  return { all: async () => partners };
}

/** `EDI_INTERCHANGE_ID`: Handoff's own ISA05:ISA06, e.g. `ZZ:HANDOFFDIST`. */
export function interchangeIdOf(name: string, text: string): X12Party {
  const match = /^([A-Z0-9]{2}):(.{2,15})$/.exec(text);
  if (!match?.[1] || !match[2])
    throw new ConfigurationError(`${name} must be <qualifier>:<id>, e.g. ZZ:HANDOFFDIST`);
  return { qualifier: match[1], id: match[2] };
}
