/** ERP sales orders that walk the standard path's branches against the seeded partner sandbox. */
export interface SampleOrder {
  readonly label: string;
  readonly body: Record<string, unknown>;
}

function order(
  salesOrder: string,
  customer: string,
  overrides: Record<string, unknown>,
  items: Record<string, unknown>[],
) {
  return {
    SalesOrder: salesOrder,
    SoldToParty: customer,
    CustomerGroup: 'STD',
    Segment: 'MID',
    PaymentTerms: 'NET30',
    CompleteDelivery: '',
    DistributionChannel: '10',
    ShippingCondition: '01',
    RequestedDeliveryDate: '',
    CreationDateTime: '',
    Currency: 'USD',
    ShipTo: {
      Name: 'Receiving dock',
      Street: '400 Industrial Pkwy',
      City: 'Columbus',
      PostalCode: '43004',
      Country: 'US',
      Email: `receiving.${customer.toLowerCase()}@example.com`,
    },
    Items: items,
    ...overrides,
  };
}

const item = (no: number, material: string, quantity: number, price: string, cost: string) => ({
  ItemNo: String(no * 10).padStart(6, '0'),
  Material: material,
  Quantity: String(quantity),
  Unit: 'EA',
  NetPrice: price,
  Cost: cost,
});

function yyyymmdd(date: Date): string {
  return date.toISOString().slice(0, 10).replace(/-/g, '');
}

/** Sample orders dated relative to `now`, so the promise dates make sense on any day. */
export function sampleOrders(now: Date, runId: string): SampleOrder[] {
  const created = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const inDays = (days: number) => yyyymmdd(new Date(now.getTime() + days * 86_400_000));
  const dated = { CreationDateTime: created, RequestedDeliveryDate: inDays(3) };
  return [
    {
      label: 'wholesale order, credit and stock fine',
      body: order(`${runId}-1`, 'C-1001', dated, [
        item(1, 'WIDGET-100', 40, '12.50', '8.10'),
        item(2, 'BOLT-M8', 500, '0.42', '0.15'),
      ]),
    },
    {
      label: 'key account, large order, nearest site cannot fill it',
      body: order(`${runId}-2`, 'C-2002', { ...dated, CustomerGroup: 'KEY', Segment: 'ENT' }, [
        item(1, 'PUMP-220', 45, '310.00', '228.00'),
      ]),
    },
    {
      label: 'customer close to its credit limit',
      body: order(`${runId}-3`, 'C-3003', dated, [item(1, 'PUMP-220', 4, '310.00', '228.00')]),
    },
    {
      label: 'customer with invoices 47 days overdue',
      body: order(`${runId}-4`, 'C-4004', dated, [item(1, 'WIDGET-100', 60, '12.50', '8.10')]),
    },
    {
      label: 'closed account',
      body: order(`${runId}-5`, 'C-5005', dated, [item(1, 'BOLT-M8', 100, '0.42', '0.15')]),
    },
    {
      label: 'ship-complete order for an item short everywhere',
      body: order(`${runId}-6`, 'C-1001', { ...dated, CompleteDelivery: 'X' }, [
        item(1, 'VALVE-3IN', 12, '89.00', '61.00'),
        item(2, 'WIDGET-100', 10, '12.50', '8.10'),
      ]),
    },
    {
      label: 'ship-partial order for an item short everywhere',
      body: order(`${runId}-7`, 'C-1001', dated, [
        item(1, 'VALVE-3IN', 12, '89.00', '61.00'),
        item(2, 'WIDGET-100', 10, '12.50', '8.10'),
      ]),
    },
    {
      label: 'order promised in three weeks (waits for its release window)',
      body: order(`${runId}-8`, 'C-1001', { ...dated, RequestedDeliveryDate: inDays(21) }, [
        item(1, 'WIDGET-100', 5, '12.50', '8.10'),
      ]),
    },
    {
      label: 'malformed order from the ERP',
      body: order(`${runId}-9`, 'C-1001', { ...dated, Currency: 'usd' }, [
        { ...item(1, 'WIDGET-100', 5, '12.50', '8.10'), Quantity: '2.5' },
      ]),
    },
    {
      label: 'order no single facility can fill (split across facilities)',
      body: order(`${runId}-10`, 'C-1001', dated, [item(1, 'WIDGET-100', 1500, '12.50', '8.10')]),
    },
    {
      label: 'next-day order from a key account (expedited: premium carrier, released at once)',
      body: order(
        `${runId}-11`,
        'C-2002',
        {
          ...dated,
          CustomerGroup: 'KEY',
          Segment: 'ENT',
          ShippingCondition: '03',
          RequestedDeliveryDate: inDays(1),
        },
        [item(1, 'WIDGET-100', 20, '12.50', '8.10')],
      ),
    },
    {
      label: 'order for a pump the vendor ships direct (drop-ship: purchase order to the vendor)',
      body: order(`${runId}-12`, 'C-6006', { ...dated, RequestedDeliveryDate: inDays(21) }, [
        { ...item(1, 'PUMP-SUB-75', 2, '1450.00', '1020.00'), DropShip: true },
      ]),
    },
  ];
}
