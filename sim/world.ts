import { x12Interchange } from '../local/partners/edi.ts';
import type { PartnerSandbox } from '../local/partners/sandbox.ts';
import { SEED_CARRIERS } from '../local/partners/seed.ts';
import { seedVendors } from '../local/partners/vendor.ts';
import type { Arrival, EdiChain, SimCustomer, Workload } from './workload.ts';

/**
 * Puts the simulated distributor into the partner sandboxes: the ERP's customers, credit, substitution
 * records and item master,
 * the finance system's accounts, the CRM's contacts, the WMS's centres and stock, the TMS's carriers and
 * the drop-ship vendors.
 */
export function seedWorld(sandbox: PartnerSandbox, workload: Workload): void {
  for (const customer of workload.customers) {
    sandbox.credit.set(customer.id, customer.credit);
    if (customer.substitutes) sandbox.erp.substitutes.set(customer.id, [...customer.substitutes]);
    sandbox.crm.accounts.set(customer.id, {
      AccountNumber: customer.id,
      Name: customer.name,
      Email: customer.email,
      Phone: null,
      Tier: customer.group === 'KEY' ? 'Key Account' : customer.group === 'PREF' ? 'Preferred' : 'Standard',
    });
    sandbox.finance.accounts.set(customer.id, {
      customerId: customer.id,
      currency: 'USD',
      creditLimit: customer.credit.CreditLimitAmount,
      openReceivables: customer.credit.ReceivablesAmount,
      overdueReceivables: customer.credit.OverdueAmount,
      oldestOverdueDays: customer.credit.OldestOverdueDays,
      unappliedCash: '0.00',
      openOrders: customer.credit.OpenOrdersAmount,
      paymentTerms: customer.credit.PaymentTerms,
      closed: customer.credit.AccountClosed,
    });
  }
  for (const item of workload.catalogue) sandbox.erp.items.set(item.Material, item);
  sandbox.facilities = workload.facilities.map((f) => ({
    ...f,
    inventory: f.inventory.map((i) => ({ ...i })),
  }));
  for (const carrier of SEED_CARRIERS) sandbox.tms.carriers.set(carrier.scac, { ...carrier });
  seedVendors(sandbox.vendor);
}

/** The `handoff:ediTradingPartners` context that lets the stack accept the chains' interchanges. */
export function ediTradingPartnersOf(chains: readonly EdiChain[]): unknown[] {
  return chains.map((chain) => ({
    interchange: { qualifier: 'ZZ', id: chain.interchangeId },
    profile: {
      customerId: chain.customerId,
      customerName: chain.name,
      segment: 'enterprise',
      priority: 'key-account',
      paymentTerms: 'NET45',
      fulfilment: 'ship-partial',
      currency: 'USD',
      defaultCountry: 'US',
    },
  }));
}

const SHIPPING_CONDITION = { standard: '01', expedited: '02', 'next-day': '03', economy: '04' } as const;
const CHANNEL_CODE = { wholesale: '10', 'retail-replenishment': '20', 'direct-to-customer': '30' } as const;

function yyyymmdd(at: number): string {
  return new Date(at).toISOString().slice(0, 10).replaceAll('-', '');
}

/** The ERP's outbound sales order for an arrival (wholesale and direct-to-customer channels). */
export function erpSalesOrder(
  arrival: Arrival,
  customer: SimCustomer,
  /** As resent once customer service has corrected the ship-to in the ERP. */
  corrected = false,
): Record<string, unknown> {
  return {
    SalesOrder: arrival.reference,
    SoldToParty: customer.id,
    CustomerName: customer.name,
    CustomerGroup: customer.group,
    Segment: customer.segment,
    PaymentTerms: customer.credit.PaymentTerms,
    CompleteDelivery: arrival.shipComplete ? 'X' : '',
    DistributionChannel: CHANNEL_CODE[arrival.channel],
    ShippingCondition: SHIPPING_CONDITION[arrival.serviceLevel],
    RequestedDeliveryDate: yyyymmdd(arrival.at + arrival.requestedDeliveryDays * 86_400_000),
    CreationDateTime: new Date(arrival.at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    Currency: 'USD',
    ShipTo: {
      Name: customer.segment === 'B2C' ? customer.name : 'Receiving dock',
      Street: customer.segment === 'B2C' ? '18 Maple Ave' : '400 Industrial Pkwy',
      City: arrival.shipTo.city,
      Region: arrival.shipTo.region,
      PostalCode: (!corrected && arrival.addressError?.postalCode) || arrival.shipTo.postalCode,
      Country: 'US',
      ...(customer.email ? { Email: customer.email } : {}),
    },
    Items: arrival.lines.map((line, i) => ({
      ItemNo: String((i + 1) * 10).padStart(6, '0'),
      Material: line.sku,
      Quantity: String(line.quantity),
      Unit: 'EA',
      NetPrice: line.unitPrice,
      Cost: line.unitCost,
      ...(line.dropShip ? { DropShip: true } : {}),
    })),
  };
}

/** The chain's X12 850 for an arrival (retail replenishment), as its EDI translator sends it. */
export function purchaseOrder850(arrival: Arrival, chain: EdiChain, controlNumber: number): string {
  const at = new Date(arrival.at);
  return x12Interchange({
    sender: chain.interchangeId,
    receiver: 'HANDOFFDIST',
    controlNumber,
    functionalId: 'PO',
    transactionSet: '850',
    at,
    body: [
      ['BEG', '00', 'SA', arrival.reference, '', yyyymmdd(arrival.at)],
      ['REF', 'IA', chain.customerId],
      ['DTM', '002', yyyymmdd(arrival.at + arrival.requestedDeliveryDays * 86_400_000)],
      [
        'N1',
        'ST',
        `${chain.name} #${String(100 + (controlNumber % 40))}`,
        '92',
        String(100 + (controlNumber % 40)),
      ],
      ['N3', '2200 Lakeshore Blvd'],
      ['N4', 'Toledo', 'OH', '43611', 'US'],
      ...arrival.lines.map((line, i) => [
        'PO1',
        String(i + 1),
        String(line.quantity),
        'EA',
        line.unitPrice,
        '',
        'VP',
        line.sku,
      ]),
      ['CTT', String(arrival.lines.length)],
    ],
  });
}
