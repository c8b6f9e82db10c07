import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type * as z from 'zod/mini';
import { parseWith } from '../../contracts/validation.ts';

/**
 * The pieces every partner sandbox shares: routes, request and response shapes, authentication,
 * Stripe-style idempotency, seeded randomness, fault knobs and outbound event feeds. Partners
 * (`erp.ts`, `wms.ts`, …) only describe their routes and data; `sandbox.ts` serves them over HTTP.
 */

export const PARTNER_NAMES = ['erp', 'wms', 'tms', 'crm', 'finance', 'edi', 'vendor'] as const;
export type PartnerName = (typeof PARTNER_NAMES)[number];

/** The sandbox's only source of time; the local cloud passes its (possibly virtual) clock. */
export interface SandboxClock {
  now(): Date;
}

export const systemClock: SandboxClock = { now: () => new Date() };

/** What a partner needs from the sandbox around it: time and reproducible randomness. */
export interface PartnerEnvironment {
  readonly clock: SandboxClock;
  /** A seeded pseudo-random stream in [0, 1); the same name gives the same sequence after every reset. */
  random(stream: string): () => number;
  /**
   * One draw in [0, 1) fixed by the stream's name and a key (what is being decided, e.g. an event's business
   * identity): the same key gets the same draw whatever happened before it, so a decision does not depend on
   * the order concurrent work reached the sandbox in. Absent: the next draw of `random(stream)`.
   */
  draw?(stream: string, key: string): number;
}

// ---------------------------------------------------------------------------------------------------
// Seeded randomness
// ---------------------------------------------------------------------------------------------------

/** mulberry32: tiny, fast and good enough to decide which request fails. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Independent seeded streams by name (FNV-1a of seed and name), so turning on a knob for one partner or
 * route does not shift the draws of another: a run repeats exactly whatever else is configured.
 */
export class RandomStreams {
  private readonly streams = new Map<string, () => number>();

  constructor(private readonly seed: number) {}

  stream(name: string): () => number {
    let stream = this.streams.get(name);
    if (!stream) {
      stream = seededRandom(this.fnv(name));
      this.streams.set(name, stream);
    }
    return stream;
  }

  /** One draw fixed by the seed, the stream's name and the key (nothing is remembered). */
  draw(name: string, key: string): number {
    // The name's hash, a 0 separator, then the key.
    return seededRandom(this.fnv(key, Math.imul(this.fnv(name), 0x01000193)))();
  }

  /** FNV-1a of the text, from the seed's offset basis (or from `hash`, to continue one). */
  private fnv(text: string, hash = 0x811c9dc5 ^ this.seed): number {
    for (const char of text) hash = Math.imul(hash ^ (char.codePointAt(0) ?? 0), 0x01000193);
    return hash;
  }

  reset(): void {
    this.streams.clear();
  }
}

// ---------------------------------------------------------------------------------------------------
// Requests, responses and routes
// ---------------------------------------------------------------------------------------------------

export interface SandboxRequest {
  readonly method: string;
  readonly path: string;
  /** `:name` segments of the route pattern, URL-decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** Media type without parameters, lower case; '' when the request named none. */
  readonly contentType: string;
  readonly rawBody: string;
  /** The parsed JSON body; undefined when the body is empty or not JSON (e.g. X12 text). */
  readonly body: unknown;
  readonly idempotencyKey?: string;
}

