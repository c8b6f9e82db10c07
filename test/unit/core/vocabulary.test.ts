import { describe, expect, it } from 'vitest';
import {
  CHANNELS,
  CUSTOMER_PRIORITIES,
  FULFILMENT_PATHS,
  FULFILMENT_TERMS,
  isOneOf,
  SERVICE_LEVELS,
  SOURCE_SYSTEMS,
} from '../../../lambdas/core/vocabulary.ts';

describe('vocabulary', () => {
  it('lists every value of each shared vocabulary', () => {
    expect(CHANNELS).toEqual(['wholesale', 'retail-replenishment', 'direct-to-customer']);
    expect(SERVICE_LEVELS).toEqual(['economy', 'standard', 'expedited', 'next-day']);
    expect(CUSTOMER_PRIORITIES).toEqual(['standard', 'preferred', 'key-account']);
    expect(FULFILMENT_TERMS).toEqual(['ship-complete', 'ship-partial']);
    expect(SOURCE_SYSTEMS).toEqual(['erp', 'edi', 'portal', 'ecommerce']);
    expect(FULFILMENT_PATHS).toEqual([
      'standard-single-site',
      'expedited',
      'multi-site-split',
      'drop-ship',
      'edi-retail-replenishment',
      'backorder-reevaluation',
    ]);
  });

  it('isOneOf accepts members only, and only strings', () => {
    expect(isOneOf(CHANNELS, 'wholesale')).toBe(true);
    expect(isOneOf(CHANNELS, 'Wholesale')).toBe(false);
    expect(isOneOf(CHANNELS, undefined)).toBe(false);
    expect(isOneOf(SERVICE_LEVELS, 42)).toBe(false);
  });
});
