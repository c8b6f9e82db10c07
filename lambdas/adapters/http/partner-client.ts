import { PartnerContractBroken, PartnerRejected, PartnerUnavailable } from '../../shared/errors.ts';

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
  readonly fetchImpl?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
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
 * JSON over HTTP to one partner system, with a per-attempt timeout, retries with full-jitter exponential
 * backoff on transient failures only, and named errors that say whether a caller may retry.
 */
export class PartnerClient {
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly backoffBaseMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly options: PartnerClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.maxAttempts = options.maxAttempts ?? 3;
    this.backoffBaseMs = options.backoffBaseMs ?? 100;
    this.fetchImpl = options.fetchImpl ?? fetch;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  get partner(): string {
    return this.options.partner;
  }

  /** Returns the parsed JSON body, or undefined for 404 on a GET (the resource does not exist). */
  async request(req: PartnerRequest): Promise<unknown> {
    const url = new URL(`${this.options.baseUrl}${req.path}`);
    for (const [key, value] of Object.entries(req.query ?? {})) url.searchParams.set(key, value);
    const headers: Record<string, string> = { accept: 'application/json', ...this.options.headers };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    if (req.idempotencyKey) headers['idempotency-key'] = req.idempotencyKey;

    let lastError: PartnerUnavailable | undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (attempt > 1) {
        const cap = this.backoffBaseMs * 2 ** (attempt - 1);
        await this.sleep(Math.floor(this.random() * cap));
      }
      let response: Response;
      try {
        response = await this.fetchImpl(url, {
          method: req.method,
          headers,
          body: req.body === undefined ? undefined : JSON.stringify(req.body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (error) {
        const reason =
          error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
            ? `no answer within ${this.timeoutMs} ms`
            : `network error (${error instanceof Error ? error.message : String(error)})`;
        lastError = new PartnerUnavailable(this.partner, `${req.method} ${req.path}: ${reason}`);
        continue;
      }
      if (response.status === 404 && req.method === 'GET') {
        await response.body?.cancel();
        return undefined;
      }
      if (RETRYABLE_STATUS.has(response.status)) {
        await response.body?.cancel();
        lastError = new PartnerUnavailable(
          this.partner,
          `${req.method} ${req.path} answered ${response.status}`,
          response.status,
        );
        continue;
      }
      let text: string;
      try {
        text = await response.text();
      } catch (error) {
        // Headers arrived, then the body stalled past the timeout or the connection dropped.
        lastError = new PartnerUnavailable(
          this.partner,
          `${req.method} ${req.path}: body not received (${error instanceof Error ? error.message : String(error)})`,
          response.status,
        );
        continue;
      }
      if (!response.ok) {
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
