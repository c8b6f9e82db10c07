import type { LambdaFunctionURLEvent } from 'aws-lambda';
import type { CloudModel, TemplateResource } from '../template/model.ts';
import { functionNameOf, UnsupportedTemplateFeature } from '../template/model.ts';

/** A function URL's CORS settings (`Cors` of `AWS::Lambda::Url`). */
export interface UrlCors {
  readonly AllowCredentials?: boolean;
  readonly AllowHeaders?: readonly string[];
  readonly AllowMethods?: readonly string[];
  readonly AllowOrigins?: readonly string[];
  readonly ExposeHeaders?: readonly string[];
  readonly MaxAge?: number;
}

/** An `AWS::Lambda::Url` of the templates, served by the endpoint under `/lambda-url/<function name>/`. */
export interface LocalFunctionUrl {
  readonly resource: TemplateResource;
  readonly functionName: string;
  readonly functionArn: string;
  /** The logical id of the function's `AWS::Lambda::Function`, when the templates declare it. */
  readonly functionLogicalId?: string;
  /** `http://127.0.0.1:<endpoint port>/lambda-url/<function name>/`: what `Fn::GetAtt FunctionUrl` gives. */
  readonly url: string;
  readonly urlId: string;
  readonly authType: 'NONE' | 'AWS_IAM';
  readonly cors?: UrlCors;
  /**
   * Whether resource-based policies let anyone call it: AuthType NONE needs both `lambda:InvokeFunctionUrl`
   * (FunctionUrlAuthType NONE) and `lambda:InvokeFunction` granted to `*`, as CDK's `addFunctionUrl` adds
   * them. Without them AWS answers 403, and so does the local cloud.
   */
  readonly publicAccess: boolean;
}

/** The templates' function URLs. Aliases (`Qualifier`) and response streaming are not run locally. */
export function functionUrlsOf(model: CloudModel): LocalFunctionUrl[] {
  const permissions = model.ofType('AWS::Lambda::Permission').flatMap((resource) => {
    try {
      return [model.resolvedProperties(resource)];
    } catch {
      // A permission the model cannot resolve grants nothing locally.
      return [];
    }
  });
  const grants = (functionName: string, action: string, extra: (p: Record<string, unknown>) => boolean) =>
    permissions.some(
      (p) =>
        functionNameOf(String(p.FunctionName ?? '')) === functionName &&
        p.Principal === '*' &&
        (p.Action === action || p.Action === 'lambda:*') &&
        extra(p),
    );
  const functions = model.ofType('AWS::Lambda::Function');
  return model.ofType('AWS::Lambda::Url').map((resource) => {
    const id = `${resource.stack}/${resource.logicalId}`;
    const p = model.resolvedProperties(resource);
    if (p.Qualifier !== undefined)
      throw new UnsupportedTemplateFeature(id, 'a function URL on an alias (Qualifier)');
    if (p.InvokeMode !== undefined && p.InvokeMode !== 'BUFFERED')
      throw new UnsupportedTemplateFeature(id, `function URL InvokeMode ${String(p.InvokeMode)}`);
    const authType = String(p.AuthType);
    if (authType !== 'NONE' && authType !== 'AWS_IAM')
      throw new UnsupportedTemplateFeature(id, `function URL AuthType ${authType}`);
    const { name, arn } = model.urlTarget(resource);
    const fn = functions.find((f) => model.physicalName(f) === name);
    return {
      resource,
      functionName: name,
      functionArn: arn,
      ...(fn ? { functionLogicalId: fn.logicalId } : {}),
      url: model.functionUrl(resource),
      urlId: model.functionUrlId(resource),
      authType,
      ...(p.Cors !== undefined ? { cors: p.Cors as UrlCors } : {}),
      publicAccess:
        grants(name, 'lambda:InvokeFunctionUrl', (g) => g.FunctionUrlAuthType === 'NONE') &&
        grants(name, 'lambda:InvokeFunction', () => true),
    };
  });
}

/** What the endpoint received, before it becomes an event. Header names are lower-case. */
export interface FunctionUrlRequest {
  readonly method: string;
  /** The path after `/lambda-url/<function name>`, with its leading `/` (`/` at least), still encoded. */
  readonly rawPath: string;
  /** Without the `?`. */
  readonly rawQueryString: string;
  /** Every value of each header, in order (node's `headersDistinct`). */
  readonly headers: Readonly<Record<string, readonly string[]>>;
  readonly body: Buffer;
  readonly sourceIp: string;
  /** `HTTP/1.1` */
  readonly protocol: string;
}

