/**
 * Ship-to address checks a distributor can make without an address-verification service: the postal code
 * has the country's shape, and it belongs to the state or province the address names. A wrong ZIP or a
 * ZIP that lost its leading zero in a spreadsheet ("2134" for 02134) is the commonest address error on a
 * B2B order; the carrier finds it only at label time, days later. Countries without rules here pass.
 */

export interface AddressToCheck {
  readonly postalCode: string;
  readonly country: string;
  readonly region?: string | undefined;
}

export interface AddressIssue {
  /** Which part of the ship-to: `postalCode` or `region`. */
  readonly field: 'postalCode' | 'region';
  readonly rule: 'usZipFormat' | 'usState' | 'zipMatchesState' | 'caPostalFormat' | 'postalMatchesProvince';
  readonly message: string;
}

/**
 * USPS 3-digit ZIP prefixes by state, territory or military post (ranges, inclusive): the prefix a ZIP
 * starts with names where it is. Prefixes in no range are not checked (unassigned or unlisted here).
 */
const ZIP3: readonly (readonly [from: number, to: number, state: string])[] = [
  [5, 5, 'NY'],
  [6, 7, 'PR'],
  [8, 8, 'VI'],
  [9, 9, 'PR'],
  [10, 27, 'MA'],
  [28, 29, 'RI'],
  [30, 38, 'NH'],
  [39, 49, 'ME'],
  [50, 54, 'VT'],
  [55, 55, 'MA'],
  [56, 59, 'VT'],
  [60, 69, 'CT'],
  [70, 89, 'NJ'],
  [90, 99, 'AE'],
  [100, 149, 'NY'],
  [150, 196, 'PA'],
  [197, 199, 'DE'],
  [200, 200, 'DC'],
  [201, 201, 'VA'],
  [202, 205, 'DC'],
  [206, 219, 'MD'],
  [220, 246, 'VA'],
  [247, 268, 'WV'],
  [270, 289, 'NC'],
  [290, 299, 'SC'],
  [300, 319, 'GA'],
  [320, 339, 'FL'],
  [340, 340, 'AA'],
  [341, 349, 'FL'],
  [350, 369, 'AL'],
  [370, 385, 'TN'],
  [386, 397, 'MS'],
  [398, 399, 'GA'],
  [400, 427, 'KY'],
  [430, 459, 'OH'],
  [460, 479, 'IN'],
  [480, 499, 'MI'],
  [500, 528, 'IA'],
  [530, 549, 'WI'],
  [550, 567, 'MN'],
  [569, 569, 'DC'],
  [570, 577, 'SD'],
  [580, 588, 'ND'],
  [590, 599, 'MT'],
  [600, 629, 'IL'],
  [630, 658, 'MO'],
  [660, 679, 'KS'],
  [680, 693, 'NE'],
  [700, 714, 'LA'],
  [716, 729, 'AR'],
  [730, 731, 'OK'],
  [733, 733, 'TX'],
  [734, 749, 'OK'],
  [750, 799, 'TX'],
  [800, 816, 'CO'],
  [820, 831, 'WY'],
  [832, 838, 'ID'],
  [840, 847, 'UT'],
  [850, 865, 'AZ'],
  [870, 884, 'NM'],
  [885, 885, 'TX'],
  [889, 898, 'NV'],
  [900, 961, 'CA'],
  [962, 966, 'AP'],
  [967, 968, 'HI'],
  [969, 969, 'GU'],
  [970, 979, 'OR'],
  [980, 994, 'WA'],
  [995, 999, 'AK'],
];