export interface SandboxResponse {
  readonly status: number;
  /** Serialised as JSON unless `text` is given. */
  readonly body?: unknown;
  /** A non-JSON body, sent as is (with the content-type from `headers`, text/plain by default). */
  readonly text?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface Route {
  readonly method: 'GET' | 'POST';
  /** Full path with `:name` segments, e.g. `/finance/holds/:holdId/release`. */
  readonly pattern: string;
  /** A side effect: with an Idempotency-Key, a retry replays the first answer instead of acting twice. */
  readonly idempotent?: boolean;
  /**
   * Contended: requests of one instant must be decided in one fixed order (stock reservations). Behind a
   * sandbox `gate` they are held and decided together in key order; without one, in arrival order.
   */
  readonly ordered?: boolean;
  readonly handle: (request: SandboxRequest) => SandboxResponse;
}

/** One emulated partner system: its routes under `/<name>/…`, its data, and how to forget it. */
export interface SandboxPartner {
  readonly name: PartnerName;
  readonly routes: readonly Route[];
  /** Forgets all data and counters (seeding puts reference data back). */
  reset(): void;
}

export function json(status: number, body: unknown, headers?: Readonly<Record<string, string>>) {
  return { status, body, ...(headers ? { headers } : {}) } satisfies SandboxResponse;
}

/** The error shape every sandbox partner answers with: a stable code, a sentence, and the particulars. */
export function problem(
  status: number,
  code: string,
  message: string,
  details: Readonly<Record<string, unknown>> = {},
): SandboxResponse {
  return json(status, { code, message, ...details });
}

/** Thrown by a handler to answer with an error; the dispatcher turns it into the response. */
export class Refusal extends Error {
  constructor(readonly response: SandboxResponse) {
    super(`refused with ${response.status}`);
  }
}

export function refuse(
  status: number,
  code: string,
  message: string,
  details?: Readonly<Record<string, unknown>>,
): never {
  throw new Refusal(problem(status, code, message, details));
}

/** Validates a request body against the partner's own schema: 400 naming every broken field otherwise. */
export function validBody<S extends z.ZodMiniType>(what: string, schema: S, body: unknown): z.output<S> {
  const parsed = parseWith(what, schema, body);
  if (!parsed.ok) {
    refuse(400, 'invalid_request', parsed.error.message, { violations: parsed.error.violations });
  }
  return parsed.value;
}

interface CompiledRoute {
  readonly route: Route;
  readonly regex: RegExp;
  readonly keys: readonly string[];
}

export function compileRoute(route: Route): CompiledRoute {
  const keys: string[] = [];
  const source = route.pattern
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      keys.push(segment.slice(1));
      return '([^/]+)';
    })
    .join('/');
  return { route, regex: new RegExp(`^${source}$`), keys };
}

export type RouteMatch =
  | { readonly kind: 'found'; readonly route: Route; readonly params: Record<string, string> }
  | { readonly kind: 'wrong-method'; readonly allowed: readonly string[] }
  | { readonly kind: 'none' };

export function matchRoute(routes: readonly CompiledRoute[], method: string, path: string): RouteMatch {
  const allowed: string[] = [];
  for (const compiled of routes) {
    const match = compiled.regex.exec(path);
    if (!match) continue;
    if (compiled.route.method !== method) {
      allowed.push(compiled.route.method);
      continue;
    }
    const params: Record<string, string> = {};
    compiled.keys.forEach((key, i) => {
      params[key] = decodeURIComponent(match[i + 1] ?? '');
    });
    return { kind: 'found', route: compiled.route, params };
  }
  return allowed.length > 0 ? { kind: 'wrong-method', allowed } : { kind: 'none' };
}

/** Numbered document ids per prefix (`INV-000001`), forgotten on reset like the documents themselves. */
export class Sequences {
  private readonly counters = new Map<string, number>();

  next(prefix: string, width = 6): string {
    const n = (this.counters.get(prefix) ?? 0) + 1;
    this.counters.set(prefix, n);
    return `${prefix}${String(n).padStart(width, '0')}`;
  }

  reset(): void {
    this.counters.clear();
  }
}

// ---------------------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------------------

/** How a partner authenticates callers: `authorization: Bearer <token>` or `x-api-key: <key>`. */
export type PartnerCredential = { readonly bearerToken: string } | { readonly apiKey: string };