/**
 * Content types Lambda passes as text; every other body (no content type and form posts included) arrives
 * base64-encoded with `isBase64Encoded: true`, as on AWS.
 */
export function isTextContentType(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return (
    type.startsWith('text/') ||
    type === 'application/json' ||
    type === 'application/xml' ||
    type === 'application/javascript'
  );
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `12/Mar/2020:19:03:58 +0000`, the request time format of payload 2.0. */
function requestTime(at: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const date = `${two(at.getUTCDate())}/${MONTHS[at.getUTCMonth()]}/${at.getUTCFullYear()}`;
  return `${date}:${two(at.getUTCHours())}:${two(at.getUTCMinutes())}:${two(at.getUTCSeconds())} +0000`;
}

/**
 * The event a function URL invocation delivers: API Gateway payload format 2.0, as Lambda builds it.
 * Header names are lower-case and repeated headers are joined with commas; the `cookie` header becomes
 * `cookies`; the query string is decoded into `queryStringParameters` (repeated keys joined with commas);
 * a text body is passed as is, any other body base64-encoded.
 */
export function functionUrlEvent(
  url: LocalFunctionUrl,
  request: FunctionUrlRequest,
  context: { requestId: string; now: Date; account: string; region: string; port: number },
): LambdaFunctionURLEvent {
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, values] of Object.entries(request.headers)) {
    if (name === 'cookie') {
      cookies = values
        .flatMap((v) => v.split(';'))
        .map((c) => c.trim())
        .filter(Boolean);
      continue;
    }
    headers[name] = values.join(',');
  }
  headers['x-forwarded-for'] = headers['x-forwarded-for']
    ? `${headers['x-forwarded-for']}, ${request.sourceIp}`
    : request.sourceIp;
  headers['x-forwarded-proto'] ??= 'http';
  headers['x-forwarded-port'] ??= String(context.port);
  headers['x-amzn-trace-id'] ??=
    `Root=1-${Math.floor(context.now.getTime() / 1000).toString(16)}-${context.requestId
      .replace(/-/g, '')
      .slice(0, 24)}`;

  const query: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(request.rawQueryString)) {
    query[key] = key in query ? `${query[key]},${value}` : value;
  }
  const domainName = `${url.urlId}.lambda-url.${context.region}.on.aws`;
  const iam = url.authType === 'AWS_IAM' ? iamCaller(headers.authorization, context.account) : undefined;
  const hasBody = request.body.length > 0;
  const text = isTextContentType(headers['content-type']);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: request.rawPath,
    rawQueryString: request.rawQueryString,
    ...(cookies?.length ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    requestContext: {
      // Lambda reports an unsigned caller's account as "anonymous".
      accountId: iam ? context.account : 'anonymous',
      apiId: url.urlId,
      ...(iam ? { authorizer: { iam } } : {}),
      domainName,
      domainPrefix: url.urlId,
      http: {
        method: request.method,
        path: request.rawPath,
        protocol: request.protocol,
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: context.requestId,
      routeKey: '$default',
      stage: '$default',
      time: requestTime(context.now),
      timeEpoch: context.now.getTime(),
    },
    ...(hasBody ? { body: request.body.toString(text ? 'utf8' : 'base64') } : {}),
    isBase64Encoded: hasBody && !text,
  };
}

/** The caller an AWS_IAM function URL reports, from the SigV4 credential (the signature is not checked). */
function iamCaller(authorization: string | undefined, account: string) {
  const accessKey = authorization?.match(/Credential=([^/,\s]+)\//)?.[1] ?? '';
  return {
    accessKey,
    accountId: account,
    callerId: accessKey,
    cognitoIdentity: null,
    principalOrgId: null,
    userArn: `arn:aws:iam::${account}:root`,
    userId: accessKey,
  };
}

/** Whether a request to an AWS_IAM function URL carries a SigV4 signature for Lambda (header or query). */
export function isSignedForLambda(
  headers: Readonly<Record<string, readonly string[]>>,
  query: string,
): boolean {
  const authorization = headers.authorization?.[0] ?? '';
  if (/^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/[^/]+\/lambda\/aws4_request/.test(authorization))
    return true;
  const params = new URLSearchParams(query);
  return (
    params.get('X-Amz-Algorithm') === 'AWS4-HMAC-SHA256' &&
    /\/lambda\/aws4_request$/.test(params.get('X-Amz-Credential') ?? '') &&
    params.has('X-Amz-Signature')
  );
}

/** An HTTP response to write: header values may repeat (`set-cookie`). */
export interface FunctionUrlResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
}

const JSON_TYPE = 'application/json';