const US_STATE_NAMES: Readonly<Record<string, string>> = {
  ALABAMA: 'AL',
  ALASKA: 'AK',
  ARIZONA: 'AZ',
  ARKANSAS: 'AR',
  CALIFORNIA: 'CA',
  COLORADO: 'CO',
  CONNECTICUT: 'CT',
  DELAWARE: 'DE',
  'DISTRICT OF COLUMBIA': 'DC',
  FLORIDA: 'FL',
  GEORGIA: 'GA',
  GUAM: 'GU',
  HAWAII: 'HI',
  IDAHO: 'ID',
  ILLINOIS: 'IL',
  INDIANA: 'IN',
  IOWA: 'IA',
  KANSAS: 'KS',
  KENTUCKY: 'KY',
  LOUISIANA: 'LA',
  MAINE: 'ME',
  MARYLAND: 'MD',
  MASSACHUSETTS: 'MA',
  MICHIGAN: 'MI',
  MINNESOTA: 'MN',
  MISSISSIPPI: 'MS',
  MISSOURI: 'MO',
  MONTANA: 'MT',
  NEBRASKA: 'NE',
  NEVADA: 'NV',
  'NEW HAMPSHIRE': 'NH',
  'NEW JERSEY': 'NJ',
  'NEW MEXICO': 'NM',
  'NEW YORK': 'NY',
  'NORTH CAROLINA': 'NC',
  'NORTH DAKOTA': 'ND',
  OHIO: 'OH',
  OKLAHOMA: 'OK',
  OREGON: 'OR',
  PENNSYLVANIA: 'PA',
  'PUERTO RICO': 'PR',
  'RHODE ISLAND': 'RI',
  'SOUTH CAROLINA': 'SC',
  'SOUTH DAKOTA': 'SD',
  TENNESSEE: 'TN',
  TEXAS: 'TX',
  UTAH: 'UT',
  VERMONT: 'VT',
  'VIRGIN ISLANDS': 'VI',
  VIRGINIA: 'VA',
  WASHINGTON: 'WA',
  'WEST VIRGINIA': 'WV',
  WISCONSIN: 'WI',
  WYOMING: 'WY',
};
const US_CODES = new Set([...Object.values(US_STATE_NAMES), 'AA', 'AE', 'AP', 'AS', 'MP']);

/** Canada Post: the first letter of a postal code is the province's (or territory's) forward sortation. */
const CA_FIRST_LETTER: Readonly<Record<string, readonly string[]>> = {
  A: ['NL'],
  B: ['NS'],
  C: ['PE'],
  E: ['NB'],
  G: ['QC'],
  H: ['QC'],
  J: ['QC'],
  K: ['ON'],
  L: ['ON'],
  M: ['ON'],
  N: ['ON'],
  P: ['ON'],
  R: ['MB'],
  S: ['SK'],
  T: ['AB'],
  V: ['BC'],
  X: ['NT', 'NU'],
  Y: ['YT'],
};

/** The USPS state (or territory, or military post) a ZIP's prefix belongs to, when the prefix is listed. */
export function stateOfZip(zip: string): string | undefined {
  const prefix = Number(zip.slice(0, 3));
  return ZIP3.find(([from, to]) => prefix >= from && prefix <= to)?.[2];
}

/** Everything wrong with a ship-to's postal code and region, each with its rule; [] when it can ship. */
export function shipToAddressIssues(address: AddressToCheck): AddressIssue[] {
  const postalCode = address.postalCode.trim();
  const region = address.region?.trim().toUpperCase();
  if (address.country === 'US') {
    const issues: AddressIssue[] = [];
    if (!/^\d{5}(-?\d{4})?$/.test(postalCode)) {
      issues.push({
        field: 'postalCode',
        rule: 'usZipFormat',
        message: /^\d{3,4}$/.test(postalCode)
          ? `is not a US ZIP code (${postalCode}): 5 digits, or ZIP+4; a leading zero may have been lost (0${postalCode.padStart(4, '0')}?)`
          : `is not a US ZIP code (${postalCode}): 5 digits, or ZIP+4`,
      });
    }
    const state = region ? (US_STATE_NAMES[region] ?? region) : undefined;
    if (region && !US_CODES.has(state ?? '')) {
      issues.push({
        field: 'region',
        rule: 'usState',
        message: `is not a US state or territory (${address.region})`,
      });
    } else if (state && issues.length === 0) {
      const zipState = stateOfZip(postalCode);
      if (zipState && zipState !== state) {
        issues.push({
          field: 'postalCode',
          rule: 'zipMatchesState',
          message: `is a ${zipState} ZIP code (${postalCode}), but the address is in ${state}`,
        });
      }
    }
    return issues;
  }
  if (address.country === 'CA') {
    const compact = postalCode.toUpperCase().replace(/\s+/g, '');
    if (!/^[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\d[ABCEGHJ-NPRSTV-Z]\d$/.test(compact)) {
      return [
        {
          field: 'postalCode',
          rule: 'caPostalFormat',
          message: `is not a Canadian postal code (${postalCode}): letter digit letter, digit letter digit`,
        },
      ];
    }
    const provinces = CA_FIRST_LETTER[compact[0] ?? ''] ?? [];
    if (region && !provinces.includes(region)) {
      return [
        {
          field: 'postalCode',
          rule: 'postalMatchesProvince',
          message: `starts with ${compact[0]}, which is ${provinces.join(' or ')}, but the address is in ${region}`,
        },
      ];
    }
  }
  return [];
}
