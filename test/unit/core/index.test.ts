import { describe, expect, it } from 'vitest';
import * as core from '../../../lambdas/core/index.ts';

describe('public API of the domain core', () => {
  it('re-exports every domain function, error and vocabulary list', () => {
    const expected = [
      'allocateSingleSite',
      'availableToPromise',
      'assessCredit',
      'classifyOrder',
      'resolveDeployedPath',
      'decideRelease',
      'orderValue',
      'orderCost',
      'marginPct',
      'roundMoney',
      'DomainError',
      'InvalidCreditInput',
      'InvalidAllocationInput',
      'InvalidReleaseInput',
      'InvalidRoutingInput',
      'NoDeployedPath',
      'DEFAULT_CREDIT_POLICY',
      'CHANNELS',
      'SERVICE_LEVELS',
      'CUSTOMER_PRIORITIES',
      'FULFILMENT_TERMS',
      'SOURCE_SYSTEMS',
      'FULFILMENT_PATHS',
      'allocateAcrossSites',
      'proposeSubstitutions',
      'decideSubstitution',
      'createBackorderLines',
      'reevaluateBackorders',
      'sweepAgedBackorders',
      'buildInvoice',
      'invoicingStatus',
      'creditLane',
      'recordCreditRelease',
      'planWaves',
      'planNotification',
      'ladderFor',
      'CREDIT_HOLD_LADDER',
      'DEFAULT_ROUTING_POLICY',
    ];
    for (const name of expected) expect(core, name).toHaveProperty(name);
  });

  it('exposes working functions, not just names', () => {
    expect(core.orderValue([{ quantity: 2, unitPrice: 1.25 }])).toBe(2.5);
    expect(core.assessCredit(10, { ...profile }).decision).toBe('approved');
  });
});

const profile: core.CreditProfile = {
  customerId: 'C1',
  accountStatus: 'active',
  creditLimit: 100,
  openArBalance: 0,
  openOrderValue: 0,
  overdueAmount: 0,
  oldestOverdueDays: 0,
  paymentTerms: 'NET30',
};
