import { createServer } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PartnerClient, type PartnerClientOptions } from '../../../lambdas/adapters/http/partner-client.ts';
import { systemClock } from '../../../lambdas/shared/clock.ts';
import { enterCorrelation } from '../../../lambdas/shared/correlation.ts';
import {
  PartnerContractBroken,
  PartnerRejected,
  PartnerUnavailable,
} from '../../../lambdas/shared/errors.ts';
import { VirtualClock } from '../../../local/clock/clock.ts';
import { sendJson, sendText, TestHttpServer } from '../../support/http-server.ts';

const server = new TestHttpServer();
let sleeps: number[] = [];

beforeAll(() => server.start());
afterAll(() => server.stop());
beforeEach(() => {
  sleeps = [];
});

const RANDOM = 0.37;
const BASE_MS = 100;

/** A client against the local server with instant, recorded backoff and a fixed jitter draw. */
function client(options: Partial<PartnerClientOptions> = {}): PartnerClient {
  return new PartnerClient({
    partner: 'erp',
    baseUrl: `${server.baseUrl}/api`,
    timeoutMs: 1000,
    maxAttempts: 3,
    backoffBaseMs: BASE_MS,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => RANDOM,
    ...options,
  });
}

/** Full jitter: the delay before attempt n (n ≥ 2) is floor(random * base * 2^(n-1)). */
function expectedBackoff(attempts: number, random = RANDOM, base = BASE_MS): number[] {
  return Array.from({ length: attempts - 1 }, (_, i) => Math.floor(random * base * 2 ** (i + 1)));
}

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error('expected the request to fail, but it succeeded');
}

