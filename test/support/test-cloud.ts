import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { App } from 'aws-cdk-lib';
import { FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT } from 'aws-cdk-lib/cx-api';
import { repoRoot } from '../../lib/paths.ts';
import type { LocalClock } from '../../local/clock/clock.ts';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { freePort } from '../../local/dynamodb/dynamodb-local.ts';
import { PartnerSandbox } from '../../local/partners/sandbox.ts';
import { seedSandbox } from '../../local/partners/seed.ts';
import type { LocalQueue } from '../../local/sqs/sqs-service.ts';
import { synthesizeCached } from '../../local/synth-cache.ts';
import { branchEventsOfHistory, logBranches } from './branch-log.ts';

export interface TestCloud {
  readonly cloud: LocalCloud;
  readonly sandbox: PartnerSandbox;
  /** An SQS client on the cloud's endpoint, as any SDK user would configure it. */
  readonly sqs: SQSClient;
  stop(): Promise<void>;
}

export const TEST_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * The real app synthesized into a temp dir (plus whatever `extend` adds: probe stacks are test scaffolding,
 * so synth does not fail on their nag findings; test/cdk/nag.test.ts gates the product), a seeded partner
 * sandbox it points at, and the local cloud running it on a free port.
 */
export async function startTestCloud(
  options: {
    extend?: (app: App) => void;
    clock?: LocalClock;
    lambdaWorkers?: number;
    /** More CDK context, as `-c key=value` gives a deployment (e.g. `handoff:slaPolicy`). */
    context?: Record<string, unknown>;
  } = {},
): Promise<TestCloud> {
  const sandbox = new PartnerSandbox();
  await sandbox.start();
  seedSandbox(sandbox);
  const context: Record<string, unknown> = {
    'aws:cdk:bundling-stacks': [],
    [FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT]: false,
    // Tests jump virtual weeks, and each detector run costs ~20 ms of real time: hourly keeps a jump of
    // days to seconds. The SLA tests set 1, the product default.
    'handoff:slaDetectorMinutes': 60,
    'handoff:deadLetterIntakeMinutes': 60,
    ...options.context,
  };
  const synthesize = async (withContext: Record<string, unknown>, outdir: string) => {
    // Loading the app's constructs costs about a second: only a synth that misses the cache pays it.
    const { buildApp } = await import('../../lib/app.ts');
    const app = new App({ outdir, context: withContext });
    buildApp(app);
    options.extend?.(app);
    app.synth();
  };
  // The product app alone comes from the synth cache; a probe stack added by `extend` is synthesized anew.
  let outdir: string;
  if (options.extend) {
    outdir = mkdtempSync(join(tmpdir(), 'handoff-cloud-'));
    await synthesize({ ...context, 'handoff:partnersBaseUrl': sandbox.baseUrl }, outdir);
  } else {
    outdir = await synthesizeCached({ context, partnersBaseUrl: sandbox.baseUrl, synthesize });
  }
  const cloud = await startLocalCloud({
    assemblyDir: outdir,
    repoRoot,
    port: await freePort(),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.lambdaWorkers ? { lambdaWorkers: options.lambdaWorkers } : {}),
  });
  const sqs = new SQSClient({ endpoint: cloud.endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS });
  return {
    cloud,
    sandbox,
    sqs,
    stop: async () => {
      sqs.destroy();
      logCloudBranches(cloud);
      await cloud.stop();
      await sandbox.stop();
      rmSync(outdir, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` (real time) until it returns a value. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The queue with this construct id (its logical id is the id plus CDK's 8-character hash). */
export function queueNamed(cloud: LocalCloud, id: string): LocalQueue {
  const queue = [...cloud.sqs.queues.values()].find((q) =>
    new RegExp(`^${id}[0-9A-F]{8}$`).test(q.resource.logicalId),
  );
  if (!queue) throw new Error(`no queue ${id}`);
  return queue;
}

/** Every execution the cloud ran, for `npm run coverage:branches` (a no-op unless HANDOFF_BRANCH_LOG is set). */
export function logCloudBranches(cloud: LocalCloud): void {
  if (!process.env.HANDOFF_BRANCH_LOG) return;
  const executions = [...cloud.sfn.executions.values()];
  logBranches(
    [...cloud.sfn.machines.values()].map((machine) => ({
      states: Object.keys((machine.definition as { States?: object }).States ?? {}),
      runs: executions
        .filter((e) => e.stateMachineArn === machine.arn)
        .map((e) => branchEventsOfHistory(e.history)),
    })),
  );
}
