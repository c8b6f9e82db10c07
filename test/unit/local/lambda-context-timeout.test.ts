import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type LocalClock, realClock, VirtualClock } from '../../../local/clock/clock.ts';
import { LambdaRuntime } from '../../../local/lambda/runtime.ts';
import { CloudModel } from '../../../local/template/model.ts';

/**
 * A function's timeout runs on the cloud's clock. Under a virtual clock (a simulation, the e2e tests) the
 * runtime alone enforces it, on that clock: a handler framework's real-time countdown (middy's early timeout)
 * would fail an invocation that is slow in real time on a loaded machine while virtual time stands still.
 */
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'handoff-context-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(
  join(dir, 'manifest.json'),
  JSON.stringify({
    artifacts: { S: { type: 'aws:cloudformation:stack', properties: { templateFile: 'S.template.json' } } },
  }),
);
writeFileSync(
  join(dir, 'S.template.json'),
  JSON.stringify({
    Resources: {
      Slow: {
        Type: 'AWS::Lambda::Function',
        Properties: { FunctionName: 'slow', Handler: 'index.handler', Timeout: 1 },
        Metadata: { 'handoff:handler-source': 'test/unit/local/fixtures/slow-middy.ts' },
      },
    },
  }),
);

async function runtimeOn(clock: LocalClock): Promise<LambdaRuntime> {
  const runtime = new LambdaRuntime(
    new CloudModel(dir, { sqsQueueUrl: (name) => name }),
    repoRoot,
    {},
    clock,
  );
  await runtime.warm();
  return runtime;
}

describe('Lambda context under the cloud clock', () => {
  it('on a virtual clock, an invocation slower in real time than its timeout still completes', async () => {
    const runtime = await runtimeOn(new VirtualClock(new Date('2030-01-02T03:00:00Z')));
    expect(await runtime.invoke('slow', { realMs: 1_200 })).toEqual({ done: true, countdown: false });
  });

  it('on the real clock, the context counts down and middy times the handler out early', async () => {
    const runtime = await runtimeOn(realClock);
    expect(await runtime.invoke('slow', { realMs: 5 })).toEqual({ done: true, countdown: true });
    await expect(runtime.invoke('slow', { realMs: 1_500 })).rejects.toMatchObject({
      errorType: 'TimeoutError',
    });
  });

  it('on worker threads (--workers), the same holds: no countdown on a virtual clock, a real one otherwise', async () => {
    const virtual = await runtimeOn(new VirtualClock(new Date('2030-01-02T03:00:00Z')));
    const real = await runtimeOn(realClock);
    try {
      await virtual.useWorkers(1, {});
      await real.useWorkers(1, {});
      expect(await virtual.invoke('slow', { realMs: 1_200 })).toEqual({ done: true, countdown: false });
      expect(await real.invoke('slow', { realMs: 5 })).toEqual({ done: true, countdown: true });
      await expect(real.invoke('slow', { realMs: 1_500 })).rejects.toMatchObject({
        errorType: 'TimeoutError',
      });
    } finally {
      await Promise.all([virtual.stopWorkers(), real.stopWorkers()]);
    }
  });

  it("on worker threads, a handler's early timeout still wins when the main thread is busy at the deadline", async () => {
    // A loaded machine: the main thread is blocked across the deadline, so the worker's answer (middy's
    // TimeoutError, sent 5 ms before it) and the hard timeout are both due when the thread comes back.
    const real = await runtimeOn(realClock);
    try {
      await real.useWorkers(1, {});
      const outcome = real.invoke('slow', { realMs: 1_500 });
      await new Promise((resolve) => setTimeout(resolve, 900));
      // Busy in the check phase, so the loop's next turn starts with the timers, as it does under load.
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          const busyUntil = Date.now() + 250;
          while (Date.now() < busyUntil) {
            // the main thread stays busy past the function's 1 s deadline
          }
          resolve();
        }),
      );
      await expect(outcome).rejects.toMatchObject({ errorType: 'TimeoutError' });
    } finally {
      await real.stopWorkers();
    }
  });
});
