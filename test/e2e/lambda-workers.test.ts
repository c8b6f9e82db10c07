import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.ts';
import { repoRoot } from '../../lib/paths.ts';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import { freePort } from '../../local/dynamodb/dynamodb-local.ts';
import { PartnerSandbox } from '../../local/partners/sandbox.ts';
import { seedSandbox } from '../../local/partners/seed.ts';

const sandbox = new PartnerSandbox();
let cloud: LocalCloud;
let outdir: string;

beforeAll(async () => {
  await sandbox.start();
  seedSandbox(sandbox);
  outdir = mkdtempSync(join(tmpdir(), 'handoff-workers-'));
  const app = new App({
    outdir,
    context: {
      'aws:cdk:bundling-stacks': [],
      'handoff:erpBaseUrl': `${sandbox.baseUrl}/erp`,
      'handoff:wmsBaseUrl': `${sandbox.baseUrl}/wms`,
    },
  });
  buildApp(app);
  app.synth();
  cloud = await startLocalCloud({ assemblyDir: outdir, repoRoot, port: await freePort(), lambdaWorkers: 2 });
});

afterAll(async () => {
  await cloud?.stop();
  await sandbox.stop();
  rmSync(outdir, { recursive: true, force: true });
});

it('runs handlers on worker threads with their logs and SDK calls reported to the cloud', async () => {
  const order = sampleOrders(new Date(), 'WK')[0];
  const queue = [...cloud.sqs.queues.values()].find((q) =>
    q.resource.logicalId.startsWith('ErpIngressQueue'),
  );
  const sqs = new SQSClient({
    endpoint: cloud.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  await sqs.send(new SendMessageCommand({ QueueUrl: queue?.url, MessageBody: JSON.stringify(order?.body) }));
  const deadline = Date.now() + 30_000;
  let execution = [...cloud.sfn.executions.values()].find((e) => e.name === 'ERP-WK-1');
  while ((!execution || execution.status === 'RUNNING') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    execution = [...cloud.sfn.executions.values()].find((e) => e.name === 'ERP-WK-1');
  }
  expect(execution?.status).toBe('SUCCEEDED');
  expect(execution?.statesEntered.at(-1)).toBe('HandedToWarehouse');
  // Lines logged inside the threads arrive attributed to their function and invocation.
  const released = cloud.lambda.logs.find(
    (l) => l.functionName.includes('ReleaseToWarehouse') && l.text.includes('release decided'),
  );
  expect(JSON.parse(released?.text ?? '{}')).toMatchObject({
    orderId: 'ERP-WK-1',
    service: 'handoff-release-to-warehouse',
  });
  // 1 put at ingress, then a read and a conditional write for the router and each of the three steps.
  expect(cloud.meter.count('DynamoDB')).toBe(9);
});
