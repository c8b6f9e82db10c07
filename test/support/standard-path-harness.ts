import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { StateMachine } from 'aws-local-stepfunctions';

type JSONValue = Parameters<StateMachine['run']>[0];

import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoExceptionRepository } from '../../lambdas/adapters/aws/dynamo-exception-repository.ts';
import { DynamoOrderRepository } from '../../lambdas/adapters/aws/dynamo-order-repository.ts';
import { ErpCreditClient } from '../../lambdas/adapters/erp/credit-client.ts';
import { ErpItemClient } from '../../lambdas/adapters/erp/item-client.ts';
import { PartnerClient } from '../../lambdas/adapters/http/partner-client.ts';
import { WmsClient } from '../../lambdas/adapters/wms/wms-client.ts';
import type { Clock, DecisionCallbacks, ExecutionStarter } from '../../lambdas/ports/index.ts';
import { allocateStock } from '../../lambdas/use-cases/allocate-stock.ts';
import { checkCredit } from '../../lambdas/use-cases/check-credit.ts';
import {
  applyDecisionFallback,
  awaitHumanDecision,
  type DecisionDeps,
  type DecisionInput,
  decideException,
} from '../../lambdas/use-cases/human-decision.ts';
import { ingestErpOrder } from '../../lambdas/use-cases/ingest-erp-order.ts';
import { raiseStepException, type StepFailure } from '../../lambdas/use-cases/raise-step-exception.ts';
import { releaseToWarehouse } from '../../lambdas/use-cases/release-to-warehouse.ts';
import { routeOrder } from '../../lambdas/use-cases/route-order.ts';
import { buildApp } from '../../lib/app.ts';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb/dynamodb-local.ts';
import { createTableInput } from '../../local/dynamodb/tables.ts';
import { PartnerSandbox } from '../../local/partners/sandbox.ts';
import { type BranchEvent, logBranches } from './branch-log.ts';
import { RecordingPublisher } from './recording-publisher.ts';

export class TestClock implements Clock {
  constructor(public current: Date) {}
  now(): Date {
    return new Date(this.current);
  }
}

export interface ExecutionRecord {
  readonly name: string;
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly output?: JSONValue;
  readonly error?: string;
  /** Every state entered, in order: each is one Standard state transition. */
  readonly statesEntered: string[];
  readonly retries: string[];
}

type StepHandler = (payload: { orderId: string } & Record<string, unknown>) => Promise<unknown>;

/** Marks a step result that is a callback task's answer rather than a Lambda invoke's Payload. */
const WAITS_FOR_TOKEN = Symbol('waitsForToken');

/**
 * The standard path end to end on one machine: the synthesized template's tables in DynamoDB Local, the
 * ASL file run by aws-local-stepfunctions with the template's substitutions, the real use cases and
 * adapters, and ERP/WMS behind a real HTTP sandbox. Events are contract-checked and recorded.
 */
export class StandardPathHarness {
  readonly sandbox = new PartnerSandbox();
  readonly events = new RecordingPublisher();
  readonly clock = new TestClock(new Date('2026-11-23T09:00:00Z'));
  readonly executions = new Map<string, ExecutionRecord>();
  private readonly running = new Map<string, Promise<ExecutionRecord>>();
  ddb!: DynamoDbLocal;
  orders!: DynamoOrderRepository;
  exceptions!: DynamoExceptionRepository;
  exceptionsTableName = '';
  /** Replaces a step's use case, to drive branches a well-behaved step never takes. */
  readonly stepOverrides = new Map<string, StepHandler>();
  /** Callback tasks waiting on a person, by token, as Step Functions would hold them. */
  readonly waitingTasks = new Map<string, (output: JSONValue) => void>();
  private tokens = 0;
  /** Answers a waiting task the way SendTaskSuccess does; a token no task holds is 'expired'. */
  readonly callbacks: DecisionCallbacks = {
    succeed: async (taskToken, output) => {
      const resume = this.waitingTasks.get(taskToken);
      if (!resume) return 'expired';
      this.waitingTasks.delete(taskToken);
      resume(output as JSONValue);
      return 'delivered';
    },
    // The standard path waits on credit holds only, and a credit decision always answers with succeed.
    fail: async (taskToken) => {
      throw new Error(
        `the harness has no failing task to answer (${taskToken}): its paths wait on credit holds only`,
      );
    },
  };
  private machine!: StateMachine;
  /** Branch events of every run, for `npm run coverage:branches`. */
  private readonly runs: BranchEvent[][] = [];
  private topLevelStates: string[] = [];
  private substitutions: string[] = [];

