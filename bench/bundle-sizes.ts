/**
 * Adapter bundle budget: synthesizes the app (esbuild bundles every function exactly as deployed), then
 * reports each bundle's size, gzip size and cold import time in a fresh Node process.
 *   npm run bench:bundles
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../lib/app.ts';
import { repoRoot } from '../lib/paths.ts';

const BUDGET_KB = 400;
const { app } = buildApp(
  new App({ outdir: join(repoRoot, 'cdk.out'), context: { 'aws:cdk:enable-asset-metadata': true } }),
);
const assembly = app.synth();
// Bundles import the runtime's AWS SDK; placed inside the repo, they resolve it from node_modules.
const scratch = join(repoRoot, '.bench-bundles');
mkdirSync(scratch, { recursive: true });
const env = {
  ...process.env,
  ORDERS_TABLE_NAME: 'orders',
  EXCEPTIONS_TABLE_NAME: 'exceptions',
  EVENT_BUS_NAME: 'bus',
  ERP_BASE_URL: 'http://127.0.0.1:1/erp',
  WMS_BASE_URL: 'http://127.0.0.1:1/wms',
  TMS_BASE_URL: 'http://127.0.0.1:1/tms',
  CRM_BASE_URL: 'http://127.0.0.1:1/crm',
  VENDOR_BASE_URL: 'http://127.0.0.1:1/vendor',
  BACKORDERS_TABLE_NAME: 'backorders',
  PATH_STATE_MACHINES: '{"standard-single-site":"arn:aws:states:us-east-1:1:stateMachine:x"}',
  CARRIER_WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:webhook-AbCdEf',
  SLA_CLOCKS_TABLE_NAME: 'sla-clocks',
  PROCESS_LOG_TABLE_NAME: 'process-log',
  DEAD_LETTER_QUEUES: '[]',
  AWS_REGION: 'us-east-1',
};

/** The function's own configuration from the template, where it is a literal (partner URLs, EDI partners). */
function literalEnvironment(variables: Record<string, unknown> | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(variables ?? {}).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string',
    ),
  );
}

const rows: string[][] = [['function', 'bundle KB', 'gzip KB', 'cold import ms (median of 5)', 'budget']];
let over = 0;
for (const stack of assembly.stacks) {
  const resources = (
    stack.template as {
      Resources: Record<
        string,
        {
          Type: string;
          Metadata?: Record<string, string>;
          Properties?: { Environment?: { Variables?: Record<string, unknown> } };
        }
      >;
    }
  ).Resources;
  for (const [id, resource] of Object.entries(resources)) {
    const assetPath = resource.Metadata?.['aws:asset:path'];
    if (resource.Type !== 'AWS::Lambda::Function' || !assetPath) continue;
    const bundle = join(assembly.directory, assetPath, 'index.mjs');
    const bytes = statSync(bundle).size;
    const gzip = gzipSync(readFileSync(bundle)).length;
    const name = id.replace(/Function[0-9A-F]{8}$/, '');
    const copy = join(scratch, `${name}.mjs`);
    copyFileSync(bundle, copy);
    const samples = Array.from({ length: 5 }, () =>
      Number(
        execFileSync(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            `const t=performance.now();await import(${JSON.stringify(copy)});console.log(performance.now()-t)`,
          ],
          {
            env: { ...env, ...literalEnvironment(resource.Properties?.Environment?.Variables) },
            encoding: 'utf8',
          },
        ).trim(),
      ),
    ).sort((a, b) => a - b);
    const ok = bytes / 1024 <= BUDGET_KB;
    if (!ok) over += 1;
    rows.push([
      name,
      (bytes / 1024).toFixed(1),
      (gzip / 1024).toFixed(1),
      (samples[2] ?? 0).toFixed(1),
      ok ? `≤ ${BUDGET_KB} KB ok` : `OVER ${BUDGET_KB} KB`,
    ]);
  }
}
rmSync(scratch, { recursive: true, force: true });
const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
for (const row of rows) console.log(row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  '));
process.exitCode = over > 0 ? 1 : 0;
