import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import type { DeadLetterQueueInfo } from './dlq.ts';

/** What the operator commands read and call, found through the stacks' outputs (never by guessed names). */
export interface Resources {
  readonly stage: string;
  readonly ordersTable: string;
  readonly exceptionsTable: string;
  readonly slaClocksTable: string;
  /** The process log the scorecard reads (one item per canonical event, by day and shard). */
  readonly processLogTable: string;
  readonly busName: string;
  /** The bus archive `handoff replay` replays from. */
  readonly archiveName: string;
  readonly decideExceptionFunction: string;
  /** Fulfilment path (and workflow) → state machine ARN. */
  readonly stateMachines: Readonly<Record<string, string>>;
  readonly deadLetterQueues: readonly DeadLetterQueueInfo[];
}

/** An error the operator can act on: the message says what to do next. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

const where = () =>
  `${process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? '(no region)'}${process.env.AWS_ENDPOINT_URL ? ` at ${process.env.AWS_ENDPOINT_URL}` : ''}`;

async function outputsOf(client: CloudFormationClient, stackName: string): Promise<Record<string, string>> {
  try {
    const { Stacks = [] } = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    return Object.fromEntries(
      (Stacks[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']),
    );
  } catch (error) {
    const e = error as Error;
    if (e.name === 'ValidationError') {
      throw new CliError(
        `No stack ${stackName} in ${where()}. Deploy it with \`npx cdk deploy --all -c handoff:stage=<stage>\`, pass --deployment <stage> for another one, or run the local cloud (\`npm start\`) and set AWS_ENDPOINT_URL=http://localhost:4566.`,
      );
    }
    if (e.name === 'CredentialsProviderError' || /credential/i.test(e.message)) {
      throw new CliError(
        `No AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY); for the local cloud any values do, e.g. AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local.`,
      );
    }
    if (
      /ECONNREFUSED|fetch failed|getaddrinfo/i.test(`${e.message} ${String((e as { code?: string }).code)}`)
    ) {
      throw new CliError(
        `Cannot reach CloudFormation in ${where()}: is the local cloud running (\`npm start\`)? Check AWS_ENDPOINT_URL and AWS_REGION.`,
      );
    }
    throw error;
  }
}

function required(outputs: Record<string, string>, key: string, stackName: string): string {
  const value = outputs[key];
  if (!value) {
    throw new CliError(
      `Stack ${stackName} has no output ${key}: it was deployed by an older Handoff. Redeploy with \`npx cdk deploy --all\`.`,
    );
  }
  return value;
}

export async function findResources(
  stage: string,
  client = new CloudFormationClient({}),
): Promise<Resources> {
  const statefulName = `Handoff-${stage}-Stateful`;
  const statelessName = `Handoff-${stage}-Stateless`;
  // Both at once; a failure is reported for the stateful stack first (it is deployed first).
  const [statefulRead, statelessRead] = await Promise.allSettled([
    outputsOf(client, statefulName),
    outputsOf(client, statelessName),
  ]);
  if (statefulRead.status === 'rejected') throw statefulRead.reason;
  if (statelessRead.status === 'rejected') throw statelessRead.reason;
  const stateful = statefulRead.value;
  const stateless = statelessRead.value;
  const parsed = <T>(outputs: Record<string, string>, key: string, stackName: string): T => {
    const text = required(outputs, key, stackName);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError(`Stack ${stackName}'s ${key} output is not JSON: redeploy it.`);
    }
  };
  const stateMachines = parsed<Record<string, string>>(stateless, 'PathStateMachineArns', statelessName);
  const deadLetterQueues = parsed<DeadLetterQueueInfo[]>(stateful, 'DeadLetterQueues', statefulName);
  return {
    stage,
    ordersTable: required(stateful, 'OrdersTableName', statefulName),
    exceptionsTable: required(stateful, 'ExceptionsTableName', statefulName),
    slaClocksTable: required(stateful, 'SlaClocksTableName', statefulName),
    processLogTable: required(stateful, 'ProcessLogTableName', statefulName),
    busName: required(stateful, 'EventBusName', statefulName),
    archiveName: required(stateful, 'EventBusArchiveName', statefulName),
    decideExceptionFunction: required(stateless, 'DecideExceptionFunctionName', statelessName),
    stateMachines,
    deadLetterQueues,
  };
}
