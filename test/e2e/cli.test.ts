import { spawn } from 'node:child_process';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../cli/main.ts';
import { repoRoot } from '../../lib/paths.ts';
import { VirtualClock } from '../../local/clock/clock.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import { quiet } from '../support/faults.ts';
import { queueNamed, startTestCloud, type TestCloud, until } from '../support/test-cloud.ts';

/**
 * The operator CLI against a running local cloud, as an operator would use it: resources found through the
 * stacks' CloudFormation outputs, a credit hold found, read and approved (resuming its path), a contrary
 * second decision refused, the order's timeline shown, and errors that say what to do next.
 */
const clock = new VirtualClock(new Date('2026-12-03T15:00:00.000Z'));
let world: TestCloud;
let cloud: LocalCloud;

beforeAll(async () => {
  world = await startTestCloud({ clock });
  cloud = world.cloud;
});

afterAll(async () => {
  await world?.stop();
});

async function handoff(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, {
    out: { write: (text) => out.push(text), colour: false, now: () => clock.now() },
    err: (text) => err.push(text),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('handoff CLI on the local cloud', () => {
  let orderId = '';
  let exceptionId = '';

  it('lists the open credit hold for finance, in a table and as JSON', async () => {
    const sample = sampleOrders(clock.now(), 'CLI1').find((o) =>
      o.label.startsWith('customer close to its credit limit'),
    );
    orderId = `ERP-${String(sample?.body.SalesOrder)}`;
    exceptionId = `EXC-${orderId}-CREDIT`;
    await world.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueNamed(cloud, 'ErpIngressQueue').url,
        MessageBody: JSON.stringify(sample?.body),
      }),
    );
    await until('the hold waits on the credit controller', async () => {
      const { Item } = await cloud.dynamodb.documents.send(
        new GetCommand({
          TableName: cloud.tables.find((t) => t.resource.logicalId.startsWith('ExceptionsTable'))?.name,
          Key: { pk: exceptionId },
        }),
      );
      return Item?.awaiting ? Item : undefined;
    });

    const listed = await handoff('exceptions', 'list', '--team', 'finance');
    expect(listed.code).toBe(0);
    const [header, ...rows] = listed.out.split('\n');
    expect(header).toMatch(/^EXCEPTION\s+TYPE\s+TEAM\s+PRIORITY\s+ORDER\s+RAISED\s+SLA DUE\s+ACTION$/);
    const row = rows.find((r) => r.startsWith(exceptionId));
    expect(row).toMatch(/credit-hold\s+finance/);
    expect(row).toContain(orderId);
    expect(row).toMatch(/now|seconds? ago/);
    // Columns line up: every row's TYPE column starts where the header's does.
    expect(row?.indexOf('credit-hold')).toBe(header?.indexOf('TYPE'));

    const asJson = await handoff('--json', 'exceptions', 'list', '--type', 'credit-hold');
    const parsed = JSON.parse(asJson.out) as { exceptionId: string; ownerTeam: string }[];
    expect(parsed.find((e) => e.exceptionId === exceptionId)).toMatchObject({ ownerTeam: 'finance' });
    expect((await handoff('exceptions', 'list', '--team', 'logistics')).out).toBe(
      'No open exceptions for logistics.',
    );
  }, 120_000);

  it('shows one exception with its action, context and audit trail', async () => {
    const shown = await handoff('exceptions', 'show', exceptionId);
    expect(shown.code).toBe(0);
    expect(shown.out).toContain(`${exceptionId}  credit-hold · finance`);
    expect(shown.out).toMatch(/order\s+ERP-CLI1-3 \(stage credit-hold\)/);
    expect(shown.out).toMatch(/awaiting\s+tier 1/);
    expect(shown.out).toMatch(/audit\n\s+\S+\s+handoff:credit-check\s+raised/);
  });

  it('approves it: recorded, the waiting path resumes and releases the order; a contrary decision is refused', async () => {
    const approved = await handoff(
      'exceptions',
      'approve',
      exceptionId,
      '--reason',
      'Payment received',
      '--by',
      'jo.finance',
    );
    expect(approved).toMatchObject({ code: 0, err: '' });
    expect(approved.out).toBe(
      `${exceptionId}: approved by jo.finance; order ${orderId} resumed: credit released, its path goes on to allocation.`,
    );
    await until('the order is released', () =>
      [...cloud.sfn.executions.values()].find((e) => e.name === orderId && e.status === 'SUCCEEDED'),
    );

    const contrary = await handoff(
      'exceptions',
      'reject',
      exceptionId,
      '--reason',
      'Too late',
      '--by',
      'sam.credit',
    );
    expect(contrary.code).toBe(1);
    expect(contrary.err).toContain('ExceptionAlreadyResolved');
    expect(contrary.err).toContain('approved by jo.finance');
    expect(contrary.err).toContain('handoff exceptions show');
  }, 120_000);

  it("shows the order's timeline: stages, execution, SLA clocks and the exception", async () => {
    await quiet(cloud);
    const shown = await handoff('orders', 'show', orderId);
    expect(shown.code).toBe(0);
    expect(shown.out.split('\n')[0]).toBe(`${orderId}  released · standard-single-site`);
    for (const stage of ['received', 'accepted', 'credit-hold', 'credit-approved', 'allocated', 'released']) {
      expect(shown.out).toMatch(new RegExp(`\\s${stage}\\s`));
    }
    expect(shown.out).toContain(`execution     ${orderId}: SUCCEEDED`);
    expect(shown.out).toMatch(/accept-to-credit-decision\s+finance\s+240 min/);
    expect(shown.out).toMatch(/release-to-ship-confirmation\s+logistics\s+\d+ min\s+\S+.*running/);
    expect(shown.out).toMatch(new RegExp(`${exceptionId}\\s+credit-hold\\s+finance\\s+resolved`));

    const asJson = JSON.parse((await handoff('--json', 'orders', 'show', orderId)).out) as {
      order: { stage: string };
      execution: { status: string };
      clocks: unknown[];
      exceptions: unknown[];
    };
    expect(asJson.order.stage).toBe('released');
    expect(asJson.execution.status).toBe('SUCCEEDED');
    expect(asJson.clocks.length).toBeGreaterThanOrEqual(4);
    expect(asJson.exceptions).toHaveLength(1);
  }, 120_000);

  it('finds stalled orders by stage and age, with why they stopped', async () => {
    // A ship-complete order short everywhere sits backordered; a held one waits on finance.
    const samples = sampleOrders(clock.now(), 'CLI2');
    const short = samples.find((o) => o.label.startsWith('ship-complete order for an item short'));
    const held = samples.find((o) => o.label.startsWith('customer with invoices 47 days overdue'));
    for (const sample of [short, held]) {
      await world.sqs.send(
        new SendMessageCommand({
          QueueUrl: queueNamed(cloud, 'ErpIngressQueue').url,
          MessageBody: JSON.stringify(sample?.body),
        }),
      );
    }
    const backordered = `ERP-${String(short?.body.SalesOrder)}`;
    const waiting = `ERP-${String(held?.body.SalesOrder)}`;
    await until('both orders settle', () =>
      [backordered, waiting].every((id) =>
        [...cloud.sfn.executions.values()].some(
          (e) =>
            e.name === id &&
            (e.status !== 'RUNNING' || e.statesEntered.includes('AwaitCreditControllerDecision')),
        ),
      )
        ? true
        : undefined,
    );
    await quiet(cloud);
    expect((await handoff('orders', 'stalled', '--older-than', '30m')).out).toBe(
      'No order has been in any open stage for more than 30m.',
    );
    await clock.advance(45 * 60_000);
    await quiet(cloud);

    const stalled = await handoff('orders', 'stalled', '--older-than', '30m');
    expect(stalled.code).toBe(0);
    const [summary] = stalled.out.split('\n');
    expect(summary).toMatch(/^\d+ order\(s\) stalled for more than 30m: /);
    expect(summary).toContain('backordered 1');
    expect(summary).toContain('credit-hold 1');
    expect(stalled.out).toMatch(
      new RegExp(`${backordered}\\s+backordered\\s+45 minutes ago\\s+.*SHIP_COMPLETE`),
    );
    expect(stalled.out).toMatch(new RegExp(`${waiting}\\s+credit-hold\\s+45 minutes ago\\s+OVERDUE`));

    const onlyHolds = JSON.parse(
      (await handoff('--json', 'orders', 'stalled', '--stage', 'credit-hold', '--older-than', '30m')).out,
    ) as {
      counts: Record<string, number>;
      orders: { orderId: string; openExceptions: string[] }[];
    };
    expect(onlyHolds.counts).toEqual({ 'credit-hold': 1 });
    expect(onlyHolds.orders).toEqual([
      expect.objectContaining({ orderId: waiting, openExceptions: [`EXC-${waiting}-CREDIT`] }),
    ]);
    expect((await handoff('orders', 'stalled', '--older-than', '2h')).out).toBe(
      'No order has been in any open stage for more than 2h.',
    );
    expect((await handoff('orders', 'stalled', '--older-than', 'soon')).err).toContain(
      '--older-than must be a duration like 30m, 4h or 2d (got soon)',
    );
  }, 120_000);

  it('lists the DLQs and redrives one: messages back to their source, exceptions resolved, orders created', async () => {
    const samples = sampleOrders(clock.now(), 'CLI3');
    const bodies = [samples[0], samples[1]].map((o) => JSON.stringify(o?.body));
    const dlqUrl = queueNamed(cloud, 'ErpIngressDlq').url;
    for (const body of bodies)
      await world.sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: body }));
    // The intake (hourly in test clouds) takes them in as integration exceptions.
    await clock.advance(60 * 60_000);
    await quiet(cloud);
    const open = JSON.parse((await handoff('--json', 'exceptions', 'list', '--team', 'integration')).out) as {
      exceptionId: string;
      reasonCodes: string[];
    }[];
    const fromDlq = open.filter((e) => e.reasonCodes.includes('DLQ:ErpIngressDlq'));
    expect(fromDlq).toHaveLength(2);

    const listed = await handoff('dlq', 'list');
    expect(listed.out).toMatch(/^DLQ\s+MESSAGES\s+REDRIVES TO\s+WHAT LANDS HERE/);
    expect(listed.out).toMatch(/ErpIngressDlq\s+2\s+\S*ErpIngressQueue\S*\s+ERP sales orders/);
    expect(listed.out).toMatch(/FunctionFailureDlq\s+0\s+— \(the function that failed\)/);

    const redriven = await handoff('dlq', 'redrive', '--queue', 'ErpIngressDlq', '--by', 'ops.oncall');
    expect(redriven).toMatchObject({ code: 0, err: '' });
    expect(redriven.out).toMatch(
      /^ErpIngressDlq: 2 message\(s\) moved back to \S*ErpIngressQueue\S*; their exceptions are resolved\.$/,
    );
    // The redriven orders are ingested this time.
    const ids = [samples[0], samples[1]].map((o) => `ERP-${String(o?.body.SalesOrder)}`);
    await until('the redriven orders exist', async () => {
      const found = await Promise.all(
        ids.map((id) => handoff('--json', 'orders', 'show', id).then((r) => r.code === 0)),
      );
      return found.every(Boolean) ? true : undefined;
    });
    for (const { exceptionId: id } of fromDlq) {
      const shown = JSON.parse((await handoff('--json', 'exceptions', 'show', id)).out) as {
        state: string;
        resolution: { decidedBy: string; reason: string };
        audit: { action: string }[];
      };
      expect(shown.state).toBe('resolved');
      expect(shown.resolution).toMatchObject({
        decidedBy: 'ops.oncall',
        reason: expect.stringContaining('redriven from ErpIngressDlq'),
      });
      expect(shown.audit.map((a) => a.action)).toEqual(['raised', 'redriven']);
    }
    expect((await handoff('dlq', 'list')).out).toMatch(/ErpIngressDlq\s+0\s/);
    expect((await handoff('dlq', 'redrive', '--queue', 'NopeDlq')).err).toContain('No DLQ named NopeDlq');
  }, 120_000);

  it.each([
    [['exceptions', 'show', 'EXC-NOPE'], 'No exception EXC-NOPE. List them with `handoff exceptions list`.'],
    [['exceptions', 'list', '--team', 'sales'], '--team must be one of finance, customer-service'],
    [['orders', 'show', 'ERP-NOPE'], 'No order ERP-NOPE. Order ids are <source>-<reference>'],
    [['--deployment', 'prod', 'exceptions', 'list'], 'No stack Handoff-prod-Stateful'],
  ])('handoff %j fails saying what to do next', async (argv, message) => {
    const result = await handoff(...argv);
    expect(result.code).toBe(1);
    expect(result.err).toContain(message);
  });

  it('a decision without a reason is refused before anything changes', async () => {
    const result = await handoff('exceptions', 'approve', 'EXC-X');
    expect(result.code).toBe(2);
    expect(result.err).toContain("required option '--reason <text>' not specified");
  });

  it('runs as the package bin, configured only by the standard AWS settings', async () => {
    // Asynchronously: the local cloud serving it runs in this process.
    const child = spawn(
      process.execPath,
      ['bin/handoff.mjs', '--json', 'exceptions', 'list', '--team', 'finance', '--state', 'resolved'],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          AWS_ENDPOINT_URL: cloud.endpoint,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'local',
          AWS_SECRET_ACCESS_KEY: 'local',
        },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += String(chunk);
    });
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const listed = JSON.parse(stdout) as { exceptionId: string }[];
    expect(listed.map((e) => e.exceptionId)).toContain(exceptionId);
  }, 90_000);
});
