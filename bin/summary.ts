/**
 * `npm start` (until the local cloud lands): synthesizes the app — bundling every function and running
 * the cdk-nag packs — and prints what a deployment would create, read back from the templates.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../lib/app.ts';
import { repoRoot } from '../lib/paths.ts';
import { formatSummary, summarize } from '../lib/summary.ts';

const started = performance.now();
const { app } = buildApp(
  new App({ outdir: join(repoRoot, 'cdk.out'), context: { 'aws:cdk:enable-asset-metadata': true } }),
);
const assembly = app.synth();
const stacks = assembly.stacks;
console.log(
  `Handoff — synthesized ${stacks.length} stacks to ${assembly.directory} in ${Math.round(performance.now() - started)} ms\n`,
);
console.log(formatSummary(summarize(stacks)));

// Bundle sizes of each function asset, as deployed.
const sizes: string[] = [];
for (const stack of stacks) {
  for (const [id, resource] of Object.entries(
    (stack.template as { Resources: Record<string, { Type: string; Metadata?: Record<string, string> }> })
      .Resources,
  )) {
    const assetPath = resource.Metadata?.['aws:asset:path'];
    if (resource.Type !== 'AWS::Lambda::Function' || !assetPath) continue;
    const bytes = statSync(join(assembly.directory, assetPath, 'index.mjs')).size;
    sizes.push(
      `  ${id.replace(/[0-9A-F]{8}$/, '').padEnd(36)} ${(bytes / 1024).toFixed(1)} KB (budget 400 KB)`,
    );
  }
}
console.log(`\nFunction bundles (index.mjs, minified, AWS SDK from the runtime)\n${sizes.join('\n')}`);
const reportPath = join(assembly.directory, 'validation-report.json');
const reports: { summary?: { pluginName?: string }; violations?: unknown[] }[] = existsSync(reportPath)
  ? (JSON.parse(readFileSync(reportPath, 'utf8')).pluginReports ?? [])
  : [];
const findings = reports.reduce((n, r) => n + (r.violations?.length ?? 0), 0);
console.log(
  `\ncdk-nag (AwsSolutions + Serverless): ${findings === 0 ? 'clean, 0 unacknowledged findings' : `${findings} FINDINGS — see ${reportPath}`}`,
);
console.log(
  '\nDeploy with: npx cdk deploy --all   (partner URLs: -c handoff:partnersBaseUrl=… or -c handoff:erpBaseUrl=…, wms, tms, crm, finance, edi)',
);
