import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface CreditSegment {
  CreditLimitAmount: string;
  ReceivablesAmount: string;
  OpenOrdersAmount: string;
  OverdueAmount: string;
  OldestOverdueDays: number;
  CreditBlocked: boolean;
  AccountClosed: boolean;
  PaymentTerms: string;
}

export interface Facility {
  facilityCode: string;
  distanceRank: number;
  freightCost: number;
  carrierCutoffHourUtc: number;
  transitDays: Record<string, number>;
  inventory: { itemCode: string; onHand: number; committed: number; safetyStock: number }[];
}

export interface RecordedCall {
  readonly method: string;
  readonly path: string;
  readonly idempotencyKey?: string;
  readonly body?: unknown;
}

/**
 * A small ERP + WMS HTTP sandbox (the local cloud's partners until the full sandboxes land): seeded credit segments and facilities, idempotent POSTs keyed
 * by Idempotency-Key (a replay returns the first answer), and fault knobs per route.
 */
export class PartnerSandbox {
  readonly credit = new Map<string, CreditSegment>();
  facilities: Facility[] = [];
  readonly calls: RecordedCall[] = [];
  /** Route prefix (e.g. 'POST /wms/reservations') → number of upcoming requests to answer with 503. */
  readonly failNext = new Map<string, number>();
  private readonly replies = new Map<string, unknown>();
  private server: Server | undefined;
  private sequence = 0;
  baseUrl = '';

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

  reset(): void {
    this.credit.clear();
    this.facilities = [];
    this.calls.length = 0;
    this.failNext.clear();
    this.replies.clear();
  }

  callsTo(method: string, path: string): RecordedCall[] {
    return this.calls.filter((call) => call.method === method && call.path === path);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body = text ? JSON.parse(text) : undefined;
    const idempotencyKey = req.headers['idempotency-key'];
    const method = req.method ?? 'GET';
    this.calls.push({
      method,
      path: url.pathname,
      ...(typeof idempotencyKey === 'string' ? { idempotencyKey } : {}),
      ...(body !== undefined ? { body } : {}),
    });
    const route = `${method} ${url.pathname}`;
    const failures = [...this.failNext.entries()].find(([prefix, n]) => route.startsWith(prefix) && n > 0);
    if (failures) {
      this.failNext.set(failures[0], failures[1] - 1);
      return this.reply(res, 503, { message: 'sandbox outage' });
    }
    const credit = url.pathname.match(/^\/erp\/customers\/([^/]+)\/credit-segment$/);
    if (method === 'GET' && credit) {
      const segment = this.credit.get(decodeURIComponent(credit[1] ?? ''));
      return segment
        ? this.reply(res, 200, { Customer: credit[1], ...segment })
        : this.reply(res, 404, { message: 'no such customer' });
    }
    if (method === 'GET' && url.pathname === '/wms/availability') {
      const items = new Set((url.searchParams.get('items') ?? '').split(','));
      return this.reply(res, 200, {
        facilities: this.facilities.map((f) => ({
          ...f,
          inventory: f.inventory.filter((i) => items.has(i.itemCode)),
        })),
      });
    }
    if (method === 'POST' && (url.pathname === '/wms/reservations' || url.pathname === '/wms/releases')) {
      const key = `${url.pathname}|${String(idempotencyKey)}`;
      const previous = this.replies.get(key);
      if (previous) return this.reply(res, 200, previous);
      this.sequence += 1;
      const answer =
        url.pathname === '/wms/reservations'
          ? { reservationNumber: `RSV-${this.sequence}` }
          : { releaseNumber: `REL-${this.sequence}` };
      this.replies.set(key, answer);
      return this.reply(res, 201, answer);
    }
    return this.reply(res, 404, { message: `no route ${route}` });
  }

  private reply(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }
}
