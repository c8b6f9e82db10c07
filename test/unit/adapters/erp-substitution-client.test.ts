import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErpSubstitutionClient } from '../../../lambdas/adapters/erp/substitution-client.ts';
import { PartnerClient } from '../../../lambdas/adapters/http/partner-client.ts';
import { PartnerContractBroken } from '../../../lambdas/shared/errors.ts';
import { PartnerSandbox } from '../../../local/partners/sandbox.ts';
import { seedSandbox } from '../../../local/partners/seed.ts';
import { sendJson, TestHttpServer } from '../../support/http-server.ts';

/** The customer's standing substitutes, read from the ERP sandbox's customer-material substitution records. */
const sandbox = new PartnerSandbox();
const server = new TestHttpServer();

beforeAll(async () => {
  await sandbox.start();
  await server.start();
});
afterAll(async () => {
  await sandbox.stop();
  await server.stop();
});
beforeEach(() => {
  sandbox.reset();
  seedSandbox(sandbox);
});

const client = (baseUrl = `${sandbox.baseUrl}/erp`) =>
  new ErpSubstitutionClient(
    new PartnerClient({
      partner: 'erp',
      baseUrl,
      timeoutMs: 1000,
      maxAttempts: 1,
      sleep: async () => {},
      random: () => 0,
    }),
  );

describe('ErpSubstitutionClient', () => {
  it("maps the customer's records for the short SKUs, in its order, with each approved substitute's cost and list price", async () => {
    const list = await client().substitutesFor('C-1001', ['VALVE-3IN', 'BOLT-M12']);

    expect(list).toEqual({
      approvedSubstitutes: [
        {
          forSku: 'VALVE-3IN',
          substituteSku: 'VALVE-3IN-RS',
          customerApproved: true,
          requiresApproval: false,
        },
        { forSku: 'BOLT-M12', substituteSku: 'BOLT-M8', customerApproved: false, requiresApproval: false },
      ],
      // A withdrawn record's substitute is not priced: it is never proposed.
      catalogue: { 'VALVE-3IN-RS': { unitCost: 124, listPrice: 199 } },
    });
    expect(sandbox.callsTo('GET', '/erp/items')).toHaveLength(1);
  });

  it('reads nothing more when the customer has no record for the short SKUs', async () => {
    expect(await client().substitutesFor('C-3003', ['VALVE-3IN'])).toEqual({
      approvedSubstitutes: [],
      catalogue: {},
    });
    expect(sandbox.callsTo('GET', '/erp/items')).toHaveLength(0);
  });

  it('treats a customer the ERP does not know as one without a list', async () => {
    expect(await client().substitutesFor('C-404', ['VALVE-3IN'])).toEqual({
      approvedSubstitutes: [],
      catalogue: {},
    });
  });

  it('refuses a list that breaks the contract, naming the field', async () => {
    server.respondWith((_req, res) =>
      sendJson(res, 200, {
        Customer: 'C-1001',
        Substitutes: [{ Material: 'VALVE-3IN', CustomerApproved: 'yes' }],
      }),
    );

    const failure = await client(`${server.baseUrl}/erp`)
      .substitutesFor('C-1001', ['VALVE-3IN'])
      .catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(PartnerContractBroken);
    expect(String((failure as Error).message)).toMatch(/SubstituteMaterial|CustomerApproved/);
  });
});
