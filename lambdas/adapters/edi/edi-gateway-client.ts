import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import * as z from 'zod/mini';
import { parseWith } from '../../../contracts/validation.ts';
import type { EdiAcceptance, EdiGateway } from '../../ports/index.ts';
import { PartnerContractBroken, PartnerRejected, PartnerUnavailable } from '../../shared/errors.ts';
import {
  defaultPartnerCallMetrics,
  measured,
  type PartnerCallMetrics,
} from '../http/partner-call-metrics.ts';
import type { PartnerClientOptions } from '../http/partner-client.ts';
import type { OutboundDocument } from './x12-outbound.ts';

/** The media type the gateway takes X12 interchanges in. */
export const X12_MEDIA_TYPE = 'application/edi-x12';
const OUTBOUND = '/outbound';

/** Statuses that mean "try again": the gateway is busy, down or throttling. */
const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** The gateway's `202` for an accepted outbound interchange, in the gateway's field names. */
const GatewayAcceptance = z.looseObject({
  acceptanceId: z.string().check(z.minLength(1), z.maxLength(80)),
  interchangeControlNumber: z.string().check(z.regex(/^\d{1,9}$/)),
  receivedAt: z.iso.datetime({ offset: true }),
  status: z.literal('ACCEPTED'),
});

/** Same options as PartnerClient (timeout, attempts, backoff, credential headers); `partner` defaults to 'edi'. */
export type EdiGatewayClientOptions = Omit<PartnerClientOptions, 'partner'> & { readonly partner?: string };

/** One keep-alive pool per protocol for the process, as PartnerClient keeps for JSON partners. */
const AGENTS = {
  'http:': new HttpAgent({ keepAlive: true, maxSockets: 50 }),
  'https:': new HttpsAgent({ keepAlive: true, maxSockets: 50 }),
};

/** One request and its whole answer within `timeoutMs`; rejects on a network error or a timeout. */
function exchange(
  url: URL,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<{ status: number; text: string }> {
  const https = url.protocol === 'https:';
  if (!https && url.protocol !== 'http:') {
    return Promise.reject(new Error(`unsupported protocol ${url.protocol}`));
  }
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': Buffer.byteLength(body) },
      agent: AGENTS[https ? 'https:' : 'http:'],
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      reject(error);
    };
    req.once('error', fail);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('error', fail);
      res.once('aborted', () => fail(new Error('connection closed mid-body')));
      res.once('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.end(body);
  });
}

/**
 * EDI gateway adapter: posts an outbound X12 interchange (855, 856, 810, 997) as `application/edi-x12` text
 * to `POST <base>/outbound`, with the document's idempotency key as Idempotency-Key, and maps the gateway's
 * acceptance back. The policy is PartnerClient's — a per-attempt timeout, full-jitter exponential backoff on
 * 408/425/429/5xx and network errors only, the same named errors — but the body is raw text, which
 * PartnerClient (JSON only) cannot send yet. 400 (invalid X12), 415 and 422 (a key reused with other bytes)
 * are PartnerRejected; outages after the retries are PartnerUnavailable; an acceptance of the wrong shape
 * or for another interchange is PartnerContractBroken.
 */
export class EdiGatewayClient implements EdiGateway {
  private readonly partner: string;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly backoffBaseMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly metrics: PartnerCallMetrics;

  constructor(private readonly options: EdiGatewayClientOptions) {
    this.partner = options.partner ?? 'edi';
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.maxAttempts = options.maxAttempts ?? 3;
    this.backoffBaseMs = options.backoffBaseMs ?? 100;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.metrics = options.metrics ?? defaultPartnerCallMetrics();
  }

  /** Reports its outcome with every other partner call (the adapter error rate), as PartnerClient does. */
  send(document: OutboundDocument): Promise<EdiAcceptance> {
    return measured(this.metrics, this.partner, () => this.sendOnce(document));
  }

  private async sendOnce(document: OutboundDocument): Promise<EdiAcceptance> {
    const text = await this.post(document.x12, document.idempotencyKey);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new PartnerContractBroken(this.partner, `POST ${OUTBOUND} answered non-JSON`);
    }
    const parsed = parseWith('EDI gateway acceptance', GatewayAcceptance, body);
    if (!parsed.ok) throw new PartnerContractBroken(this.partner, parsed.error.message);
    const sent = document.control.isa13;
    if (Number(parsed.value.interchangeControlNumber) !== Number(sent)) {
      throw new PartnerContractBroken(
        this.partner,
        `interchange ${sent} was answered with the acceptance of interchange ${parsed.value.interchangeControlNumber}`,
      );
    }
    return {
      acceptanceId: parsed.value.acceptanceId,
      receivedAt: new Date(parsed.value.receivedAt).toISOString(),
    };
  }

  /** The 2xx answer's body, after retrying transient failures with the same Idempotency-Key. */
  private async post(x12: string, idempotencyKey: string): Promise<string> {
    const url = new URL(`${this.options.baseUrl}${OUTBOUND}`);
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...this.options.headers,
      'content-type': X12_MEDIA_TYPE,
      'idempotency-key': idempotencyKey,
    };
    let lastError: PartnerUnavailable | undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (attempt > 1) {
        await this.sleep(Math.floor(this.random() * this.backoffBaseMs * 2 ** (attempt - 1)));
      }
      let response: { status: number; text: string };
      try {
        response = await exchange(url, headers, x12, this.timeoutMs);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        lastError = new PartnerUnavailable(
          this.partner,
          `POST ${OUTBOUND}: ${reason.startsWith('no answer') ? reason : `network error (${reason})`}`,
        );
        continue;
      }
      if (RETRYABLE_STATUS.has(response.status)) {
        lastError = new PartnerUnavailable(
          this.partner,
          `POST ${OUTBOUND} answered ${response.status}`,
          response.status,
        );
        continue;
      }
      if (response.status < 200 || response.status > 299) {
        throw new PartnerRejected(
          this.partner,
          `POST ${OUTBOUND} answered ${response.status}: ${response.text.slice(0, 300)}`,
          response.status,
        );
      }
      return response.text;
    }
    throw lastError ?? new PartnerUnavailable(this.partner, `POST ${OUTBOUND} failed`);
  }
}
