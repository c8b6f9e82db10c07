import { Command, CommanderError } from 'commander';
import { FAULT_PROFILES } from '../sim/faults.ts';
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
import { replayEvents } from './replay.ts';
import { CliError, findResources, type Resources } from './resources.ts';
import { printScorecard, writeScorecardReport } from './scorecard.ts';
import { type SimulateCliOptions, simulateCommand } from './simulate.ts';
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
  for (const [outcome, description] of [
    ['approve', "approve the exception's recommended action; resumes a waiting workflow"],
    ['reject', 'reject it (a credit hold is declined, a waiting workflow fails, anything else is closed)'],
    ['override', 'resolve it against the recommendation (a credit hold is released), flagged as an override'],
  ] as const) {
    exceptions
      .command(`${outcome} <id>`)
      .description(description)
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
    .description('send DLQ messages back to where they failed, resolving their exceptions')
    .option('--queue <name>', 'one DLQ (see dlq list); all by default')
    .option('--max <n>', 'at most this many messages per queue', (v) => Number.parseInt(v, 10), 1000)
    .option('--by <name>', 'who redrives (default $HANDOFF_OPERATOR or $USER)')
    .action(async (options: { queue?: string; max?: number; by?: string }) => {
      const { resources, clients: c, json } = await setup();
      await redriveDeadLetters(resources, c, { ...options, json }, context.out);
    });

  program
    .command('replay')
    .description('replay the bus archive for a window, to every rule or to the consumers of --detail-type')
    .option('--from <time>', 'start: ISO 8601 time, or a duration back from now (6h, 2d)')
    .option('--to <time>', 'end (exclusive): ISO 8601 time or a duration back from now', 'now')
    .option('--detail-type <names...>', 'only to the rules consuming these events (e.g. shipment.confirmed)')
    .option('--dry-run', 'show what would be replayed, start nothing')
    .option('--no-wait', 'start the replay and return')
    .action(
      async (options: {
        from?: string;
        to?: string;
        detailType?: string[];
        dryRun?: boolean;
        wait?: boolean;
      }) => {
        const { resources, clients: c, json } = await setup();
        await replayEvents(resources, c, { ...options, json }, context.out);
      },
    );

  const windowOptions = (command: Command) =>
    command
      .option('--from <time>', 'start: ISO 8601 time or a duration back from now', '7d')
      .option('--to <time>', 'end (exclusive): ISO 8601 time or a duration back from now', 'now')
      .option('--sla-policy <file>', 'the SLA policy JSON the stack was deployed with (defaults otherwise)');
  windowOptions(
    program
      .command('scorecard')
      .description('the process-intelligence scorecard: cycle times, exceptions, SLA adherence, recovery'),
  ).action(async (options: { from?: string; to?: string; slaPolicy?: string }) => {
    const { resources, clients: c, json } = await setup();
    await printScorecard(resources, c, { ...options, json }, context.out);
  });
  windowOptions(
    program.command('report').description('write the scorecard as a self-contained HTML report with charts'),
  )
    .option('--out <path>', 'where to write it (default handoff-report-<stage>-<date>.html)')
    .action(async (options: { from?: string; to?: string; slaPolicy?: string; out?: string }) => {
      const { resources, clients: c, json } = await setup();
      await writeScorecardReport(resources, c, { ...options, json }, context.out);
    });

  program
    .command('simulate')
    .description(
      'a week of the distributor through the real stack in the local cloud, on a virtual clock: scorecard, report, cost, capacity, invariants',
    )
    .option('--orders <n>', 'orders over the week', '25000')
    .option('--days <n>', 'days of arrivals', '7')
    .option('--seed <n>', 'seed of every random draw (same seed, same week)', '20261123')
    .option(
      '--faults <profile>',
      `fault profile: default, ${Object.keys(FAULT_PROFILES).join(', ')}`,
      'default',
    )
    .option('--report <path>', 'where to write the HTML report', '.handoff/report.html')
    .option('--step <minutes>', 'virtual minutes per step (the ERP interface interval)', '10')
    .option('--tail-hours <hours>', 'virtual hours after the last arrival for shipments and invoices', '72')
    .option(
      '--poison-every <n>',
      'one poison-pill order in every n (profiles with poison pills; default 1000)',
    )
    .option('--summary-json <path>', "also write the run's figures, scorecard and invariants as JSON")
    .option('--port <port>', 'the local endpoint port (default: a free one)')
    .action(async (options: SimulateCliOptions) => {
      await simulateCommand(options, context);
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
