/**
 * cdk-nag 3 is a CDK policy-validation plugin (`Validations.of(app).addPlugins(...)`), not an Aspect: it
 * emits no Annotations. Its findings surface when the app is synthesized: CDK writes them to
 * `validation-report.json` in the cloud assembly and, for an in-memory app, throws `ValidationFailed`.
 * These tests read that report. Acknowledgments are `Validations.of(c).acknowledge(...)`, recorded as
 * `aws:cdk:acknowledged-rules` metadata on the construct, which is what cdk-nag reads to suppress.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import {
  CDK_APP_MODE_CONTEXT,
  FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT,
  VALIDATION_REPORT_FILE,
} from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HandoffApp } from '../../lib/app.ts';
import { buildTestApp, SKIP_BUNDLING } from './support.ts';

interface Finding {
  readonly plugin: string;
  readonly rule: string;
  readonly severity: string;
  readonly path: string;
}

interface SynthOutcome {
  /** What synthesis threw, if it failed. */
  readonly error?: Error;
  readonly findings: Finding[];
}

interface ValidationReport {
  readonly pluginReports: {
    readonly pluginName: string;
    readonly violations: {
      readonly ruleName: string;
      readonly severity: string;
      readonly violatingConstructs: { readonly constructPath: string }[];
    }[];
  }[];
}

const outdirs: string[] = [];
function newOutdir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-nag-'));
  outdirs.push(dir);
  return dir;
}

/** Context for every app here: skip bundling, and make synth throw on findings (not set an exit code). */
const NAG_CONTEXT = {
  ...SKIP_BUNDLING,
  [CDK_APP_MODE_CONTEXT]: 'inmemory',
  [FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT]: true,
};

/** Synthesizes the app and returns every cdk-nag finding in its validation report. */
function synthWithNag(app: App, outdir: string): SynthOutcome {
  let error: Error | undefined;
  try {
    app.synth();
  } catch (thrown) {
    error = thrown as Error;
  }
  const reportFile = join(outdir, VALIDATION_REPORT_FILE);
  if (!readdirSync(outdir).includes(VALIDATION_REPORT_FILE)) {
    throw new Error(`synthesis wrote no ${VALIDATION_REPORT_FILE}; it failed with: ${String(error)}`);
  }
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as ValidationReport;
  const findings = report.pluginReports.flatMap((plugin) =>
    plugin.violations.flatMap((violation) =>
      violation.violatingConstructs.map((construct) => ({
        plugin: plugin.pluginName,
        rule: violation.ruleName,
        severity: violation.severity,
        path: construct.constructPath,
      })),
    ),
  );
  return { ...(error ? { error } : {}), findings };
}

function handoffApp(context: Record<string, unknown> = {}): { handoff: HandoffApp; outdir: string } {
  const outdir = newOutdir();
  return { handoff: buildTestApp({ ...NAG_CONTEXT, ...context }, outdir), outdir };
}

/** A scratch app with the same packs as the Handoff app, around one deliberately non-compliant queue. */
function scratchApp(context: Record<string, unknown> = {}): { app: App; stack: Stack; outdir: string } {
  const outdir = newOutdir();
  const app = new App({ outdir, context: { ...NAG_CONTEXT, ...context } });
  const stack = new Stack(app, 'NagScratch', { env: { account: '111111111111', region: 'eu-west-1' } });
  new sqs.Queue(stack, 'PlainQueue'); // no enforceSSL, no DLQ
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, stack, outdir };
}

interface Acknowledgment {
  readonly path: string;
  readonly id: string;
  readonly reason: unknown;
}

