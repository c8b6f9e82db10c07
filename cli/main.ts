import { Command, CommanderError } from 'commander';
import {
  type Clients,
  decide,
  defaultClients,
  listExceptions,
  showException,
  showOrder,
} from './commands.ts';
import { listDeadLetterQueues, redriveDeadLetters } from './dlq.ts';
import type { Output } from './format.ts';
import { CliError, findResources, type Resources } from './resources.ts';
import { stalledOrders } from './stalled.ts';

export interface CliContext {
  readonly out: Output;
  readonly err: (text: string) => void;
  /** Overrides for tests: resource discovery and the AWS clients. */
  readonly resources?: (stage: string) => Promise<Resources>;
  readonly clients?: () => Clients;
}

/**
 * `handoff`: the operator CLI. Runs against the local cloud and a real deployment alike, with the standard
 * AWS settings (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL), and finds the stack's parts through its
 * CloudFormation outputs. Returns the exit code.
 */
export async function run(argv: readonly string[], context: CliContext): Promise<number> {
  const program = new Command('handoff')
    .description('Operate Handoff: orders, exceptions and their SLAs, in the local cloud or on AWS.')
    .option(
      '--deployment <stage>',
      'the deployment stage: stacks Handoff-<stage>-* (or HANDOFF_STAGE)',
      process.env.HANDOFF_STAGE ?? 'dev',
    )
    .option('--json', 'machine-readable output')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => context.out.write(s.trimEnd()),
      writeErr: (s) => context.err(s.trimEnd()),
    });

  let clients: Clients | undefined;
  const setup = async () => {
    const { deployment: stage } = program.opts<{ deployment: string }>();
    const resources = await (context.resources ?? ((s: string) => findResources(s)))(stage);
    clients ??= (context.clients ?? defaultClients)();
    return { resources, clients, json: Boolean(program.opts<{ json?: boolean }>().json) };
  };

  const exceptions = program.command('exceptions').description('owned exceptions: list, show, decide');
  exceptions
    .command('list')
    .description('open exceptions, newest first')
    .option('--team <team>', 'owner team')
    .option('--type <type>', 'exception type')
    .option('--state <state>', 'open or resolved', 'open')
    .option('--limit <n>', 'at most this many', (v) => Number.parseInt(v, 10), 50)
    .action(async (options: { team?: string; type?: string; state?: string; limit?: number }) => {
      const { resources, clients: c, json } = await setup();
      await listExceptions(resources, c, { ...options, json }, context.out);
    });
  exceptions
    .command('show <id>')
    .description('one exception: context, recommended action, audit trail')
    .action(async (id: string) => {
      const { resources, clients: c, json } = await setup();
      await showException(resources, c, id, { json }, context.out);
    });
  for (const [name, outcome] of [
    ['approve', 'release'],
    ['reject', 'reject'],
  ] as const) {
    exceptions
      .command(`${name} <id>`)
      .description(`${name} the exception's recommended action; resumes the waiting workflow`)
      .requiredOption('--reason <text>', 'why (recorded on the audit trail)')
      .option('--by <name>', 'who decides (default $HANDOFF_OPERATOR or $USER)')
      .action(async (id: string, options: { reason: string; by?: string }) => {
        const { resources, clients: c, json } = await setup();
        await decide(resources, c, id, outcome, { ...options, json }, context.out);
      });
  }
  const orders = program.command('orders').description('orders across systems');
  orders
    .command('stalled')
    .description('orders stuck in a stage longer than --older-than, oldest first, and why')
    .option('--stage <stage>', 'one stage only')
    .option('--older-than <duration>', 'e.g. 30m, 4h, 2d', '1h')
    .option('--limit <n>', 'at most this many orders listed', (v) => Number.parseInt(v, 10), 50)
    .action(async (options: { stage?: string; olderThan?: string; limit?: number }) => {
      const { resources, clients: c, json } = await setup();
      await stalledOrders(resources, c, { ...options, json }, context.out);
    });
  orders
    .command('show <orderId>')
    .description("the order's timeline: stages, execution, SLA clocks, exceptions")
    .action(async (orderId: string) => {
      const { resources, clients: c, json } = await setup();
      await showOrder(resources, c, orderId, { json }, context.out);
    });

  const dlq = program.command('dlq').description('dead-letter queues: what is on them, and the redrive');
  dlq
    .command('list')
    .description('every DLQ with its depth, what lands in it and where a redrive sends it')
    .action(async () => {
      const { resources, clients: c, json } = await setup();
      await listDeadLetterQueues(resources, c, { json }, context.out);
    });
  dlq
    .command('redrive')
    .description('move DLQ messages back to the queue they failed from, resolving their exceptions')
    .option('--queue <name>', 'one DLQ (see dlq list); all by default')
    .option('--max <n>', 'at most this many messages per queue', (v) => Number.parseInt(v, 10), 1000)
    .option('--by <name>', 'who redrives (default $HANDOFF_OPERATOR or $USER)')
    .action(async (options: { queue?: string; max?: number; by?: string }) => {
      const { resources, clients: c, json } = await setup();
      await redriveDeadLetters(resources, c, { ...options, json }, context.out);
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof CliError) {
      context.err(error.message);
      return error.exitCode;
    }
    const e = error as Error;
    context.err(
      `${e.name}: ${e.message}\nThis looks like a bug or an AWS problem; rerun with --json, and check AWS_REGION/AWS_ENDPOINT_URL.`,
    );
    return 1;
  }
}
