import {
  Agent,
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import { cbor, dateToTag } from '@smithy/core/cbor';
import type { LocalClock } from '../clock/clock.ts';
import { realClock } from '../clock/clock.ts';
import {
  CLOUDFORMATION_VERSION,
  LocalStacks,
  type QueryReply,
  serveCloudFormation,
} from '../cloudformation/cloudformation-api.ts';
import {
  type CloudWatchService,
  type Dimension,
  isExpression,
  type LocalAlarm,
  metricQuery,
} from '../cloudwatch/cloudwatch-service.ts';
import type { EventBridgeService } from '../eventbridge/bus-service.ts';
import type { FunctionError, LambdaRuntime } from '../lambda/runtime.ts';
import type { SecretStore } from '../secrets/secret-store.ts';
import { secretsManagerApi } from '../secrets/secrets-manager-api.ts';
import type { SfnService } from '../stepfunctions/sfn-service.ts';
import {
  type CloudModel,
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  UnsupportedTemplateFeature,
} from '../template/model.ts';
import {
  corsPreflight,
  type FunctionUrlResponse,
  forbiddenResponse,
  functionErrorResponse,
  functionUrlEvent,
  functionUrlResponse,
  isSignedForLambda,
  type LocalFunctionUrl,
  withCors,
} from './function-urls.ts';

export interface EndpointServices {
  readonly events: EventBridgeService;
  readonly cloudwatch: CloudWatchService;
  readonly sfn: SfnService;
  readonly lambda: LambdaRuntime;
  readonly dynamodbEndpoint: string;
  readonly sqsEndpoint: string;
  /** Secrets Manager's secrets; without it, Secrets Manager requests are refused. */
  readonly secrets?: SecretStore;
  /** Function URLs served under `/lambda-url/<function name>/`, by function name. */
  readonly functionUrls?: ReadonlyMap<string, LocalFunctionUrl>;
  /** Timestamps function URL events and the stacks' creation. @default realClock */
  readonly clock?: LocalClock;
  /**
   * The templates' model, whose stacks CloudFormation describes (outputs and physical ids resolved as the
   * cloud resolves them). Without it, CloudFormation is not served.
   */
  readonly model?: CloudModel;
}

/** The path prefix function URLs are served under: `/lambda-url/<function name>/<path>`. */
export const FUNCTION_URL_PREFIX = '/lambda-url/';

/** JSON-protocol services served in `serveJson`, by X-Amz-Target prefix: service name and JSON version. */
const JSON_SERVICES: Record<
  string,
  { service: 'events' | 'states' | 'secretsmanager'; version: '1.0' | '1.1' }
> = {
  AWSEvents: { service: 'events', version: '1.1' },
  AWSStepFunctions: { service: 'states', version: '1.0' },
  secretsmanager: { service: 'secretsmanager', version: '1.1' },
};

class ApiError extends Error {
  constructor(
    name: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = name;
  }
}

const epochSeconds = (date: Date | undefined) => (date ? date.getTime() / 1000 : undefined);

/** DescribeAlarms' metric fields: the metric of a threshold alarm, or the queries of a metric-math one. */
function alarmMetric(alarm: LocalAlarm): Record<string, unknown> {
  if (!alarm.math) {
    return {
      Namespace: alarm.namespace,
      MetricName: alarm.metricName,
      Dimensions: alarm.dimensions,
      Statistic: alarm.statistic,
      Period: alarm.periodSeconds,
    };
  }
  return {
    Metrics: alarm.queries.map((q) => ({
      Id: q.id,
      ...(q.label !== undefined ? { Label: q.label } : {}),
      ReturnData: q.returnData,
      ...(isExpression(q)
        ? { Expression: q.expression }
        : {
            MetricStat: {
              Metric: { Namespace: q.namespace, MetricName: q.metricName, Dimensions: q.dimensions },
              Period: q.periodSeconds,
              Stat: q.statistic,
            },
          }),
    })),
  };
}

/** The AWS service a request is for: from X-Amz-Target, else the SigV4 credential scope. */
function serviceOf(req: IncomingMessage): string {
  const target = String(req.headers['x-amz-target'] ?? '');
  if (target.startsWith('AWSEvents.')) return 'events';
  if (target.startsWith('AWSStepFunctions.')) return 'states';
  if (target.startsWith('DynamoDB_')) return 'dynamodb';
  if (target.startsWith('AmazonSQS.')) return 'sqs';
  if (target.startsWith('secretsmanager.')) return 'secretsmanager';
  if (target.startsWith('GraniteServiceVersion20100801.')) return 'monitoring';
  if ((req.url ?? '').startsWith('/service/GraniteServiceVersion20100801/')) return 'monitoring';
  const scope = String(req.headers.authorization ?? '').match(/Credential=[^/]+\/\d+\/[^/]+\/([^/]+)\//);
  return scope?.[1] ?? '';
}

/**
 * A Query-protocol request's parameters: the form-encoded body of a POST, else the URL's query string;
 * undefined for other requests.
 */
function queryOf(req: IncomingMessage, body: Buffer): URLSearchParams | undefined {
  if (req.headers['x-amz-target']) return undefined;
  const type = String(req.headers['content-type'] ?? '');
  if (body.length && type.startsWith('application/x-www-form-urlencoded'))
    return new URLSearchParams(body.toString('utf8'));
  const search = (req.url ?? '').split('?')[1];
  return search && req.method === 'GET' ? new URLSearchParams(search) : undefined;
}

/**
 * One AWS-compatible endpoint (default http://localhost:4566) for unmodified SDK v3 clients and the AWS
 * CLI: EventBridge, Step Functions, Lambda, Secrets Manager, CloudWatch and CloudFormation (the loaded
 * stacks, read-only) are served here; DynamoDB and SQS are proxied to DynamoDB Local and fauxqs. Function
 * URLs are served under `/lambda-url/<name>/`.
 */
export class LocalEndpoint {
  private server: Server | undefined;
  /** Requests served, by `<service>.<operation>` (e.g. `dynamodb.PutItem`): what the benchmarks meter. */
  readonly requests = new Map<string, number>();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  /** The loaded stacks, as CloudFormation describes them: created when the endpoint is. */
  private readonly stacks: LocalStacks | undefined;

  constructor(private readonly services: EndpointServices) {
    this.stacks = services.model
      ? new LocalStacks(services.model, (services.clock ?? realClock).now())
      : undefined;
  }

  /** The port listened on (0 until started); read once, since in-process SDK calls compare it per request. */
  private listening = 0;

  get url(): string {
    return this.listening ? `http://localhost:${this.listening}` : '';
  }

  async start(port: number): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(port, '127.0.0.1', () => resolve());
    });
    const address = this.server.address();
    this.listening = typeof address === 'object' && address ? address.port : 0;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    this.agent.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.listening = 0;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if ((req.url ?? '').startsWith(FUNCTION_URL_PREFIX)) {
      this.requests.set('lambda.InvokeFunctionUrl', (this.requests.get('lambda.InvokeFunctionUrl') ?? 0) + 1);
      return this.functionUrl(req, body, res).catch((error: Error) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ Message: error.message }));
      });
    }
    let service = serviceOf(req);
    const query = service === 'cloudformation' || !service ? queryOf(req, body) : undefined;
    // An unsigned Query request is CloudFormation's by its API version.
    if (!service && query?.get('Version') === CLOUDFORMATION_VERSION) service = 'cloudformation';
    const operation =
      String(req.headers['x-amz-target'] ?? '').split('.')[1] ??
      (service === 'lambda'
        ? 'Invoke'
        : service === 'cloudformation'
          ? (query?.get('Action') ?? '')
          : (req.method ?? ''));
    const key = `${service}.${operation}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    try {
      switch (service) {
        case 'dynamodb':
          return await this.proxy(this.services.dynamodbEndpoint, req, body, res);
        case 'sqs':
          return await this.proxy(this.services.sqsEndpoint, req, body, res);
        case 'lambda':
          return await this.lambda(req, body, res);
        case 'monitoring':
          return await this.monitoring(req, body, res);
        case 'cloudformation': {
          const reply = this.serveQuery(query?.toString() ?? '');
          res.writeHead(reply.status, reply.headers).end(reply.body);
          return;
        }
        case 'events':
        case 'states':
        case 'secretsmanager': {
          const reply = await this.serveJson(String(req.headers['x-amz-target']), body.toString('utf8'));
          res.writeHead(reply.status, reply.headers).end(reply.body);
          return;
        }
        default:
          throw new ApiError(
            'UnknownOperationException',
            `The local cloud does not serve '${service || 'this'}' requests`,
          );
      }
    } catch (error) {
      const e = error as Error & { status?: number };
      this.json(res, e instanceof ApiError ? e.status : 400, { __type: e.name, message: e.message }, '1.1');
    }
  }

  /**
   * Serves one EventBridge, Step Functions or Secrets Manager JSON-protocol request (`X-Amz-Target`, body):
   * the same code path for the HTTP server and for in-process SDK calls.
   */
  async serveJson(
    target: string,
    body: string,
  ): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const [prefix = '', operation = ''] = target.split('.');
    const { service, version } = JSON_SERVICES[prefix] ?? { service: 'states', version: '1.0' };
    const headers = {
      'content-type': `application/x-amz-json-${version}`,
      'x-amzn-requestid': crypto.randomUUID(),
    };
    try {
      const input = body ? (JSON.parse(body) as Record<string, unknown>) : {};
      const output =
        service === 'events'
          ? this.events(operation, input)
          : service === 'secretsmanager'
            ? this.secretsManager(operation, input)
            : await this.states(operation, input);
      return { status: 200, headers, body: JSON.stringify(output) };
    } catch (error) {
      const e = error as Error;
      return {
        status: e instanceof ApiError ? e.status : 400,
        headers,
        body: JSON.stringify({ __type: e.name, message: e.message }),
      };
    }
  }

  /**
   * Serves one CloudFormation Query-protocol request (its form-encoded parameters): the same code path for
   * the HTTP server and for in-process SDK calls.
   */
  serveQuery(body: string): QueryReply {
    return serveCloudFormation(this.stacks, body);
  }

  get port(): number {
    return this.listening;
  }

  private json(res: ServerResponse, status: number, body: unknown, version: '1.0' | '1.1'): void {
    res
      .writeHead(status, {
        'content-type': `application/x-amz-json-${version}`,
        'x-amzn-requestid': crypto.randomUUID(),
      })
      .end(JSON.stringify(body));
  }

  /** Forwards a request as is, over kept-alive connections (node's native HTTP parser, not fetch's). */
  private proxy(target: string, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const upstream = new URL(target);
    const headers = { ...req.headers, host: upstream.host, 'content-length': String(body.length) };
    delete headers.connection;
    return new Promise((resolve, reject) => {
      const forward = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers,
          agent: this.agent,
        },
        (reply) => {
          const replyHeaders = { ...reply.headers };
          delete replyHeaders.connection;
          delete replyHeaders['keep-alive'];
          res.writeHead(reply.statusCode ?? 502, replyHeaders);
          reply.pipe(res);
          reply.on('end', () => resolve());
          reply.on('error', reject);
        },
      );
      forward.on('error', reject);
      forward.end(body);
    });
  }

  private async lambda(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const match = (req.url ?? '').match(/^\/2015-03-31\/functions\/([^/]+)\/invocations/);
    if (!match?.[1])
      throw new ApiError(
        'UnknownOperationException',
        `Lambda operation ${req.method} ${req.url} is not served locally`,
      );
    const name = decodeURIComponent(match[1]);
    const payload = body.length ? JSON.parse(body.toString('utf8')) : {};
    if (!this.services.lambda.find(name)) {
      res.writeHead(404, {
        'content-type': 'application/json',
        'x-amzn-errortype': 'ResourceNotFoundException',
      });
      res.end(JSON.stringify({ Type: 'User', message: `Function not found: ${name}` }));
      return;
    }
    if (req.headers['x-amz-invocation-type'] === 'Event') {
      void this.services.lambda.invokeAsync(name, payload);
      res.writeHead(202).end();
      return;
    }
    try {
      const result = await this.services.lambda.invoke(name, payload);
      res.writeHead(200, { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' });
      res.end(JSON.stringify(result ?? null));
    } catch (error) {
      const e = error as FunctionError;
      res.writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' });
      res.end(
        JSON.stringify({
          errorType: e.errorType ?? e.name,
          errorMessage: e.errorMessage ?? e.message,
          trace: e.trace ?? [],
        }),
      );
    }
  }

  private secretsManager(operation: string, input: Record<string, unknown>): unknown {
    const { secrets } = this.services;
    if (!secrets)
      throw new ApiError('UnknownOperationException', 'Secrets Manager is not served by this endpoint');
    return secretsManagerApi(secrets, operation, input);
  }

  /**
   * A function URL request: the function is invoked synchronously with the payload 2.0 event and its
   * result mapped to the HTTP response, as Lambda does. AuthType NONE needs the public resource policy;
   * AWS_IAM needs a SigV4 signature for the `lambda` service (present, not verified: local credentials).
   */
  private async functionUrl(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const requestId = crypto.randomUUID();
    const send = (reply: FunctionUrlResponse) => {
      res.writeHead(reply.status, { ...reply.headers, 'x-amzn-requestid': requestId }).end(reply.body);
    };
    const [path = '', query = ''] = (req.url ?? '').slice(FUNCTION_URL_PREFIX.length).split(/\?(.*)/s);
    const slash = path.indexOf('/');
    const name = decodeURIComponent(slash < 0 ? path : path.slice(0, slash));
    const url = this.services.functionUrls?.get(name);
    if (!url) {
      send({
        status: 404,
        headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'ResourceNotFoundException' },
        body: Buffer.from(JSON.stringify({ Message: `No function URL for ${name}` })),
      });
      return;
    }
    const headers = req.headersDistinct as Record<string, string[]>;
    const allowed = url.authType === 'NONE' ? url.publicAccess : isSignedForLambda(headers, query);
    if (!allowed) return send(forbiddenResponse());
    const method = req.method ?? 'GET';
    const preflight = corsPreflight(url.cors, method, headers);
    if (preflight) return send(preflight);
    const event = functionUrlEvent(
      url,
      {
        method,
        rawPath: slash < 0 ? '/' : path.slice(slash),
        rawQueryString: query,
        headers,
        body,
        sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
        protocol: `HTTP/${req.httpVersion}`,
      },
      {
        requestId,
        now: (this.services.clock ?? realClock).now(),
        account: LOCAL_ACCOUNT,
        region: LOCAL_REGION,
        port: this.port,
      },
    );
    let reply: FunctionUrlResponse;
    try {
      reply = functionUrlResponse(await this.services.lambda.invoke(url.functionName, event));
    } catch {
      reply = functionErrorResponse();
    }
    send(withCors(url.cors, headers, reply));
  }

  private events(operation: string, input: Record<string, unknown>): unknown {
    const { events } = this.services;
    switch (operation) {
      case 'PutEvents':
        return events.putEvents((input.Entries as never) ?? []);
      case 'ListEventBuses':
        return {
          EventBuses: [...events.buses].map((name) => ({
            Name: name,
            Arn: `arn:aws:events:us-east-1:000000000000:event-bus/${name}`,
          })),
        };
      case 'ListRules': {
        const bus = String(input.EventBusName ?? 'default');
        return {
          Rules: events.rules
            .filter(
              (r) => r.busName === bus && (!input.NamePrefix || r.name.startsWith(String(input.NamePrefix))),
            )
            .map((r) => ({
              Name: r.name,
              Arn: r.arn,
              EventBusName: r.busName,
              State: r.enabled ? 'ENABLED' : 'DISABLED',
              ...(r.pattern !== undefined ? { EventPattern: JSON.stringify(r.pattern) } : {}),
              ...(r.schedule ? { ScheduleExpression: r.schedule } : {}),
            })),
        };
      }
      case 'ListArchives':
        return {
          Archives: events.archives.map((a) => ({
            ArchiveName: a.name,
            EventSourceArn: `arn:aws:events:us-east-1:000000000000:event-bus/${a.busName}`,
            State: 'ENABLED',
            RetentionDays: a.retentionDays,
            EventCount: a.events.length,
          })),
        };
      case 'DescribeArchive': {
        const name = String(input.ArchiveName ?? '');
        const archive = events.archives.find((a) => a.name === name);
        if (!archive) throw new ApiError('ResourceNotFoundException', `Archive ${name} does not exist.`);
        return {
          ArchiveArn: archive.arn,
          ArchiveName: archive.name,
          EventSourceArn: `arn:aws:events:us-east-1:000000000000:event-bus/${archive.busName}`,
          State: 'ENABLED',
          RetentionDays: archive.retentionDays,
          EventCount: archive.events.length,
          SizeBytes: archive.events.reduce((sum, { event }) => sum + JSON.stringify(event).length, 0),
        };
      }
      case 'DescribeReplay': {
        const name = String(input.ReplayName ?? '');
        const replay = events.replays.get(name);
        if (!replay) throw new ApiError('ResourceNotFoundException', `Replay ${name} does not exist.`);
        return {
          ReplayName: replay.name,
          ReplayArn: `arn:aws:events:us-east-1:000000000000:replay/${replay.name}`,
          EventSourceArn: replay.archiveArn,
          Destination: {
            Arn: `arn:aws:events:us-east-1:000000000000:event-bus/${replay.busName}`,
            ...(replay.ruleArns ? { FilterArns: [...replay.ruleArns] } : {}),
          },
          State: 'COMPLETED',
          StateReason: `${replay.events} events replayed`,
          EventStartTime: replay.from.getTime() / 1000,
          EventEndTime: replay.to.getTime() / 1000,
          EventLastReplayedTime: replay.endedAt.getTime() / 1000,
          ReplayStartTime: replay.startedAt.getTime() / 1000,
          ReplayEndTime: replay.endedAt.getTime() / 1000,
        };
      }
      case 'StartReplay': {
        const archiveArn = String(input.EventSourceArn ?? '');
        const count = events.replay(
          archiveArn.split(':archive/').pop() ?? archiveArn,
          new Date(Number(input.EventStartTime) * 1000),
          new Date(Number(input.EventEndTime) * 1000),
          {
            replayName: String(input.ReplayName ?? ''),
            ...((input.Destination as { FilterArns?: string[] } | undefined)?.FilterArns
              ? { ruleArns: (input.Destination as { FilterArns: string[] }).FilterArns }
              : {}),
          },
        );
        return {
          ReplayArn: `arn:aws:events:us-east-1:000000000000:replay/${String(input.ReplayName)}`,
          State: 'COMPLETED',
          StateReason: `${count} events replayed`,
        };
      }
      default:
        throw new ApiError('UnknownOperationException', `EventBridge ${operation} is not served locally`);
    }
  }

  /**
   * CloudWatch in both protocols current clients use: Smithy RPC v2 CBOR (SDK v3, AWS CLI) and JSON 1.0:
   * alarms (DescribeAlarms), metrics (ListMetrics, GetMetricData with metric math, PutMetricData) and the
   * templates' dashboards (GetDashboard, ListDashboards; read-only, as deployed).
   */
  private async monitoring(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const rpc = (req.url ?? '').match(/\/operation\/(\w+)$/);
    const operation = rpc?.[1] ?? String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    const useCbor = Boolean(rpc);
    const input = body.length
      ? ((useCbor ? cbor.deserialize(new Uint8Array(body)) : JSON.parse(body.toString('utf8'))) as Record<
          string,
          unknown
        >)
      : {};
    let status = 200;
    let output: unknown;
    try {
      output = await this.cloudwatch(operation, input, useCbor);
    } catch (error) {
      status = error instanceof ApiError ? error.status : 400;
      output = { __type: (error as Error).name, message: (error as Error).message };
    }
    if (useCbor) {
      res
        .writeHead(status, { 'content-type': 'application/cbor', 'smithy-protocol': 'rpc-v2-cbor' })
        .end(Buffer.from(cbor.serialize(output)));
    } else {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(output));
    }
  }

  private async cloudwatch(
    operation: string,
    input: Record<string, unknown>,
    useCbor: boolean,
  ): Promise<unknown> {
    const { cloudwatch } = this.services;
    const time = (date: Date) => (useCbor ? dateToTag(date) : date.getTime() / 1000);
    const toMs = (value: unknown) =>
      value instanceof Date
        ? value.getTime()
        : typeof value === 'number'
          ? value * 1000
          : new Date(String(value)).getTime();
    switch (operation) {
      case 'DescribeAlarms': {
        const names = input.AlarmNames as string[] | undefined;
        const prefix = input.AlarmNamePrefix as string | undefined;
        const state = input.StateValue as string | undefined;
        return {
          MetricAlarms: cloudwatch.alarms
            .filter(
              (a) =>
                (!names || names.includes(a.name)) &&
                (!prefix || a.name.startsWith(prefix)) &&
                (!state || a.state === state),
            )
            .map((a) => ({
              AlarmName: a.name,
              AlarmArn: a.arn,
              AlarmDescription: a.description,
              StateValue: a.state,
              StateReason: a.stateReason,
              StateUpdatedTimestamp: time(a.stateUpdatedAt),
              ...alarmMetric(a),
              EvaluationPeriods: a.evaluationPeriods,
              DatapointsToAlarm: a.datapointsToAlarm,
              Threshold: a.threshold,
              ComparisonOperator: a.comparison,
              TreatMissingData: a.treatMissingData,
              AlarmActions: a.alarmActions,
              OKActions: a.okActions,
              ActionsEnabled: true,
            })),
        };
      }
      case 'ListMetrics':
        return {
          Metrics: cloudwatch.listMetrics({
            ...(input.Namespace ? { Namespace: String(input.Namespace) } : {}),
            ...(input.MetricName ? { MetricName: String(input.MetricName) } : {}),
          }),
        };
      case 'GetMetricData': {
        const start = toMs(input.StartTime);
        const end = toMs(input.EndTime);
        let queries: ReturnType<typeof metricQuery>[];
        try {
          queries = ((input.MetricDataQueries as Record<string, unknown>[] | undefined) ?? []).map((q) =>
            metricQuery(String(q.Id), q),
          );
        } catch (error) {
          if (error instanceof UnsupportedTemplateFeature) {
            throw new ApiError('InvalidParameterValue', error.message);
          }
          throw error;
        }
        return {
          MetricDataResults: cloudwatch.metricData(queries, start, end).map((result) => ({
            Id: result.id,
            Label: result.label,
            Timestamps: result.timestamps.map((t) => time(new Date(t))).reverse(),
            Values: [...result.values].reverse(),
            StatusCode: 'Complete',
          })),
        };
      }
      case 'GetDashboard': {
        const name = String(input.DashboardName ?? '');
        const dashboard = cloudwatch.dashboards.find((d) => d.name === name);
        if (!dashboard) throw new ApiError('ResourceNotFound', `Dashboard ${name} does not exist`, 404);
        return { DashboardArn: dashboard.arn, DashboardBody: dashboard.body, DashboardName: dashboard.name };
      }
      case 'ListDashboards': {
        const prefix = String(input.DashboardNamePrefix ?? '');
        return {
          DashboardEntries: cloudwatch.dashboards
            .filter((d) => d.name.startsWith(prefix))
            .map((d) => ({
              DashboardName: d.name,
              DashboardArn: d.arn,
              LastModified: time(d.lastModified),
              Size: Buffer.byteLength(d.body),
            })),
        };
      }
      case 'PutMetricData': {
        for (const datum of (input.MetricData as {
          MetricName: string;
          Dimensions?: Dimension[];
          Value?: number;
          Unit?: string;
          Timestamp?: unknown;
        }[]) ?? []) {
          cloudwatch.put({
            namespace: String(input.Namespace),
            name: datum.MetricName,
            dimensions: datum.Dimensions ?? [],
            value: Number(datum.Value ?? 0),
            unit: datum.Unit ?? 'None',
            ...(datum.Timestamp !== undefined ? { at: toMs(datum.Timestamp) } : {}),
          });
        }
        return {};
      }
      default:
        throw new ApiError('UnknownOperationException', `CloudWatch ${operation} is not served locally`);
    }
  }

  private async states(operation: string, input: Record<string, unknown>): Promise<unknown> {
    const { sfn } = this.services;
    switch (operation) {
      case 'ListStateMachines':
        return {
          stateMachines: [...sfn.machines.values()].map((m) => ({
            stateMachineArn: m.arn,
            name: m.name,
            type: m.type,
            creationDate: epochSeconds(m.createdAt),
          })),
        };
      case 'DescribeStateMachine': {
        const m = sfn.find(String(input.stateMachineArn));
        return {
          stateMachineArn: m.arn,
          name: m.name,
          status: 'ACTIVE',
          definition: m.definitionText,
          roleArn: m.roleArn,
          type: m.type,
          creationDate: epochSeconds(m.createdAt),
        };
      }
      case 'StartExecution': {
        const e = sfn.startExecution(
          String(input.stateMachineArn),
          input.name === undefined ? undefined : String(input.name),
          input.input === undefined ? '{}' : String(input.input),
        );
        return { executionArn: e.executionArn, startDate: epochSeconds(e.startDate) };
      }
      case 'DescribeExecution': {
        const e = sfn.describe(String(input.executionArn));
        return {
          executionArn: e.executionArn,
          stateMachineArn: e.stateMachineArn,
          name: e.name,
          status: e.status,
          startDate: epochSeconds(e.startDate),
          stopDate: epochSeconds(e.stopDate),
          input: e.input,
          output: e.output,
          error: e.error,
          cause: e.cause,
        };
      }
      case 'ListExecutions':
        return {
          executions: sfn
            .list(String(input.stateMachineArn), input.statusFilter as never)
            .slice(0, Number(input.maxResults ?? 1000) || 1000)
            .map((e) => ({
              executionArn: e.executionArn,
              stateMachineArn: e.stateMachineArn,
              name: e.name,
              status: e.status,
              startDate: epochSeconds(e.startDate),
              stopDate: epochSeconds(e.stopDate),
            })),
        };
      case 'GetExecutionHistory': {
        const e = sfn.describe(String(input.executionArn));
        const events = e.history.map((h) => ({ ...h, timestamp: epochSeconds(h.timestamp) }));
        return { events: input.reverseOrder ? events.reverse() : events };
      }
      case 'SendTaskSuccess':
        sfn.sendTaskSuccess(String(input.taskToken), String(input.output));
        return {};
      case 'SendTaskFailure':
        sfn.sendTaskFailure(
          String(input.taskToken),
          input.error === undefined ? undefined : String(input.error),
          input.cause === undefined ? undefined : String(input.cause),
        );
        return {};
      case 'StopExecution':
        return {
          stopDate: epochSeconds(
            sfn.stopExecution(
              String(input.executionArn),
              input.error === undefined ? undefined : String(input.error),
              input.cause === undefined ? undefined : String(input.cause),
            ),
          ),
        };
      default:
        throw new ApiError('UnknownOperationException', `Step Functions ${operation} is not served locally`);
    }
  }
}