/** Every acknowledgment recorded in the app, with the construct it was recorded on. */
function acknowledgments(root: IConstruct): Acknowledgment[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, unknown>).map(([id, reason]) => ({
          path: construct.node.path,
          // CDK qualifies ids it does not recognise as annotation ids; cdk-nag strips that prefix too.
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

describe('the Handoff app under AwsSolutions and Serverless checks', () => {
  let handoff: HandoffApp;
  let outcome: SynthOutcome;

  beforeAll(() => {
    const built = handoffApp();
    handoff = built.handoff;
    outcome = synthWithNag(handoff.app, built.outdir);
  });

  it('synthesizes with no cdk-nag finding (error or warning)', () => {
    expect(outcome.findings).toEqual([]);
    expect(outcome.error).toBeUndefined();
  });

  it('registers both packs on the app', () => {
    // If the packs were dropped from buildApp, the report above would be trivially empty.
    const injected = handoffApp();
    new sqs.Queue(injected.handoff.stateless, 'UnguardedQueue');
    const plugins = synthWithNag(injected.handoff.app, injected.outdir).findings.map((f) => f.plugin);
    expect(new Set(plugins)).toEqual(new Set(['AwsSolutions', 'Serverless']));
  });

  describe('acknowledgments', () => {
    let acks: Acknowledgment[];
    const handlers = readdirSync(new URL('../../lambdas/handlers/', import.meta.url)).map((file) =>
      file.replace(/\.ts$/, ''),
    );

    beforeAll(() => {
      acks = acknowledgments(handoff.app);
    });

    it('exist, and only for rules of the two packs', () => {
      expect(acks.length).toBeGreaterThan(0);
      for (const ack of acks) {
        expect(ack.id, ack.path).toMatch(/^(AwsSolutions|Serverless)-[A-Za-z0-9]+(\[[^\]]+\])?$/);
      }
    });

    it('each carries a reason of at least 40 characters that names something specific', () => {
      // Specific: an IAM action (`xray:PutTraceSegments`), a construct of this app (`ErpIngressDlq`), or a
      // handler (`check-credit`). "Not needed" or "internal only" names nothing and fails.
      const constructIds = new Set(
        handoff.app.node
          .findAll()
          .map((c) => c.node.id)
          .filter((id) => /^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+$/.test(id)),
      );
      const specifics = (reason: string) => [
        ...(reason.match(/\b[a-z0-9-]+:[A-Z][A-Za-z0-9]+\b/g) ?? []),
        ...[...constructIds].filter((id) => new RegExp(`\\b${id}\\b`).test(reason)),
        ...handlers.filter((handler) => new RegExp(`\\b${handler}\\b`).test(reason)),
      ];
      const weak = acks
        .filter(
          ({ reason }) =>
            typeof reason !== 'string' || reason.trim().length < 40 || specifics(reason).length === 0,
        )
        .map(({ path, id, reason }) => `${path} ${id}: ${JSON.stringify(reason)}`);
      expect(weak).toEqual([]);
    });

    it('each suppresses a finding cdk-nag would otherwise report there (stale ones are listed)', () => {
      // Rebuild the app with acknowledge() recording nothing, and see what cdk-nag then reports.
      const spy = vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => undefined);
      let bare: { handoff: HandoffApp; outdir: string };
      try {
        bare = handoffApp();
      } finally {
        spy.mockRestore();
      }
      const unacknowledged = synthWithNag(bare.handoff.app, bare.outdir);
      expect(unacknowledged.error?.message).toContain('AwsSolutions-');
      const suppresses = (ack: Acknowledgment) =>
        unacknowledged.findings.some(
          (f) => f.rule === ack.id && (f.path === ack.path || f.path.startsWith(`${ack.path}/`)),
        );
      const stale = acks
        .filter((ack) => !suppresses(ack))
        .map((ack) => `${ack.path} ${ack.id}`)
        .sort();
      expect(stale).toEqual([]);
    });
  });
});

describe('the check fails when a violation is introduced', () => {
  it('a scratch stack with the same packs: a queue without enforceSSL is reported and synth fails', () => {
    const { app, outdir } = scratchApp();
    const outcome = synthWithNag(app, outdir);
    expect(outcome.findings).toContainEqual({
      plugin: 'AwsSolutions',
      rule: 'AwsSolutions-SQS4',
      severity: 'error',
      path: 'NagScratch/PlainQueue/Resource',
    });
    expect(outcome.error?.message).toContain('AwsSolutions-SQS4');
  });

  it('the Handoff app itself: an action wildcard on a function role is reported despite its acknowledgments', () => {
    const { handoff, outdir } = handoffApp();
    const checkCredit = handoff.stateless.functions.checkCredit;
    if (!checkCredit) throw new Error('the stateless stack has no checkCredit function');
    checkCredit.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:*'],
        resources: [handoff.stateful.ordersTable.tableArn],
      }),
    );
    const outcome = synthWithNag(handoff.app, outdir);
    expect(outcome.findings).toContainEqual({
      plugin: 'AwsSolutions',
      rule: 'AwsSolutions-IAM5[Action::dynamodb:*]',
      severity: 'error',
      path: 'Handoff-dev-Stateless/CheckCredit/Role/DefaultPolicy/Resource',
    });
    expect(outcome.error).toBeDefined();
  });

  it('Annotations would not see it: cdk-nag 3 reports only through the validation report', () => {
    // With failing synth turned off, the same violation leaves no error annotation behind, so a test built
    // on Annotations.findError would pass on a non-compliant app.
    const { stack, outdir, app } = scratchApp({ [FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT]: false });
    const outcome = synthWithNag(app, outdir);
    expect(outcome.findings.map((f) => f.rule)).toContain('AwsSolutions-SQS4');
    expect(
      Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-|Serverless-')),
    ).toEqual([]);
  });
});