  async start(): Promise<void> {
    const [ddb] = await Promise.all([startDynamoDbLocal(), this.sandbox.start()]);
    this.ddb = ddb;
    const { stateful, stateless } = buildApp(new App({ context: { 'aws:cdk:bundling-stacks': [] } }));
    const tables: Record<string, string> = {};
    const resources = Template.fromStack(stateful).findResources('AWS::DynamoDB::GlobalTable');
    for (const [logicalId, table] of Object.entries(resources)) {
      tables[logicalId] = `test-${logicalId}`;
      const input = createTableInput(
        tables[logicalId],
        { stack: 'test', logicalId, type: table.Type, properties: table.Properties, metadata: {} },
        table.Properties,
      );
      await ddb.client.send(new CreateTableCommand(input));
    }
    const tableName = (prefix: string) => {
      const entry = Object.entries(tables).find(([logicalId]) => logicalId.startsWith(prefix));
      if (!entry) throw new Error(`no ${prefix} in the stateful template`);
      return entry[1];
    };
    this.orders = new DynamoOrderRepository(ddb.client, tableName('OrdersTable'), this.clock);
    this.exceptionsTableName = tableName('ExceptionsTable');
    this.exceptions = new DynamoExceptionRepository(ddb.client, this.exceptionsTableName);

    const machines = Template.fromStack(stateless).findResources('AWS::StepFunctions::StateMachine');
    const machine = Object.values(machines)[0] as { Properties: { DefinitionSubstitutions: object } };
    this.substitutions = Object.keys(machine.Properties.DefinitionSubstitutions);
    let asl = readFileSync(
      new URL('../../statemachines/standard-single-site.asl.json', import.meta.url),
      'utf8',
    );
    for (const key of this.substitutions) {
      asl = asl.replaceAll(`\${${key}}`, `arn:aws:lambda:us-east-1:123456789012:function:${key}`);
    }
    const unresolved = asl.match(/\$\{[A-Za-z]+\}/);
    if (unresolved) throw new Error(`ASL placeholder ${unresolved[0]} has no substitution in the template`);
    const definition = JSON.parse(asl) as {
      TimeoutSeconds?: number;
      States: Record<string, Record<string, unknown>>;
    };
    // The engine times the execution on a real setTimeout, which cannot hold the path's 90 days (it would
    // fire at once); the local cloud times executions on its own clock instead.
    delete definition.TimeoutSeconds;
    for (const state of Object.values(definition.States)) {
      // The engine reads TimeoutSecondsPath from the Parameters output instead of the state input; SLA
      // timeouts are driven on the local cloud's virtual clock (test/e2e), so here the wait is just long.
      if ('TimeoutSecondsPath' in state) {
        delete state.TimeoutSecondsPath;
        state.TimeoutSeconds = 3600;
      }
    }
    this.machine = new StateMachine(definition as never);
    this.topLevelStates = Object.keys(definition.States);
  }

  async stop(): Promise<void> {
    logBranches([{ states: this.topLevelStates, runs: this.runs }]);
    await Promise.all([this.ddb?.stop(), this.sandbox.stop()]);
  }

  /** The ERP item master the ingress checks an order's items against: the sandbox's, read afresh. */
  get items(): ErpItemClient {
    return new ErpItemClient(this.partner('erp'));
  }