describe('PartnerClient', () => {
  it('GETs base URL + path with the query string and returns the parsed JSON body', async () => {
    server.respondWith((_req, res) => sendJson(res, 200, { Customer: 'C-1', CreditLimitAmount: '1000.00' }));
    const body = await client().request({
      method: 'GET',
      path: '/customers/C-1',
      query: { items: 'A,B', shipToCountry: 'NL' },
    });
    expect(body).toEqual({ Customer: 'C-1', CreditLimitAmount: '1000.00' });
    expect(server.requests).toHaveLength(1);
    const [received] = server.requests;
    expect(received?.method).toBe('GET');
    expect(received?.path).toBe('/api/customers/C-1');
    expect(Object.fromEntries(received?.query ?? [])).toEqual({ items: 'A,B', shipToCountry: 'NL' });
    expect(received?.headers.accept).toBe('application/json');
    expect(received?.headers['content-type']).toBeUndefined();
    expect(received?.headers['idempotency-key']).toBeUndefined();
    expect(received?.body).toBe('');
  });

  it('returns undefined for a 404 on a GET: the resource does not exist', async () => {
    server.respondWith((_req, res) => sendJson(res, 404, { message: 'no such customer' }));
    await expect(client().request({ method: 'GET', path: '/customers/nobody' })).resolves.toBeUndefined();
    expect(server.requests).toHaveLength(1);
  });

  it('treats a 404 on a POST as a rejection, not as absence', async () => {
    server.respondWith((_req, res) => sendJson(res, 404, { message: 'no route' }));
    const error = await failureOf(client().request({ method: 'POST', path: '/reservations', body: {} }));
    expect(error).toBeInstanceOf(PartnerRejected);
    expect(error).toMatchObject({ name: 'PartnerRejected', retryable: false, status: 404 });
  });

  it('returns undefined for a 2xx answer without a body', async () => {
    server.respondWith((_req, res) => {
      res.writeHead(204).end();
    });
    await expect(client().request({ method: 'PUT', path: '/x', body: { a: 1 } })).resolves.toBeUndefined();
  });

  it('retries a 503 and succeeds on the third attempt, backing off with full jitter', async () => {
    server.respondInSequence(
      (_req, res) => sendJson(res, 503, { message: 'maintenance' }),
      (_req, res) => sendJson(res, 503, { message: 'maintenance' }),
      (_req, res) => sendJson(res, 200, { ok: true }),
    );
    await expect(client().request({ method: 'GET', path: '/status' })).resolves.toEqual({ ok: true });
    expect(server.requests).toHaveLength(3);
    expect(sleeps).toEqual(expectedBackoff(3));
    expect(sleeps).toEqual([74, 148]);
  });

  it('gives up after exactly maxAttempts on a persistent 503 with a retryable PartnerUnavailable', async () => {
    server.respondWith((_req, res) => sendJson(res, 503, { message: 'down' }));
    const error = await failureOf(client({ maxAttempts: 4 }).request({ method: 'GET', path: '/status' }));
    expect(error).toBeInstanceOf(PartnerUnavailable);
    expect(error).toMatchObject({ name: 'PartnerUnavailable', retryable: true, status: 503, partner: 'erp' });
    expect(error.message).toBe('erp: GET /status answered 503');
    expect(server.requests).toHaveLength(4);
    expect(sleeps).toEqual(expectedBackoff(4));
  });

  it('draws each backoff from [0, base * 2^(attempt-1)) using the injected random source', async () => {
    server.respondWith((_req, res) => sendJson(res, 503, {}));
    const draws = [0, 0.999, 0.5];
    const random = () => draws.shift() ?? 0;
    await failureOf(
      client({ maxAttempts: 4, backoffBaseMs: 50, random }).request({ method: 'GET', path: '/s' }),
    );
    expect(sleeps).toEqual([0, Math.floor(0.999 * 50 * 4), Math.floor(0.5 * 50 * 8)]);
  });

  it.each([408, 425, 429, 500, 502, 504])('treats status %i as transient and retries it', async (status) => {
    server.respondInSequence(
      (_req, res) => sendJson(res, status, {}),
      (_req, res) => sendJson(res, 200, { attempt: 2 }),
    );
    await expect(client().request({ method: 'GET', path: '/s' })).resolves.toEqual({ attempt: 2 });
    expect(server.requests).toHaveLength(2);
  });

  it('does not retry a 400: PartnerRejected, not retryable, carrying status and the partner message', async () => {
    server.respondWith((_req, res) => sendJson(res, 400, { message: 'PaymentTerms NET999 unknown' }));
    const error = await failureOf(client().request({ method: 'POST', path: '/orders', body: { a: 1 } }));
    expect(error).toBeInstanceOf(PartnerRejected);
    expect(error).toMatchObject({ name: 'PartnerRejected', retryable: false, status: 400, partner: 'erp' });
    expect(error.message).toContain('POST /orders answered 400');
    expect(error.message).toContain('PaymentTerms NET999 unknown');
    expect(server.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it.each([401, 403, 409, 422])('does not retry a %i either', async (status) => {
    server.respondWith((_req, res) => sendJson(res, status, {}));
    const error = await failureOf(client().request({ method: 'GET', path: '/s' }));
    expect(error).toMatchObject({ name: 'PartnerRejected', retryable: false, status });
    expect(server.requests).toHaveLength(1);
  });

  it('reports a partner that never answers within timeoutMs as PartnerUnavailable naming the timeout', async () => {
    server.respondWith(() => {
      // Never answer: the client's per-attempt timeout has to fire.
    });
    const started = Date.now();
    const error = await failureOf(
      client({ timeoutMs: 150, maxAttempts: 2 }).request({ method: 'GET', path: '/slow' }),
    );
    expect(error).toBeInstanceOf(PartnerUnavailable);
    expect(error).toMatchObject({ name: 'PartnerUnavailable', retryable: true, status: undefined });
    expect(error.message).toBe('erp: GET /slow: no answer within 150 ms');
    expect(server.requests).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2 * 150 - 20);
  });

  it('times a call out on the handlers’ clock when it has one (the local cloud’s virtual time)', async () => {
    server.respondWith(() => {
      // Never answer.
    });
    const clock = new VirtualClock(new Date('2026-11-23T10:00:00Z'));
    systemClock.sleep = (ms, signal) => clock.sleep(ms, signal);
    try {
      let failed: Error | undefined;
      const call = failureOf(
        client({ timeoutMs: 3000, maxAttempts: 1 }).request({ method: 'GET', path: '/slow' }),
      ).then((error) => {
        failed = error;
      });
      // Real time passing does not time it out while the clock stands still...
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(failed).toBeUndefined();
      await clock.advance(2999);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(failed).toBeUndefined();
      // ...its clock's three seconds do.
      await clock.advance(1);
      await call;
      expect(failed).toBeInstanceOf(PartnerUnavailable);
      expect(failed?.message).toBe('erp: GET /slow: no answer within 3000 ms');
    } finally {
      delete systemClock.sleep;
    }
  });

  it('leaves no timer on the handlers’ clock once a call is answered', async () => {
    server.respondWith((_req, res) => sendJson(res, 200, { ok: true }));
    const clock = new VirtualClock(new Date('2026-11-23T10:00:00Z'));
    systemClock.sleep = (ms, signal) => clock.sleep(ms, signal);
    try {
      expect(await client().request({ method: 'GET', path: '/fast' })).toEqual({ ok: true });
      expect(clock.nextWakeUp()).toBeUndefined();
    } finally {
      delete systemClock.sleep;
    }
  });

  it('reports a partner that stalls in the middle of its answer as PartnerUnavailable', async () => {
    server.respondWith((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"facilities": [');
      // ...and the rest of the body never comes.
    });
    const error = await failureOf(
      client({ timeoutMs: 150, maxAttempts: 1 }).request({ method: 'GET', path: '/s' }),
    );
    expect(error).toBeInstanceOf(PartnerUnavailable);
    expect(error).toMatchObject({ name: 'PartnerUnavailable', retryable: true });
  });

  it('reports a refused connection as a retryable PartnerUnavailable after every attempt', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const address = closed.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const error = await failureOf(
      client({ baseUrl: `http://127.0.0.1:${port}` }).request({ method: 'GET', path: '/s' }),
    );
    expect(error).toBeInstanceOf(PartnerUnavailable);
    expect(error).toMatchObject({ name: 'PartnerUnavailable', retryable: true });
    expect(error.message).toMatch(/^erp: GET \/s: network error/);
    expect(sleeps).toEqual(expectedBackoff(3));
  });

  it('reports a 200 with a non-JSON body as PartnerContractBroken, without retrying', async () => {
    server.respondWith((_req, res) => sendText(res, 200, '<html>Login required</html>', 'text/html'));
    const error = await failureOf(client().request({ method: 'GET', path: '/customers/C-1' }));
    expect(error).toBeInstanceOf(PartnerContractBroken);
    expect(error).toMatchObject({ name: 'PartnerContractBroken', retryable: false, partner: 'erp' });
    expect(error.message).toBe('erp: GET /customers/C-1 answered non-JSON');
    expect(server.requests).toHaveLength(1);
  });

  it('POSTs a JSON body with content-type and the idempotency-key header', async () => {
    server.respondWith((_req, res) => sendJson(res, 201, { reservationNumber: 'RSV-1' }));
    const body = { orderReference: 'ERP-1', lines: [{ lineNumber: 10, itemCode: 'A', quantity: 2 }] };
    const answer = await client().request({
      method: 'POST',
      path: '/reservations',
      body,
      idempotencyKey: 'ERP-1:reserve:DC-1',
    });
    expect(answer).toEqual({ reservationNumber: 'RSV-1' });
    const [received] = server.requests;
    expect(received?.method).toBe('POST');
    expect(received?.headers['content-type']).toBe('application/json');
    expect(received?.headers['idempotency-key']).toBe('ERP-1:reserve:DC-1');
    expect(JSON.parse(received?.body ?? '')).toEqual(body);
  });

  it("carries the invocation's correlation id as X-Correlation-Id, and none when the handler named none", async () => {
    server.respondWith((_req, res) => sendJson(res, 200, {}));
    await client().request({ method: 'GET', path: '/customers/C-1' });
    await new Promise<void>((resolve, reject) => {
      // A fresh async context, as each invocation is: what one names does not leak into the test's own.
      setImmediate(() => {
        enterCorrelation('ERP-SO7000083');
        client()
          .request({ method: 'GET', path: '/customers/C-1' })
          .then(() => resolve(), reject);
      });
    });
    expect(server.requests.map((r) => r.headers['x-correlation-id'])).toEqual([undefined, 'ERP-SO7000083']);
  });

  it('sends the same idempotency key and body on every retry of a side effect', async () => {
    server.respondInSequence(
      (_req, res) => sendJson(res, 502, {}),
      (_req, res) => sendJson(res, 201, { releaseNumber: 'REL-1' }),
    );
    await client().request({ method: 'POST', path: '/releases', body: { p: 1 }, idempotencyKey: 'K-1' });
    expect(server.requests.map((r) => [r.headers['idempotency-key'], r.body])).toEqual([
      ['K-1', '{"p":1}'],
      ['K-1', '{"p":1}'],
    ]);
  });

  it('sends the configured headers on every request', async () => {
    server.respondWith((_req, res) => sendJson(res, 200, {}));
    const configured = client({ headers: { authorization: 'Bearer test-token', 'x-tenant': 'eu-1' } });
    await configured.request({ method: 'GET', path: '/a' });
    await configured.request({ method: 'POST', path: '/b', body: {} });
    expect(server.requests).toHaveLength(2);
    for (const received of server.requests) {
      expect(received.headers.authorization).toBe('Bearer test-token');
      expect(received.headers['x-tenant']).toBe('eu-1');
    }
  });

  it('exposes the partner name it reports errors under', () => {
    expect(client({ partner: 'wms' }).partner).toBe('wms');
  });
});
