import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT } from 'aws-cdk-lib/cx-api';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.ts';
import { repoRoot } from '../../lib/paths.ts';
import { startLocalCloud } from '../../local/cloud.ts';
import { freePort } from '../../local/dynamodb/dynamodb-local.ts';
import { UnsupportedTemplateFeature } from '../../local/template/model.ts';

const dirs: string[] = [];

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** Synthesizes the real app (plus whatever `extend` adds) into a fresh temp dir, as the e2e suite does. */
function synthesize(extend?: (app: App) => void): string {
  const outdir = tempDir('handoff-lifecycle-');
  const app = new App({
    outdir,
    context: {
      'aws:cdk:bundling-stacks': [],
      // Probe stacks are test scaffolding, not product: nag is gated by test/cdk/nag.test.ts.
      [FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT]: false,
    },
  });
  buildApp(app);
  extend?.(app);
  app.synth();
  return outdir;
}

/** DynamoDB Local processes (java) this test process started and that are still alive. */
function javaChildren(): { pid: number; args: string }[] {
  const out = execFileSync('ps', ['-A', '-o', 'pid=,ppid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.trim().match(/^(\d+)\s+(\d+)\s+(.*)$/))
    .filter((m): m is RegExpMatchArray => m !== null)
    .filter((m) => Number(m[2]) === process.pid && /(^|\/)java\s/.test(m[3] ?? ''))
    .map((m) => ({ pid: Number(m[1]), args: m[3] ?? '' }));
}

/** True when a new listener can bind the port (nothing holds it any more). */
function portIsFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** True when a TCP connection to the endpoint is refused (no process listens there). */
function connectionRefused(endpoint: string): Promise<boolean> {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') resolve(true);
      else reject(error);
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Stops DynamoDB Local processes a failed start-up left behind (by pid: only ones this process spawned),
 * once they answer, so the library's own readiness poll ends instead of failing later in the run.
 */
async function reap(leaked: { pid: number; args: string }[]): Promise<void> {
  for (const { pid, args } of leaked) {
    const port = Number(args.match(/-port (\d+)/)?.[1] ?? 0);
    const deadline = Date.now() + 15_000;
    while (port && Date.now() < deadline && (await connectionRefused(`http://127.0.0.1:${port}`))) {
      await sleep(100);
    }
    await sleep(500);
    try {
      process.kill(pid);
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 5_000;
  while (javaChildren().some((c) => leaked.some((l) => l.pid === c.pid)) && Date.now() < deadline) {
    await sleep(50);
  }
}

afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the local cloud lifecycle', () => {
  it('frees its ports and stops DynamoDB Local when stopped', async () => {
    const before = javaChildren().map((c) => c.pid);
    const assemblyDir = synthesize();
    const port = await freePort();
    const cloud = await startLocalCloud({ assemblyDir, repoRoot, port });
    const sqsPort = cloud.sqs.port;
    const dynamodbEndpoint = cloud.dynamodb.endpoint;
    let stopped = false;
    try {
      // While running, each of the three is held: otherwise the checks after stop() would prove nothing.
      expect(cloud.endpoint).toBe(`http://localhost:${port}`);
      expect(sqsPort).toBeGreaterThan(0);
      expect(await portIsFree(port, '127.0.0.1')).toBe(false);
      expect(await portIsFree(sqsPort, '0.0.0.0')).toBe(false);
      expect(await connectionRefused(dynamodbEndpoint)).toBe(false);
      expect(javaChildren().filter((c) => !before.includes(c.pid))).toHaveLength(1);

      await cloud.stop();
      stopped = true;

      expect(await portIsFree(port, '127.0.0.1')).toBe(true);
      expect(await portIsFree(sqsPort, '0.0.0.0')).toBe(true);
      expect(await connectionRefused(dynamodbEndpoint)).toBe(true);
      expect(javaChildren().filter((c) => !before.includes(c.pid))).toEqual([]);
    } finally {
      if (!stopped) await cloud.stop();
    }
  });

  it('refuses an assembly with a JSONata state machine, naming it, and leaves nothing running', async () => {
    const before = javaChildren().map((c) => c.pid);
    const assemblyDir = synthesize((app) => {
      const stack = new Stack(app, 'JsonataProbe', { env: { region: 'us-east-1' } });
      new sfn.StateMachine(stack, 'Jsonata', {
        definitionBody: sfn.DefinitionBody.fromString(
          JSON.stringify({
            QueryLanguage: 'JSONata',
            StartAt: 'P',
            States: { P: { Type: 'Pass', End: true } },
          }),
        ),
      });
    });
    const port = await freePort();
    let failure: unknown;
    try {
      const cloud = await startLocalCloud({ assemblyDir, repoRoot, port });
      await cloud.stop();
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(UnsupportedTemplateFeature);
    const error = failure as UnsupportedTemplateFeature;
    expect(error.name).toBe('UnsupportedTemplateFeature');
    expect(error.resource).toMatch(/^JsonataProbe\/Jsonata[0-9A-F]{8}$/);
    expect(error.feature).toBe('QueryLanguage JSONata');
    expect(error.message).toContain(error.resource);

    expect(await portIsFree(port, '127.0.0.1')).toBe(true);
    const leaked = javaChildren().filter((c) => !before.includes(c.pid));
    await reap(leaked);
    expect(leaked).toEqual([]);
  });

  // Found while writing these tests: startLocalCloud starts DynamoDB Local before it reads the assembly,
  // outside the try that cleans up after a failed start. When reading the assembly fails (here: no
  // manifest.json, as before the first `cdk synth`), the JVM it spawned keeps running after the rejection.
  it('leaves no DynamoDB Local behind when the assembly cannot be read', async () => {
    const before = javaChildren().map((c) => c.pid);
    const port = await freePort();
    await expect(startLocalCloud({ assemblyDir: tempDir('handoff-empty-'), repoRoot, port })).rejects.toThrow(
      /manifest\.json/,
    );
    // DynamoDB Local is spawned a moment after the call (once it has a free port): give it that moment.
    let leaked: { pid: number; args: string }[] = [];
    const deadline = Date.now() + 2_000;
    while (leaked.length === 0 && Date.now() < deadline) {
      await sleep(100);
      leaked = javaChildren().filter((c) => !before.includes(c.pid));
    }
    await reap(leaked);
    expect(await portIsFree(port, '127.0.0.1')).toBe(true);
    expect(leaked.map((c) => c.args)).toEqual([]);
  });
});
