import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importHandler } from '../../../local/lambda/handler-module.ts';

const source = fileURLToPath(new URL('./fixtures/env-at-import.ts', import.meta.url));
const spec = (name: string) => ({
  name,
  arn: `arn:aws:lambda:us-east-1:000000000000:function:${name}`,
  source,
  exportName: 'handler',
  environment: { POWERTOOLS_SERVICE_NAME: `svc-${name}` },
  timeoutMs: 3000,
});

describe('importHandler', () => {
  it('evaluates each function module under its own environment, even when imports overlap', async () => {
    const names = ['RouteOrder', 'CheckCredit', 'BookCarrier', 'NotifyCustomer'];
    const handlers = await Promise.all(
      names.map((name) => importHandler(spec(name), { AWS_REGION: 'us-east-1' })),
    );
    const seen = await Promise.all(handlers.map((h) => h({}, {})));
    expect(seen).toEqual(names.map((name) => ({ name, service: `svc-${name}`, after: `svc-${name}` })));
  });

  it('keeps importing after one module fails to load', async () => {
    const broken = { ...spec('Broken'), exportName: 'missing' };
    await expect(importHandler(broken, {})).rejects.toThrow("handler export 'missing' missing");
    const handler = await importHandler(spec('AfterBroken'), {});
    expect(await handler({}, {})).toMatchObject({ service: 'svc-AfterBroken' });
  });
});