/** What a client sees when the function fails, times out or returns a malformed response. */
export function functionErrorResponse(): FunctionUrlResponse {
  return {
    status: 502,
    headers: { 'content-type': JSON_TYPE, 'x-amzn-errortype': 'InternalServerErrorException' },
    body: Buffer.from(JSON.stringify({ Message: 'Internal Server Error' })),
  };
}

export function forbiddenResponse(): FunctionUrlResponse {
  return {
    status: 403,
    headers: { 'content-type': JSON_TYPE, 'x-amzn-errortype': 'AccessDeniedException' },
    body: Buffer.from(JSON.stringify({ Message: 'Forbidden' })),
  };
}

/**
 * Maps a function's result to the HTTP response, as Lambda does for function URLs: a result with a
 * `statusCode` is a structured response (headers, body, `isBase64Encoded`, `cookies` as `set-cookie`);
 * anything else is a 200 whose JSON body is the result (a string too: `"Hello"` arrives quoted).
 */
export function functionUrlResponse(result: unknown): FunctionUrlResponse {
  if (result === null || typeof result !== 'object' || Array.isArray(result) || !('statusCode' in result)) {
    return {
      status: 200,
      headers: { 'content-type': JSON_TYPE },
      body: Buffer.from(JSON.stringify(result ?? null)),
    };
  }
  const structured = result as {
    statusCode?: unknown;
    headers?: Record<string, unknown>;
    body?: unknown;
    isBase64Encoded?: unknown;
    cookies?: unknown;
  };
  const status = Number(structured.statusCode);
  if (!Number.isInteger(status) || status < 100 || status > 599) return functionErrorResponse();
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(structured.headers ?? {})) {
    if (value !== undefined && value !== null) headers[name.toLowerCase()] = String(value);
  }
  const cookies = Array.isArray(structured.cookies) ? structured.cookies.map(String) : [];
  if (cookies.length) headers['set-cookie'] = cookies;
  const raw = structured.body;
  const text = raw === undefined || raw === null ? '' : typeof raw === 'string' ? raw : JSON.stringify(raw);
  const body = structured.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  if (body.length && headers['content-type'] === undefined) headers['content-type'] = JSON_TYPE;
  return { status, headers, body };
}

const originAllowed = (cors: UrlCors, origin: string) =>
  (cors.AllowOrigins ?? []).some((o) => o === '*' || o.toLowerCase() === origin.toLowerCase());

function allowOrigin(cors: UrlCors, origin: string): Record<string, string> {
  const wildcard = (cors.AllowOrigins ?? []).includes('*') && !cors.AllowCredentials;
  return {
    'access-control-allow-origin': wildcard ? '*' : origin,
    ...(cors.AllowCredentials ? { 'access-control-allow-credentials': 'true' } : {}),
  };
}

/**
 * A CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) to a URL with CORS settings:
 * Lambda answers it without invoking the function. Undefined when the request is not one.
 */
export function corsPreflight(
  cors: UrlCors | undefined,
  method: string,
  headers: Readonly<Record<string, readonly string[]>>,
): FunctionUrlResponse | undefined {
  const origin = headers.origin?.[0];
  if (!cors || method !== 'OPTIONS' || !origin || !headers['access-control-request-method']) return undefined;
  const allowed = originAllowed(cors, origin);
  return {
    status: 200,
    headers: allowed
      ? {
          ...allowOrigin(cors, origin),
          ...(cors.AllowMethods?.length
            ? { 'access-control-allow-methods': cors.AllowMethods.join(',') }
            : {}),
          ...(cors.AllowHeaders?.length
            ? { 'access-control-allow-headers': cors.AllowHeaders.join(',') }
            : {}),
          ...(cors.MaxAge !== undefined ? { 'access-control-max-age': String(cors.MaxAge) } : {}),
          vary: 'Origin',
        }
      : {},
    body: Buffer.alloc(0),
  };
}

/** With CORS settings, the URL's CORS headers replace any the function returned. */
export function withCors(
  cors: UrlCors | undefined,
  headers: Readonly<Record<string, readonly string[]>>,
  response: FunctionUrlResponse,
): FunctionUrlResponse {
  if (!cors) return response;
  const kept = Object.fromEntries(
    Object.entries(response.headers).filter(([name]) => !name.startsWith('access-control-')),
  );
  const origin = headers.origin?.[0];
  if (!origin || !originAllowed(cors, origin)) return { ...response, headers: kept };
  return {
    ...response,
    headers: {
      ...kept,
      ...allowOrigin(cors, origin),
      ...(cors.ExposeHeaders?.length
        ? { 'access-control-expose-headers': cors.ExposeHeaders.join(',') }
        : {}),
      vary: 'Origin',
    },
  };
}
