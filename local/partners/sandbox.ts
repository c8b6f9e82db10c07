import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { CrmSandbox } from './crm.ts';
import { EdiSandbox } from './edi.ts';
import { type CreditSegment, ErpSandbox } from './erp.ts';
import { FinanceSandbox } from './finance.ts';
import {
  activeOutage,
  authorized,
  compileRoute,
  type FaultKnobs,
  IdempotencyStore,
  matchRoute,
  mergeKnobs,
  outageResponse,
  type PartnerCredential,
  type PartnerEnvironment,
  type PartnerName,
  problem,
  RandomStreams,
  Refusal,
  type SandboxClock,
  type SandboxPartner,
  type SandboxRequest,
  type SandboxResponse,
  systemClock,
  unauthorized,
} from './framework.ts';
import { TmsSandbox } from './tms.ts';
import { VendorSandbox } from './vendor.ts';
import { type Facility, WmsSandbox } from './wms.ts';

export type { CreditSegment } from './erp.ts';
export type { FaultKnobs, FeedKnobs, OutageWindow, PartnerCredential, PartnerName } from './framework.ts';
export type { Facility } from './wms.ts';

export interface RecordedCall {
  readonly method: string;
  readonly path: string;
  readonly idempotencyKey?: string;
  readonly body?: unknown;
}

export interface PartnerSandboxOptions {
  /** Partner time: outage windows, idempotency expiry, event due times, pickup dates. @default the system clock */
  readonly clock?: SandboxClock;
  /** Seed of every random fault draw, so a run repeats exactly. @default 1 */
  readonly seed?: number;
  /** How long an Idempotency-Key is remembered, on the sandbox clock. @default 24 hours */
  readonly idempotencyWindowMs?: number;
  /** Credentials per partner; a partner without one accepts any caller (the default for all). */
  readonly credentials?: Partial<Record<PartnerName, PartnerCredential>>;
  /** The secret the TMS signs tracking webhooks with. @default a random secret per sandbox */
  readonly webhookSecret?: string;
  /** How added latency waits; it stops (rejects) when the signal aborts. @default real time (setTimeout) */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const DAY_MS = 86_400_000;

/**
 * The local cloud's partner systems behind one HTTP server: ERP, WMS, TMS/carriers, CRM, finance and the
 * EDI gateway, each under its own path prefix (`/erp`, `/wms`, …) with seeded reference data. Every
 * request is recorded; each partner can require a credential; side-effect routes honour Idempotency-Key
 * the way Stripe does; fault knobs per partner or route add errors, latency and outages.
 */
export class PartnerSandbox {
  readonly erp: ErpSandbox;
  readonly wms: WmsSandbox;
  readonly tms: TmsSandbox;
  readonly crm: CrmSandbox;
  readonly finance: FinanceSandbox;
  readonly edi: EdiSandbox;
  readonly vendor: VendorSandbox;
  readonly calls: RecordedCall[] = [];
  /** Route prefix (e.g. 'POST /wms/reservations') → number of upcoming requests to answer with 503. */
  readonly failNext = new Map<string, number>();
  /** Partner name ('tms') or route prefix ('POST /tms/bookings') → fault knobs; cleared by reset(). */
  readonly faults = new Map<string, FaultKnobs>();
  /** Partner → required credential; kept across reset() (configuration, not state). */
  readonly credentials = new Map<PartnerName, PartnerCredential>();
  /** Replaceable, e.g. by the local cloud's virtual clock. */
  clock: SandboxClock;
  /**
   * Where `ordered` routes wait to be decided in key order with the other requests of their instant (a
   * simulation sets an InstantGate); absent, they are decided as they arrive.
   */
  gate: { hold<T>(key: string, run: () => T): Promise<T> } | undefined;
  baseUrl = '';
  private readonly idempotency: IdempotencyStore;
  private readonly random: RandomStreams;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly partners: ReadonlyMap<string, SandboxPartner>;
  private readonly compiled: ReadonlyMap<string, ReturnType<typeof compileRoute>[]>;
  private server: Server | undefined;