  private partner(name: string): PartnerClient {
    return new PartnerClient({
      partner: name,
      baseUrl: `${this.sandbox.baseUrl}/${name}`,
      timeoutMs: 2000,
      maxAttempts: 3,
      sleep: async () => {},
    });
  }

  private get steps(): Record<string, StepHandler> {
    const base = { orders: this.orders, events: this.events, clock: this.clock };
    const wms = new WmsClient(this.partner('wms'));
    return {
      CheckCreditFunctionArn: ({ orderId }) =>
        checkCredit(orderId, {
          ...base,
          exceptions: this.exceptions,
          credit: new ErpCreditClient(this.partner('erp')),
        }),
      AllocateStockFunctionArn: ({ orderId }) => allocateStock(orderId, { ...base, inventory: wms }),
      ReleaseToWarehouseFunctionArn: async ({ orderId }) => {
        const result = await releaseToWarehouse(orderId, { ...base, warehouse: wms });
        // The virtual clock stands in for the Wait state: when the path waits, time moves to releaseAt.
        if (result.action === 'defer') this.clock.current = new Date(result.releaseAt);
        return result;
      },
      RaiseStepExceptionFunctionArn: (payload) =>
        raiseStepException(payload as unknown as StepFailure, { ...base, exceptions: this.exceptions }),
      HumanDecisionTaskFunctionArn: async (payload) => {
        const input = payload as unknown as { action: string; exceptionId: string; tier: number };
        if (input.action === 'fallback')
          return applyDecisionFallback({ ...payload, ...input }, this.decisionDeps);
        // A callback task: the token is the harness's own (the engine has no $$.Task.Token), and the task's
        // result is whatever the decision sends back.
        this.tokens += 1;
        const taskToken = `harness-token-${this.tokens}`;
        const answered = new Promise<JSONValue>((resolve) => this.waitingTasks.set(taskToken, resolve));
        await awaitHumanDecision({ ...input, orderId: payload.orderId, taskToken }, this.decisionDeps);
        return { [WAITS_FOR_TOKEN]: await answered };
      },
    };
  }

  get decisionDeps(): DecisionDeps {
    return {
      orders: this.orders,
      exceptions: this.exceptions,
      events: this.events,
      clock: this.clock,
      callbacks: this.callbacks,
    };
  }

  /** An operator's decision on an exception, through the real use case. */
  decide(input: DecisionInput) {
    return decideException(input, this.decisionDeps);
  }

  /** Runs the path for an order the way Step Functions would, recording states entered and retries. */
  readonly starter: ExecutionStarter = {
    // Like StartExecution, returns at once; the execution runs on while the caller carries on.
    start: async (_arn, name, input) => {
      if (this.running.has(name)) return { executionArn: `local:${name}`, alreadyStarted: true };
      this.running.set(
        name,
        this.runExecution(name, input as JSONValue).then((record) => {
          this.executions.set(name, record);
          return record;
        }),
      );
      return { executionArn: `local:${name}`, alreadyStarted: false };
    },
  };

