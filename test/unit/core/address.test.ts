import { describe, expect, it } from 'vitest';
import { shipToAddressIssues, stateOfZip } from '../../../lambdas/core/address.ts';

describe('ship-to address checks: US', () => {
  it.each([
    ['43215', 'OH'],
    ['02134', 'MA'],
    ['53703', 'WI'],
    ['10001-2345', 'NY'],
    ['94105', 'California'],
    ['00901', 'PR'],
    ['09012', 'AE'],
  ])('%s in %s ships', (postalCode, region) => {
    expect(shipToAddressIssues({ postalCode, country: 'US', region })).toEqual([]);
  });

  it('checks only the format when the address names no state', () => {
    expect(shipToAddressIssues({ postalCode: '43004', country: 'US' })).toEqual([]);
  });

  it('names a ZIP that lost its leading zero, and suggests it', () => {
    expect(shipToAddressIssues({ postalCode: '2134', country: 'US', region: 'MA' })).toEqual([
      {
        field: 'postalCode',
        rule: 'usZipFormat',
        message:
          'is not a US ZIP code (2134): 5 digits, or ZIP+4; a leading zero may have been lost (02134?)',
      },
    ]);
  });

  it('refuses letters or the wrong length', () => {
    for (const postalCode of ['4321A', '432150', 'M6J 1G5']) {
      expect(shipToAddressIssues({ postalCode, country: 'US' }).map((i) => i.rule)).toEqual(['usZipFormat']);
    }
  });

  it('names a ZIP from another state than the address', () => {
    expect(shipToAddressIssues({ postalCode: '34215', country: 'US', region: 'OH' })).toEqual([
      {
        field: 'postalCode',
        rule: 'zipMatchesState',
        message: 'is a FL ZIP code (34215), but the address is in OH',
      },
    ]);
  });

  it('refuses a region that is no US state or territory', () => {
    expect(shipToAddressIssues({ postalCode: '43215', country: 'US', region: 'ZH' })).toEqual([
      { field: 'region', rule: 'usState', message: 'is not a US state or territory (ZH)' },
    ]);
  });

  it('does not judge a prefix it has no state for', () => {
    expect(stateOfZip('00123')).toBeUndefined();
    expect(shipToAddressIssues({ postalCode: '00123', country: 'US', region: 'NY' })).toEqual([]);
  });

  it('reads the prefix table at its edges', () => {
    expect([stateOfZip('01001'), stateOfZip('02799'), stateOfZip('02801'), stateOfZip('99950')]).toEqual([
      'MA',
      'MA',
      'RI',
      'AK',
    ]);
    expect([stateOfZip('73301'), stateOfZip('73401'), stateOfZip('88510')]).toEqual(['TX', 'OK', 'TX']);
  });
});

describe('ship-to address checks: Canada and elsewhere', () => {
  it('accepts a postal code of the province, with or without the space', () => {
    expect(shipToAddressIssues({ postalCode: 'M6J 1G5', country: 'CA', region: 'ON' })).toEqual([]);
    expect(shipToAddressIssues({ postalCode: 'h2x1y4', country: 'CA', region: 'QC' })).toEqual([]);
    expect(shipToAddressIssues({ postalCode: 'X0A 0H0', country: 'CA', region: 'NU' })).toEqual([]);
  });

  it('refuses a malformed one, and one from another province', () => {
    expect(shipToAddressIssues({ postalCode: 'M6J 1G', country: 'CA' }).map((i) => i.rule)).toEqual([
      'caPostalFormat',
    ]);
    expect(shipToAddressIssues({ postalCode: 'D6J 1G5', country: 'CA' }).map((i) => i.rule)).toEqual([
      'caPostalFormat',
    ]);
    expect(shipToAddressIssues({ postalCode: 'V6B 1A1', country: 'CA', region: 'AB' })).toEqual([
      {
        field: 'postalCode',
        rule: 'postalMatchesProvince',
        message: 'starts with V, which is BC, but the address is in AB',
      },
    ]);
  });

  it('passes countries it has no rules for', () => {
    expect(shipToAddressIssues({ postalCode: '3011 AA', country: 'NL', region: 'ZH' })).toEqual([]);
  });
});