/** Constant-time string comparison (digests first, so unequal lengths leak nothing either). */
export function safeEqual(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** True when no credential is configured (open sandbox) or the request presents the configured one. */
export function authorized(credential: PartnerCredential | undefined, headers: IncomingHttpHeaders): boolean {
  if (!credential) return true;
  if ('bearerToken' in credential) {
    const match = /^Bearer\s+(.+)$/i.exec(header(headers, 'authorization') ?? '');
    return match?.[1] !== undefined && safeEqual(match[1].trim(), credential.bearerToken);
  }
  const key = header(headers, 'x-api-key');
  return key !== undefined && safeEqual(key, credential.apiKey);
}

export function unauthorized(partner: PartnerName, credential: PartnerCredential): SandboxResponse {
  const scheme = 'bearerToken' in credential ? 'an authorization: Bearer token' : 'an x-api-key header';
  const refused = problem(
    401,
    'unauthorized',
    `${partner} requires ${scheme}; the request had none or a wrong one`,
  );
  return 'bearerToken' in credential
    ? { ...refused, headers: { 'www-authenticate': `Bearer realm="${partner}"` } }
    : refused;
}

// ---------------------------------------------------------------------------------------------------
// Idempotency (Stripe-style)
// ---------------------------------------------------------------------------------------------------

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` are the same request. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** What makes two requests "the same" for an idempotency key: route and parameters, not key order. */
export function requestFingerprint(request: SandboxRequest): string {
  const parameters = request.body !== undefined ? canonicalJson(request.body) : request.rawBody;
  return createHash('sha256').update(`${request.method} ${request.path}\n${parameters}`).digest('hex');
}

interface StoredAnswer {
  readonly fingerprint: string;
  readonly method: string;
  readonly path: string;
  readonly response: SandboxResponse;
  readonly storedAt: number;
}

export type IdempotencyOutcome =
  | { readonly kind: 'new' }
  | { readonly kind: 'replay'; readonly response: SandboxResponse }
  | { readonly kind: 'conflict'; readonly response: SandboxResponse };

/**
 * Keys remembered per partner for `windowMs` of the sandbox clock. Like Stripe: the same key with the same
 * parameters replays the first answer (header `idempotent-replayed: true`); the same key with different
 * parameters is a 422 that names the conflict. Only successful answers are remembered, so a request that
 * was refused (e.g. 409 for lack of stock) may be retried with its key once the cause is fixed.
 */
export class IdempotencyStore {
  private readonly answers = new Map<string, StoredAnswer>();

  constructor(
    private readonly clock: () => SandboxClock,
    public windowMs: number,
  ) {}

  check(partner: PartnerName, key: string, request: SandboxRequest): IdempotencyOutcome {
    const slot = `${partner}\u0000${key}`;
    const stored = this.answers.get(slot);
    if (!stored) return { kind: 'new' };
    if (this.clock().now().getTime() - stored.storedAt >= this.windowMs) {
      this.answers.delete(slot);
      return { kind: 'new' };
    }
    if (stored.fingerprint !== requestFingerprint(request)) {
      const sameRoute = stored.method === request.method && stored.path === request.path;
      return {
        kind: 'conflict',
        response: problem(
          422,
          'idempotency_key_reused',
          sameRoute
            ? `Idempotency-Key ${key} was first used with different parameters on ${stored.method} ${stored.path}; a retry must send the same body`
            : `Idempotency-Key ${key} was first used for ${stored.method} ${stored.path}, not ${request.method} ${request.path}`,
          { idempotencyKey: key, firstUsedFor: `${stored.method} ${stored.path}` },
        ),
      };
    }
    return {
      kind: 'replay',
      response: {
        ...stored.response,
        headers: { ...stored.response.headers, 'idempotent-replayed': 'true' },
      },
    };
  }

  remember(partner: PartnerName, key: string, request: SandboxRequest, response: SandboxResponse): void {
    const now = this.clock().now().getTime();
    // Insertion order is (nearly) time order: drop expired keys from the front so memory stays bounded.
    for (const [slot, answer] of this.answers) {
      if (now - answer.storedAt < this.windowMs) break;
      this.answers.delete(slot);
    }
    this.answers.set(`${partner}\u0000${key}`, {
      fingerprint: requestFingerprint(request),
      method: request.method,
      path: request.path,
      // A snapshot: the partner may change the resource later, the replay must not.
      response: structuredClone(response),
      storedAt: now,
    });
  }

  get size(): number {
    return this.answers.size;
  }

  clear(): void {
    this.answers.clear();
  }
}

// ---------------------------------------------------------------------------------------------------
// Fault knobs
// ---------------------------------------------------------------------------------------------------

export interface OutageWindow {
  /** Start of the outage on the sandbox clock (inclusive). */
  readonly from: Date | string;
  /** End of the outage (exclusive). */
  readonly to: Date | string;
}

/**
 * Faults for a whole partner (`faults.set('tms', …)`) or a route prefix (`faults.set('POST /tms/bookings',
 * …)`); a route's knobs override its partner's field by field, and outage windows of both apply.
 */
export interface FaultKnobs {
  /** Probability in [0, 1] that a request is answered with a server error, drawn from a seeded stream. @default 0 */
  readonly errorRate?: number;
  /** Statuses a faulted request gets, picked with the same seeded stream. @default [500, 503] */
  readonly errorStatuses?: readonly number[];
  /**
   * When true a faulted request still takes effect and only its answer is lost: the case an idempotency
   * key exists for (the retry replays the committed answer). @default false
   */
  readonly failAfterCommit?: boolean;
  /** Added before the partner's answer goes back, in real milliseconds (the work itself is done as the request arrives). @default 0 */
  readonly latencyMs?: number;
  /** Share of requests the added latency applies to, drawn from a seeded stream. @default 1 */
  readonly latencyRate?: number;
  /** Extra latency, uniform in [0, latencyJitterMs), seeded. @default 0 */
  readonly latencyJitterMs?: number;
  /** While the sandbox clock is inside a window, requests get 503 with retry-after. */
  readonly outages?: readonly OutageWindow[];
}

export function mergeKnobs(partner: FaultKnobs | undefined, route: FaultKnobs | undefined): FaultKnobs {
  return { ...partner, ...route, outages: [...(partner?.outages ?? []), ...(route?.outages ?? [])] };
}

export function activeOutage(knobs: FaultKnobs, now: Date): OutageWindow | undefined {
  const t = now.getTime();
  return knobs.outages?.find((w) => new Date(w.from).getTime() <= t && t < new Date(w.to).getTime());
}

export function outageResponse(partner: PartnerName, window: OutageWindow, now: Date): SandboxResponse {
  const until = new Date(window.to);
  const seconds = Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
  return {
    ...problem(503, 'partner_outage', `${partner} is down for maintenance until ${until.toISOString()}`),
    headers: { 'retry-after': String(seconds) },
  };
}

// ---------------------------------------------------------------------------------------------------
// Outbound event feeds
// ---------------------------------------------------------------------------------------------------

/** How a partner's event feed misbehaves, each drawn from its own seeded stream. */
export interface FeedKnobs {
  /** Probability in [0, 1] that an event is delivered twice (the same event, same id). @default 0 */
  readonly duplicateRate?: number;
  /** Probability in [0, 1] that an event is held back by `lateByMs` of the sandbox clock. @default 0 */
  readonly lateRate?: number;
  /** How long a late event is held back. @default 15 minutes */
  readonly lateByMs?: number;
  /** Probability in [0, 1] that each pair of neighbouring events in a drained batch swaps places. @default 0 */
  readonly reorderRate?: number;
}

interface PendingDelivery<T> {
  readonly item: T;
  readonly dueAt: number;
  readonly sequence: number;
  /** An extra copy the duplicate knob added. */
  readonly copy?: boolean;
}

/**
 * Events a partner has produced and the local cloud has not collected yet. `drain()` hands over what is
 * due on the sandbox clock, oldest first, with the feed's knobs applied: duplicates and lateness are
 * decided when an event is emitted, reordering when a batch is drained.
 */
export class EventFeed<T> {
  knobs: FeedKnobs = {};
  /** Extra copies the duplicate knob added and that were delivered (what consumers' idempotency must absorb). */
  duplicated = 0;
  /** Those copies themselves, in delivery order (to name the ones a consumer did not recognise). */
  readonly copies: T[] = [];
  private pending: PendingDelivery<T>[] = [];
  private sequence = 0;

  constructor(
    private readonly name: string,
    private readonly env: PartnerEnvironment,
  ) {}

  /**
   * Queues an event for delivery from `at` (default now), subject to the late and duplicate knobs. `key`,
   * the event's business identity, fixes its draws: the same event is late or duplicated whatever order
   * it was emitted in among those of one instant.
   */
  emit(item: T, at: Date = this.env.clock.now(), key?: string): void {
    const { duplicateRate = 0, lateRate = 0, lateByMs = 15 * 60_000 } = this.knobs;
    const draw = (stream: string) =>
      key !== undefined && this.env.draw ? this.env.draw(stream, key) : this.env.random(stream)();
    const late = lateRate > 0 && draw(`${this.name}:late`) < lateRate;
    const dueAt = at.getTime() + (late ? lateByMs : 0);
    this.pending.push({ item, dueAt, sequence: this.sequence++ });
    if (duplicateRate > 0 && draw(`${this.name}:duplicate`) < duplicateRate) {
      this.pending.push({ item, dueAt, sequence: this.sequence++, copy: true });
    }
  }

  /** Removes and returns the events due now. */
  drain(): T[] {
    const now = this.env.clock.now().getTime();
    const due = this.pending.filter((p) => p.dueAt <= now);
    if (due.length === 0) return [];
    this.pending = this.pending.filter((p) => p.dueAt > now);
    // Counted when handed over: a copy still pending when a run ends was never delivered.
    for (const p of due) {
      if (!p.copy) continue;
      this.duplicated += 1;
      this.copies.push(p.item);
    }
    due.sort((a, b) => a.dueAt - b.dueAt || a.sequence - b.sequence);
    const batch = due.map((p) => p.item);
    const { reorderRate = 0 } = this.knobs;
    if (reorderRate > 0) {
      const draw = this.env.random(`${this.name}:reorder`);
      for (let i = 0; i + 1 < batch.length; i += 2) {
        if (draw() < reorderRate) {
          const first = batch[i] as T;
          batch[i] = batch[i + 1] as T;
          batch[i + 1] = first;
        }
      }
    }
    return batch;
  }

  /** The events queued and not yet drained, with when each falls due (a partner's promise still to keep). */
  upcoming(): { readonly item: T; readonly dueAt: number }[] {
    return this.pending.map(({ item, dueAt }) => ({ item, dueAt }));
  }

  /** Events queued and not yet drained, due or not. */
  get size(): number {
    return this.pending.length;
  }

  clear(): void {
    this.pending = [];
    this.sequence = 0;
    this.knobs = {};
  }
}

// ---------------------------------------------------------------------------------------------------
// Webhook signatures and money
// ---------------------------------------------------------------------------------------------------

/** `sha256=<hex>` HMAC of the raw body, the signature header partners put on their webhooks. */
export function signWebhook(secret: string, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody, 'utf8').digest('hex')}`;
}

/** Decimal string → integer cents (the sandboxes keep money exact). */
export function toCents(amount: string | number): number {
  return Math.round(Number(amount) * 100);
}

export function fromCents(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** A money amount the way the partners write it: up to 12 digits and 2–4 decimals. */
export const DECIMAL = /^\d{1,12}(\.\d{1,4})?$/;