  async runExecution(name: string, input: JSONValue): Promise<ExecutionRecord> {
    const steps = this.steps;
    const handlers: Record<string, (input: JSONValue) => Promise<JSONValue>> = {};
    const definition = (
      this.machine as unknown as {
        definition: { States: Record<string, { Type: string; Parameters?: { FunctionName?: string } }> };
      }
    ).definition;
    const retryOverrides: Record<string, number> = {};
    for (const [stateName, state] of Object.entries(definition.States)) {
      if (state.Type !== 'Task') continue;
      retryOverrides[stateName] = 0;
      const key = state.Parameters?.FunctionName?.split(':').pop() ?? '';
      handlers[stateName] = async (taskInput) => {
        const payload = (taskInput as { Payload: { orderId: string } }).Payload;
        const handler = this.stepOverrides.get(key) ?? steps[key];
        if (!handler) throw new Error(`no step behind ${key}`);
        const result = (await handler(payload)) as JSONValue & { [WAITS_FOR_TOKEN]?: JSONValue };
        if (result && typeof result === 'object' && WAITS_FOR_TOKEN in result) {
          return result[WAITS_FOR_TOKEN] as JSONValue;
        }
        return { Payload: result as JSONValue, StatusCode: 200 };
      };
    }
    const execution = this.machine.run(input, {
      overrides: {
        taskResourceLocalHandlers: handlers,
        waitTimeOverrides: { WaitForReleaseWindow: 0 },
        retryIntervalOverrides: retryOverrides,
      },
      context: {
        Execution: { Id: `local:${name}`, Name: name, StartTime: this.clock.now().toISOString() },
        // The engine has no task tokens; callback steps mint their own (see HumanDecisionTaskFunctionArn).
        Task: { Token: 'minted-by-the-step' },
      } as never,
    });
    const statesEntered: string[] = [];
    const retries: string[] = [];
    const branchEvents: BranchEvent[] = [];
    this.runs.push(branchEvents);
    const collecting = (async () => {
      for await (const event of execution.eventLogs) {
        if (event.type === 'StateEntered') {
          statesEntered.push(event.state.name);
          branchEvents.push(['enter', event.state.name]);
        }
        if (event.type === 'StateRetried') {
          retries.push(event.state.name);
          branchEvents.push(['retry', event.state.name]);
        }
        if (event.type === 'StateFailed') branchEvents.push(['fail', event.state.name, event.Error]);
      }
    })();
    try {
      const output = await execution.result;
      await collecting;
      return { name, status: 'SUCCEEDED', output, statesEntered, retries };
    } catch (error) {
      await collecting.catch(() => undefined);
      return {
        name,
        status: 'FAILED',
        error: error instanceof Error ? error.message : String(error),
        statesEntered,
        retries,
      };
    }
  }

  /** ERP message in → ingest → route; returns once the path has started, with its completion. */
  async begin(erpOrder: unknown): Promise<{ orderId: string; done: Promise<ExecutionRecord | undefined> }> {
    const outcome = await ingestErpOrder(JSON.stringify(erpOrder), {
      orders: this.orders,
      exceptions: this.exceptions,
      events: this.events,
      clock: this.clock,
      items: this.items,
    });
    if (outcome.kind !== 'received') throw new Error(`order not received: ${JSON.stringify(outcome)}`);
    await this.route(outcome.orderId);
    return { orderId: outcome.orderId, done: Promise.resolve(this.running.get(outcome.orderId)) };
  }

  /** ERP message in → ingest → route (which runs the path). Returns the order id and its execution. */
  async submit(erpOrder: unknown): Promise<{ orderId: string; execution: ExecutionRecord | undefined }> {
    const outcome = await ingestErpOrder(JSON.stringify(erpOrder), {
      orders: this.orders,
      exceptions: this.exceptions,
      events: this.events,
      clock: this.clock,
      items: this.items,
    });
    if (outcome.kind !== 'received') throw new Error(`order not received: ${JSON.stringify(outcome)}`);
    await this.route(outcome.orderId);
    return { orderId: outcome.orderId, execution: await this.running.get(outcome.orderId) };
  }

  /** Routes as the deployed router does, with the split path deployed and the WMS read for stock. */
  routeWithStock(orderId: string) {
    return routeOrder(orderId, {
      orders: this.orders,
      executions: this.starter,
      events: this.events,
      clock: this.clock,
      inventory: new WmsClient(this.partner('wms')),
      pathStateMachines: {
        'standard-single-site': 'arn:aws:states:us-east-1:123456789012:stateMachine:standard',
        'multi-site-split': 'arn:aws:states:us-east-1:123456789012:stateMachine:split',
      },
    });
  }

  route(orderId: string) {
    return routeOrder(orderId, {
      orders: this.orders,
      executions: this.starter,
      events: this.events,
      clock: this.clock,
      pathStateMachines: {
        'standard-single-site': 'arn:aws:states:us-east-1:123456789012:stateMachine:standard',
      },
    });
  }
}
