import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import { startTestCloud, type TestCloud } from '../support/test-cloud.ts';

let world: TestCloud;
let cloud: LocalCloud;

beforeAll(async () => {
  world = await startTestCloud({ lambdaWorkers: 2 });
  cloud = world.cloud;
});

afterAll(async () => {
  await world?.stop();
});

it('runs handlers on worker threads with their logs and SDK calls reported to the cloud', async () => {
  const order = sampleOrders(new Date(), 'WK')[0];
  const queue = [...cloud.sqs.queues.values()].find((q) =>
    q.resource.logicalId.startsWith('ErpIngressQueue'),
  );
  const { sqs } = world;
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
  // The path's own 9 (1 put at ingress, a read and a conditional write for the router and each of the three
  // steps), made in the threads and reported to the cloud's meter, plus the SLA tracker's clock writes.
  expect(cloud.meter.count('DynamoDB')).toBeGreaterThanOrEqual(9);
});
