/**
 * The trading partners Handoff exchanges X12 with, as the EDI function reads them (`EDI_TRADING_PARTNERS`).
 * A deployment passes its own with `-c handoff:ediTradingPartners='[…]'`; this default is the article's
 * retail chain, which the local EDI gateway sandbox plays.
 */
export const DEFAULT_EDI_TRADING_PARTNERS = [
  {
    interchange: { qualifier: 'ZZ', id: 'LAKESHOREHC' },
    profile: {
      customerId: 'C-7007',
      customerName: 'Lakeshore Home Centers',
      segment: 'enterprise',
      priority: 'key-account',
      paymentTerms: 'NET45',
      fulfilment: 'ship-partial',
      currency: 'USD',
      defaultCountry: 'US',
    },
  },
] as const;

/** Handoff's own interchange id (ISA05:ISA06) on every document it sends. */
export const DEFAULT_EDI_INTERCHANGE_ID = 'ZZ:HANDOFFDIST';