  constructor(options: PartnerSandboxOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.random = new RandomStreams(options.seed ?? 1);
    this.sleep =
      options.sleep ??
      ((ms, signal) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(resolve, ms);
          signal.addEventListener(
            'abort',
            () => {
              clearTimeout(timer);
              reject(signal.reason);
            },
            { once: true },
          );
        }));
    this.idempotency = new IdempotencyStore(() => this.clock, options.idempotencyWindowMs ?? DAY_MS);
    for (const [name, credential] of Object.entries(options.credentials ?? {})) {
      this.credentials.set(name as PartnerName, credential);
    }
    const sandbox = this;
    const env: PartnerEnvironment = {
      get clock() {
        return sandbox.clock;
      },
      random: (stream) => this.random.stream(stream),
      draw: (stream, key) => this.random.draw(stream, key),
    };
    this.erp = new ErpSandbox(env);
    this.wms = new WmsSandbox(env);
    this.tms = new TmsSandbox(env, options.webhookSecret ?? randomBytes(32).toString('hex'));
    this.crm = new CrmSandbox(env);
    this.finance = new FinanceSandbox(env);
    this.edi = new EdiSandbox(env);
    this.vendor = new VendorSandbox(env);
    const all: SandboxPartner[] = [
      this.erp,
      this.wms,
      this.tms,
      this.crm,
      this.finance,
      this.edi,
      this.vendor,
    ];
    this.partners = new Map(all.map((p) => [p.name, p]));
    this.compiled = new Map(all.map((p) => [p.name, p.routes.map(compileRoute)]));
  }

  /** The ERP's credit segments by customer (kept here for the callers that predate the ERP sandbox). */
  get credit(): Map<string, CreditSegment> {
    return this.erp.credit;
  }

  /** The WMS facilities and their stock; reassigning replaces the WMS's stock. */
  get facilities(): Facility[] {
    return this.wms.facilities;
  }

  set facilities(facilities: Facility[]) {
    this.wms.facilities = facilities;
  }

  /** How long Idempotency-Keys are remembered, on the sandbox clock. */
  get idempotencyWindowMs(): number {
    return this.idempotency.windowMs;
  }

  set idempotencyWindowMs(ms: number) {
    this.idempotency.windowMs = ms;
  }

  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(port, '127.0.0.1', resolve);
    });
    const address = this.server.address();
    this.baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /**
   * How many times each request (by a SHA-1 of its identity) was sent: what keys its fault draws. Grows with
   * the distinct requests until reset() (a simulated week: a few hundred thousand short keys).
   */
  private readonly attempts = new Map<string, number>();

  private attemptOf(identity: string): string {
    const digest = createHash('sha1').update(identity).digest('base64');
    const n = this.attempts.get(digest) ?? 0;
    this.attempts.set(digest, n + 1);
    return `${digest}#${n}`;
  }

  /** Forgets all data, calls, knobs and remembered keys, and restarts every random stream at its seed. */
  reset(): void {
    this.attempts.clear();
    this.calls.length = 0;
    this.failNext.clear();
    this.faults.clear();
    this.idempotency.clear();
    this.random.reset();
    for (const partner of this.partners.values()) partner.reset();
  }

  callsTo(method: string, path: string): RecordedCall[] {
    return this.calls.filter((call) => call.method === method && call.path === path);
  }

  /** The knobs in force for a request: its partner's, overridden by the longest matching route prefix. */
  private knobsFor(partner: PartnerName, route: string): FaultKnobs {
    let routeKnobs: FaultKnobs | undefined;
    let longest = -1;
    for (const [scope, knobs] of this.faults) {
      if (scope.includes(' ') && route.startsWith(scope) && scope.length > longest) {
        routeKnobs = knobs;
        longest = scope.length;
      }
    }
    return mergeKnobs(this.faults.get(partner), routeKnobs);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let response: SandboxResponse;
    const delay = { ms: 0 };
    try {
      response = await this.dispatch(req, delay);
    } catch (error) {
      response = problem(500, 'sandbox_error', error instanceof Error ? error.message : String(error));
    }
    // The partner did its work as the request arrived; only its answer is slow. A caller that gives up
    // first leaves the effect in place (what an idempotency key is for), and the effect lands at the instant
    // the request came in, not at whatever instant a real-time delay ends on a virtual clock.
    if (delay.ms > 0) {
      // A caller that gives up (its timeout, on the same clock) closes the connection: the slow answer has no
      // one left to go to, so it stops holding the clock's count of calls asleep at once.
      const gone = new AbortController();
      const close = () => gone.abort();
      res.once('close', close);
      try {
        await this.sleep(delay.ms, gone.signal);
      } catch {
        return;
      } finally {
        res.off('close', close);
      }
    }
    this.reply(res, response);
  }

  /** Answers one request; `delay.ms` is set to the latency its answer is held back by (fault knobs). */
  private async dispatch(req: IncomingMessage, delay: { ms: number }): Promise<SandboxResponse> {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const header = req.headers['idempotency-key'];
    const idempotencyKey = typeof header === 'string' && header !== '' ? header : undefined;
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const isJson = contentType === '' || contentType === 'application/json' || contentType.endsWith('+json');

    let body: unknown;
    let malformed = false;
    if (rawBody !== '' && isJson) {
      try {
        body = JSON.parse(rawBody);
      } catch {
        malformed = true;
      }
    }
    const recorded = body !== undefined ? body : rawBody !== '' && !isJson ? rawBody : undefined;
    this.calls.push({
      method,
      path,
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
      ...(recorded !== undefined ? { body: recorded } : {}),
    });

    const route = `${method} ${path}`;
    const failures = [...this.failNext.entries()].find(([prefix, n]) => route.startsWith(prefix) && n > 0);
    if (failures) {
      this.failNext.set(failures[0], failures[1] - 1);
      return problem(503, 'unavailable', 'sandbox outage');
    }

    const partner = this.partners.get(path.split('/')[1] ?? '');
    if (!partner) return problem(404, 'not_found', `no route ${route}`);
    const knobs = this.knobsFor(partner.name, route);
    const outage = activeOutage(knobs, this.clock.now());
    if (outage) return outageResponse(partner.name, outage, this.clock.now());
    // Draws fixed by the request itself (its route, its idempotency key or body, the caller's correlation id,
    // and how many times it was sent before), not by the order concurrent callers reached the sandbox in: two
    // orders reading one customer's credit at one instant each get their own draw. A seed repeats a run.
    const correlation = req.headers['x-correlation-id'];
    const attempt = this.attemptOf(
      `${route}${url.search}|${idempotencyKey ?? rawBody}|${typeof correlation === 'string' ? correlation : ''}`,
    );
    const draw = (stream: string, n = 0) => this.random.draw(`${partner.name}:${stream}`, `${attempt}|${n}`);
    const delayed = knobs.latencyRate === undefined || draw('latency-share') < knobs.latencyRate;
    delay.ms =
      (delayed ? (knobs.latencyMs ?? 0) : 0) +
      (knobs.latencyJitterMs ? Math.floor(draw('latency') * knobs.latencyJitterMs) : 0);
    let injected: number | undefined;
    if ((knobs.errorRate ?? 0) > 0) {
      if (draw('errors') < (knobs.errorRate ?? 0)) {
        const statuses = knobs.errorStatuses?.length ? knobs.errorStatuses : [500, 503];
        injected = statuses[Math.floor(draw('errors', 1) * statuses.length)] ?? 500;
      }
    }
    const injectedError = (status: number) =>
      problem(status, 'injected_fault', `${partner.name} answered ${status} (sandbox fault knob)`);
    if (injected !== undefined && !knobs.failAfterCommit) return injectedError(injected);

    const credential = this.credentials.get(partner.name);
    if (credential && !authorized(credential, req.headers)) return unauthorized(partner.name, credential);

    const match = matchRoute(this.compiled.get(partner.name) ?? [], method, path);
    if (match.kind === 'none') return problem(404, 'not_found', `no route ${route}`);
    if (match.kind === 'wrong-method') {
      return {
        ...problem(405, 'method_not_allowed', `${path} allows ${match.allowed.join(', ')}`),
        headers: { allow: match.allowed.join(', ') },
      };
    }
    if (malformed) return problem(400, 'invalid_json', `${route}: the body is not valid JSON`);

    const request: SandboxRequest = {
      method,
      path,
      params: match.params,
      query: url.searchParams,
      headers: req.headers,
      contentType,
      rawBody,
      body,
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
    };
    const keyed = match.route.idempotent === true && idempotencyKey !== undefined;
    const handler = match.route;
    // A replay of an earlier answer is not this request's work, so an injected fault does not replace it.
    let replayed = false;
    const decide = (): SandboxResponse => {
      if (keyed) {
        const seen = this.idempotency.check(partner.name, idempotencyKey, request);
        if (seen.kind !== 'new') {
          replayed = true;
          return seen.response;
        }
      }
      let answer: SandboxResponse;
      try {
        answer = handler.handle(request);
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
        answer = error.response;
      }
      if (keyed && answer.status >= 200 && answer.status < 300) {
        this.idempotency.remember(partner.name, idempotencyKey, request, answer);
      }
      return answer;
    };
    // Held requests are decided by their own content, so a retry held beside its first attempt replays it.
    const response =
      handler.ordered && this.gate
        ? await this.gate.hold(`${idempotencyKey ?? ''}|${rawBody}`, decide)
        : decide();
    return injected !== undefined && !replayed ? injectedError(injected) : response;
  }

  private reply(res: ServerResponse, response: SandboxResponse): void {
    if (res.destroyed) return;
    const headers: Record<string, string> = { ...response.headers };
    let payload: string;
    if (response.text !== undefined) {
      headers['content-type'] ??= 'text/plain; charset=utf-8';
      payload = response.text;
    } else {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(response.body ?? null);
    }
    res.writeHead(response.status, headers).end(payload);
  }
}
