import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { systemClock } from '../../shared/clock.ts';
import { correlationId } from '../../shared/correlation.ts';
import { PartnerContractBroken, PartnerRejected, PartnerUnavailable } from '../../shared/errors.ts';
import { defaultPartnerCallMetrics, measured, type PartnerCallMetrics } from './partner-call-metrics.ts';

export interface PartnerClientOptions {
  /** Partner name used in errors and logs, e.g. 'erp'. */
  readonly partner: string;
  readonly baseUrl: string;
  /** Per-attempt timeout. @default 3000 */
  readonly timeoutMs?: number;
  /** Attempts including the first. @default 3 */
  readonly maxAttempts?: number;
  /** Backoff unit: before attempt k (k ≥ 2) the client waits a full-jitter delay in [0, base × 2^(k-1)). @default 100 */
  readonly backoffBaseMs?: number;
  /** Extra headers on every request (credentials come from configuration, never from code). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** Where each call's outcome is reported (the adapter error rate). @default CloudWatch (EMF) inside Lambda */
  readonly metrics?: PartnerCallMetrics;
}

export interface PartnerRequest {
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** Sent as Idempotency-Key so the partner can recognise a retried side effect. */
  readonly idempotencyKey?: string;
}

const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * One keep-alive pool per protocol for the whole process: a warm Lambda reuses its connections to the
 * partner across invocations instead of paying a TCP (and TLS) handshake per call.
 *
 * No cap on sockets: an execution environment runs one invocation at a time, so a cap would bound nothing
 * on AWS (a partner's load is bounded by the function's reserved concurrency); where many invocations share
 * one module (the local cloud), a cap queues calls behind others still waiting for their answer, so a call
 * would wait on a stranger rather than on its partner.
 */
const AGENTS = {
  'http:': new HttpAgent({ keepAlive: true }),
  'https:': new HttpsAgent({ keepAlive: true }),
};

/** How one HTTP exchange failed before a complete answer: no response at all, or a body cut short. */
class ExchangeFailed extends Error {
  constructor(
    readonly stage: 'response' | 'body',
    reason: string,
    readonly status?: number,
  ) {
    super(reason);
  }
}

/**
 * One request and its whole response body, within `timeoutMs` from start to last byte. Uses `node:http`
 * rather than `fetch`: the same exchange costs several times less CPU, and these calls sit on every order.
 */
function exchange(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
): Promise<{ status: number; text: string }> {
  const https = url.protocol === 'https:';
  if (!https && url.protocol !== 'http:') {
    return Promise.reject(new ExchangeFailed('response', `unsupported protocol ${url.protocol}`));
  }
  return new Promise((resolve, reject) => {
    let status: number | undefined;
    const req = (https ? httpsRequest : httpRequest)(url, {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) },
      agent: AGENTS[https ? 'https:' : 'http:'],
    });
    // The timeout runs on the handlers' clock: real time on AWS; in the local cloud its clock, so a partner
    // the simulation slows in virtual time times out in virtual time, whatever the machine's load.
    const timer = new AbortController();
    const expire = () =>
      req.destroy(
        new ExchangeFailed(status ? 'body' : 'response', `no answer within ${timeoutMs} ms`, status),
      );
    if (systemClock.sleep) systemClock.sleep(timeoutMs, timer.signal).then(expire, () => undefined);
    else {
      const handle = setTimeout(expire, timeoutMs);
      timer.signal.addEventListener('abort', () => clearTimeout(handle), { once: true });
    }
    const stopTimer = () => timer.abort();
    const fail = (error: Error) => {
      stopTimer();
      reject(
        error instanceof ExchangeFailed
          ? error
          : new ExchangeFailed(status ? 'body' : 'response', error.message, status),
      );
    };
    req.once('error', fail);
    req.once('response', (res) => {
      status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('error', fail);
      res.once('aborted', () => fail(new Error('connection closed mid-body')));
      res.once('end', () => {
        stopTimer();
        resolve({ status: status ?? 0, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.end(body);
  });
}

/**
 * JSON over HTTP to one partner system, with a per-attempt timeout, retries with full-jitter exponential
 * backoff on transient failures only, and named errors that say whether a caller may retry.
 */
export class PartnerClient {
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly backoffBaseMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly metrics: PartnerCallMetrics;

  constructor(private readonly options: PartnerClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.maxAttempts = options.maxAttempts ?? 3;
    this.backoffBaseMs = options.backoffBaseMs ?? 100;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.metrics = options.metrics ?? defaultPartnerCallMetrics();
  }

  get partner(): string {
    return this.options.partner;
  }

  /**
   * Returns the parsed JSON body, or undefined for 404 on a GET (the resource does not exist). Every call,
   * whatever its adapter, reports its outcome here: the one place the adapter error rate is measured.
   */
  request(req: PartnerRequest): Promise<unknown> {
    return measured(this.metrics, this.partner, () => this.send(req));
  }

  private async send(req: PartnerRequest): Promise<unknown> {
    const url = new URL(`${this.options.baseUrl}${req.path}`);
    for (const [key, value] of Object.entries(req.query ?? {})) url.searchParams.set(key, value);
    const headers: Record<string, string> = { accept: 'application/json', ...this.options.headers };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    if (req.idempotencyKey) headers['idempotency-key'] = req.idempotencyKey;
    const correlation = correlationId();
    if (correlation) headers['x-correlation-id'] = correlation;

    let lastError: PartnerUnavailable | undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (attempt > 1) {
        const cap = this.backoffBaseMs * 2 ** (attempt - 1);
        await this.sleep(Math.floor(this.random() * cap));
      }
      let response: { status: number; text: string };
      try {
        response = await exchange(
          url,
          req.method,
          headers,
          req.body === undefined ? undefined : JSON.stringify(req.body),
          this.timeoutMs,
        );
      } catch (error) {
        const failed =
          error instanceof ExchangeFailed ? error : new ExchangeFailed('response', String(error));
        lastError = new PartnerUnavailable(
          this.partner,
          failed.stage === 'body'
            ? `${req.method} ${req.path}: body not received (${failed.message})`
            : `${req.method} ${req.path}: ${failed.message.startsWith('no answer') ? failed.message : `network error (${failed.message})`}`,
          failed.status,
        );
        continue;
      }
      if (response.status === 404 && req.method === 'GET') return undefined;
      if (RETRYABLE_STATUS.has(response.status)) {
        lastError = new PartnerUnavailable(
          this.partner,
          `${req.method} ${req.path} answered ${response.status}`,
          response.status,
        );
        continue;
      }
      const text = response.text;
      if (response.status < 200 || response.status > 299) {
        throw new PartnerRejected(
          this.partner,
          `${req.method} ${req.path} answered ${response.status}: ${text.slice(0, 300)}`,
          response.status,
        );
      }
      if (text === '') return undefined;
      try {
        return JSON.parse(text);
      } catch {
        throw new PartnerContractBroken(this.partner, `${req.method} ${req.path} answered non-JSON`);
      }
    }
    throw lastError ?? new PartnerUnavailable(this.partner, `${req.method} ${req.path} failed`);
  }
}
