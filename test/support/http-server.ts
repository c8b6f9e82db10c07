import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';

/** One request as the server received it. */
export interface ReceivedRequest {
  readonly method: string;
  /** Path without the query string, still percent-encoded as sent. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** Raw body text ('' when there was none). */
  readonly body: string;
}

/** Answers one request. Leaving `res` unanswered simulates a partner that never responds. */
export type Handler = (req: ReceivedRequest, res: ServerResponse) => void | Promise<void>;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  contentType = 'text/plain',
): void {
  res.writeHead(status, { 'content-type': contentType }).end(text);
}

/**
 * A real HTTP server on 127.0.0.1 (ephemeral port) for adapter tests: every request is recorded, and the
 * answer comes from a handler each test installs. No fetch mocking: the client under test talks TCP.
 */
export class TestHttpServer {
  readonly requests: ReceivedRequest[] = [];
  private handler: Handler = (_req, res) => sendJson(res, 500, { message: 'no handler installed' });
  private server: Server | undefined;
  private url = '';

  get baseUrl(): string {
    if (!this.url) throw new Error('TestHttpServer is not started');
    return this.url;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (typeof address !== 'object' || address === null) throw new Error('server has no TCP address');
    this.url = `http://127.0.0.1:${address.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    // Requests a test deliberately left unanswered would otherwise keep close() waiting.
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
    this.server = undefined;
  }

  /** Installs the handler for the following requests and forgets earlier requests. */
  respondWith(handler: Handler): void {
    this.handler = handler;
    this.requests.length = 0;
  }

  /** Answers the n-th request (0-based) with `handlers[n]`, repeating the last one afterwards. */
  respondInSequence(...handlers: Handler[]): void {
    this.respondWith((req, res) => {
      const handler = handlers[Math.min(this.requests.length - 1, handlers.length - 1)];
      if (!handler) throw new Error('respondInSequence needs at least one handler');
      return handler(req, res);
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://test-server');
    const received: ReceivedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    this.requests.push(received);
    try {
      await this.handler(received, res);
    } catch (error) {
      if (!res.headersSent) sendJson(res, 500, { message: String(error) });
    }
  }
}
