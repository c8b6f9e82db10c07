import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { LocalEndpoint } from './server.ts';

interface SdkRequest {
  hostname?: string;
  port?: number;
  headers: Record<string, string>;
  body?: unknown;
}

const UTF8 = new TextDecoder();

const LOCAL_TARGETS = /^(AWSEvents|AWSStepFunctions|secretsmanager)\./;

function targetOf(headers: Record<string, string>): string | undefined {
  const exact = headers['x-amz-target'] ?? headers['X-Amz-Target'];
  if (exact !== undefined) return exact;
  for (const name in headers) if (name.toLowerCase() === 'x-amz-target') return headers[name];
  return undefined;
}

/** Whether a request is signed for CloudFormation (a Query-protocol request: no X-Amz-Target). */
function isCloudFormation(headers: Record<string, string>): boolean {
  let authorization = headers.authorization;
  if (authorization === undefined)
    for (const name in headers) if (name.toLowerCase() === 'authorization') authorization = headers[name];
  return /Credential=[^/]+\/\d+\/[^/]+\/cloudformation\//.test(authorization ?? '');
}

function bodyText(body: unknown): string {
  return typeof body === 'string'
    ? body
    : body instanceof Uint8Array
      ? // Not Buffer.from: it calls valueOf(), which the SDK's JSON body adapter warns about.
        UTF8.decode(body)
      : '';
}

/**
 * Lets SDK clients in this process reach the endpoint's EventBridge, Step Functions, Secrets Manager and
 * CloudFormation without a socket:
 * requests addressed to the endpoint are served by the very handler the HTTP server uses. In-process
 * Lambda handlers make several such calls per order, and on this machine each HTTP round trip costs more
 * CPU than the operation itself. Signing, serialization and error handling are unchanged.
 */
export function serveInProcess(endpoint: LocalEndpoint): () => void {
  const prototype = NodeHttpHandler.prototype as unknown as {
    handle: (this: unknown, request: SdkRequest, options?: unknown) => Promise<{ response: unknown }>;
  };
  const original = prototype.handle;
  prototype.handle = async function handle(this: unknown, request: SdkRequest, options?: unknown) {
    const local =
      request.port === endpoint.port &&
      (request.hostname === '127.0.0.1' || request.hostname === 'localhost');
    const target = local ? targetOf(request.headers) : undefined;
    if (local && target === undefined && isCloudFormation(request.headers)) {
      const reply = endpoint.serveQuery(bodyText(request.body));
      return {
        response: { statusCode: reply.status, headers: reply.headers, body: Buffer.from(reply.body) },
      };
    }
    if (target && LOCAL_TARGETS.test(target)) {
      const reply = await endpoint.serveJson(target, bodyText(request.body));
      return {
        response: {
          statusCode: reply.status,
          headers: reply.headers,
          // The SDK collects a Uint8Array body as is: no stream to build and drain for a JSON reply.
          body: Buffer.from(reply.body),
        },
      };
    }
    return original.call(this, request, options);
  };
  return () => {
    prototype.handle = original;
  };
}
