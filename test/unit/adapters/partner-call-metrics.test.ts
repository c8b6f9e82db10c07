import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PowertoolsAdapterMetrics } from '../../../lambdas/adapters/aws/powertools-adapter-metrics.ts';
import { EdiGatewayClient } from '../../../lambdas/adapters/edi/edi-gateway-client.ts';
import type { OutboundDocument } from '../../../lambdas/adapters/edi/x12-outbound.ts';
import type { PartnerCallMetrics } from '../../../lambdas/adapters/http/partner-call-metrics.ts';
import { PartnerClient } from '../../../lambdas/adapters/http/partner-client.ts';
import { PartnerRejected, PartnerUnavailable } from '../../../lambdas/shared/errors.ts';
import { sendJson, sendText, TestHttpServer } from '../../support/http-server.ts';

/**
 * The adapter error rate is measured where every partner call goes through: PartnerClient (JSON partners)
 * and the EDI gateway client. Each call reports once, after its retries, whether the integration failed.
 */
const server = new TestHttpServer();
beforeAll(() => server.start());
afterAll(() => server.stop());

class RecordingMetrics implements PartnerCallMetrics {
  readonly calls: string[] = [];
  called(partner: string, failed: boolean): void {
    this.calls.push(`${partner}:${failed ? 'failed' : 'ok'}`);
  }
}

const clientWith = (metrics: PartnerCallMetrics) =>
  new PartnerClient({
    partner: 'wms',
    baseUrl: `${server.baseUrl}/wms`,
    timeoutMs: 1000,
    maxAttempts: 3,
    sleep: async () => {},
    metrics,
  });

const outcome = (promise: Promise<unknown>) =>
  promise.then(
    () => 'ok',
    (error: Error) => error.name,
  );

describe('every partner call reports its outcome once, after its retries', () => {
  it.each([
    ['a 2xx answer', 200, 'ok', 'wms:ok'],
    ['a 404 to a GET (the resource does not exist)', 404, 'ok', 'wms:ok'],
    ['503 on every attempt (an outage)', 503, 'PartnerUnavailable', 'wms:failed'],
    ['400 (our request is wrong)', 400, 'PartnerRejected', 'wms:failed'],
    ['401 (refused credentials)', 401, 'PartnerRejected', 'wms:failed'],
    ['409 (a business conflict: stock moved)', 409, 'PartnerRejected', 'wms:ok'],
    ['422 (unprocessable business data)', 422, 'PartnerRejected', 'wms:ok'],
  ])('%s', async (_what, status, result, reported) => {
    server.respondWith((_req, res) => sendJson(res, status, { code: 'x' }));
    const metrics = new RecordingMetrics();
    expect(await outcome(clientWith(metrics).request({ method: 'GET', path: '/availability' }))).toBe(result);
    expect(metrics.calls).toEqual([reported]);
  });

  it('a non-JSON 2xx answer is a broken contract, and a failure', async () => {
    server.respondWith((_req, res) => sendText(res, 200, '<html>maintenance</html>', 'text/html'));
    const metrics = new RecordingMetrics();
    expect(await outcome(clientWith(metrics).request({ method: 'GET', path: '/x' }))).toBe(
      'PartnerContractBroken',
    );
    expect(metrics.calls).toEqual(['wms:failed']);
  });

  it('one report per call, not per attempt: a call that succeeds on its third attempt is one good call', async () => {
    let attempts = 0;
    server.respondWith((_req, res) => sendJson(res, ++attempts < 3 ? 503 : 200, { ok: true }));
    const metrics = new RecordingMetrics();
    expect(await clientWith(metrics).request({ method: 'GET', path: '/x' })).toEqual({ ok: true });
    expect(attempts).toBe(3);
    expect(metrics.calls).toEqual(['wms:ok']);
  });

  it('a metric that cannot be written never changes the call’s result or error', async () => {
    const broken: PartnerCallMetrics = {
      called: () => {
        throw new Error('stdout closed');
      },
    };
    server.respondWith((_req, res) => sendJson(res, 200, { ok: true }));
    expect(await clientWith(broken).request({ method: 'GET', path: '/x' })).toEqual({ ok: true });
    server.respondWith((_req, res) => sendJson(res, 503, {}));
    await expect(clientWith(broken).request({ method: 'GET', path: '/x' })).rejects.toBeInstanceOf(
      PartnerUnavailable,
    );
  });

  it('the EDI gateway client reports its sends the same way', async () => {
    server.respondWith((_req, res) => sendJson(res, 400, { code: 'invalid_x12' }));
    const metrics = new RecordingMetrics();
    const gateway = new EdiGatewayClient({
      baseUrl: `${server.baseUrl}/edi`,
      maxAttempts: 1,
      sleep: async () => {},
      metrics,
    });
    const document = {
      x12: 'ISA*…~',
      idempotencyKey: 'k-1',
      control: { isa13: '1' },
    } as unknown as OutboundDocument;
    await expect(gateway.send(document)).rejects.toBeInstanceOf(PartnerRejected);
    expect(metrics.calls).toEqual(['edi:failed']);
  });
});

describe('PowertoolsAdapterMetrics', () => {
  const written: string[] = [];
  const write = process.stdout.write;
  afterEach(() => {
    process.stdout.write = write;
    written.length = 0;
  });

  it('writes one EMF line per call: AdapterError 0 or 1 by Adapter, in the Handoff namespace', () => {
    process.stdout.write = ((chunk: string) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    const metrics = new PowertoolsAdapterMetrics(
      new Metrics({ namespace: 'Handoff', serviceName: 'handoff-adapters' }),
    );
    metrics.called('erp', true);
    metrics.called('wms', false);
    process.stdout.write = write;
    const lines = written.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map(({ Adapter, AdapterError, service }) => ({ Adapter, AdapterError, service }))).toEqual([
      { Adapter: 'erp', AdapterError: 1, service: 'handoff-adapters' },
      { Adapter: 'wms', AdapterError: 0, service: 'handoff-adapters' },
    ]);
    expect(lines[0]?._aws).toMatchObject({
      CloudWatchMetrics: [
        {
          Namespace: 'Handoff',
          Dimensions: [['service', 'Adapter']],
          Metrics: [{ Name: 'AdapterError', Unit: 'Count' }],
        },
      ],
    });
  });
});
