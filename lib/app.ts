import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { DEFAULT_SLA_POLICY, parseSlaPolicy, type SlaPolicy } from '../lambdas/core/sla.ts';
import { DEFAULT_EDI_INTERCHANGE_ID, DEFAULT_EDI_TRADING_PARTNERS } from './edi-trading-partners.ts';
import { StatefulStack } from './stateful-stack.ts';
import { type PartnerEndpoints, StatelessStack } from './stateless-stack.ts';

const PARTNERS = ['erp', 'wms', 'tms', 'crm', 'finance', 'edi', 'vendor'] as const;

/** Where the local cloud's partner sandboxes listen; a real deployment passes its own with `-c`. */
export const LOCAL_PARTNERS: PartnerEndpoints = partnerEndpoints(
  (partner) => `http://127.0.0.1:4610/${partner}`,
);

function partnerEndpoints(url: (partner: (typeof PARTNERS)[number]) => string): PartnerEndpoints {
  return Object.fromEntries(PARTNERS.map((p) => [`${p}BaseUrl`, url(p)])) as unknown as PartnerEndpoints;
}

export interface HandoffApp {
  readonly app: App;
  readonly stateful: StatefulStack;
  readonly stateless: StatelessStack;
}

/** Builds the Handoff app: a stateful and a stateless stack, checked by the cdk-nag packs on synth. */
export function buildApp(app: App = new App()): HandoffApp {
  const stage = String(app.node.tryGetContext('handoff:stage') ?? 'dev');
  // `handoff:partnersBaseUrl` puts every partner under one base (`<base>/erp`, …, as the local sandboxes
  // are); `handoff:<partner>BaseUrl` sets one partner.
  const base = app.node.tryGetContext('handoff:partnersBaseUrl') as string | undefined;
  const partners = partnerEndpoints((partner) =>
    String(
      app.node.tryGetContext(`handoff:${partner}BaseUrl`) ??
        (base ? `${base.replace(/\/+$/, '')}/${partner}` : LOCAL_PARTNERS[`${partner}BaseUrl`]),
    ),
  );
  // Tables with a customer-managed key need a concrete region; without the CLI's default, use AWS_REGION.
  const env = {
    account: process.env.CDK_DEFAULT_ACCOUNT,
    region: process.env.CDK_DEFAULT_REGION ?? process.env.AWS_REGION ?? 'us-east-1',
  };
  const stateful = new StatefulStack(app, `Handoff-${stage}-Stateful`, {
    env,
    description: 'Handoff: fulfilment bus, archive, order/exception/SLA tables, queues and key',
    retainData: stage !== 'dev',
    ...(app.node.tryGetContext('handoff:alertEmail')
      ? { alertEmail: String(app.node.tryGetContext('handoff:alertEmail')) }
      : {}),
  });
  const stateless = new StatelessStack(app, `Handoff-${stage}-Stateless`, {
    env,
    description: 'Handoff: adapters, fulfilment paths, rules and alarms',
    stateful,
    partners,
    edi: {
      interchangeId: String(app.node.tryGetContext('handoff:ediInterchangeId') ?? DEFAULT_EDI_INTERCHANGE_ID),
      tradingPartners: ediTradingPartners(app.node.tryGetContext('handoff:ediTradingPartners')),
    },
    slaPolicy: slaPolicy(app.node.tryGetContext('handoff:slaPolicy')),
    slaDetectorMinutes: periodMinutes(
      'handoff:slaDetectorMinutes',
      app.node.tryGetContext('handoff:slaDetectorMinutes'),
    ),
    deadLetterIntakeMinutes: periodMinutes(
      'handoff:deadLetterIntakeMinutes',
      app.node.tryGetContext('handoff:deadLetterIntakeMinutes'),
    ),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, stateful, stateless };
}

/** `handoff:ediTradingPartners`: a JSON array (or its text, as `-c` passes it); the default otherwise. */
function ediTradingPartners(context: unknown): readonly unknown[] {
  if (context === undefined) return DEFAULT_EDI_TRADING_PARTNERS;
  const value = typeof context === 'string' ? (JSON.parse(context) as unknown) : context;
  if (!Array.isArray(value))
    throw new Error('handoff:ediTradingPartners must be a JSON array of trading partners');
  return value;
}

/**
 * `handoff:slaPolicy`: stage targets, overrides, jeopardy fraction and business calendar (JSON, or its text
 * as `-c` passes it), validated at synth so a bad target fails the deploy, not the first order. Parts left
 * out keep the defaults (lambdas/core/sla.ts).
 */
function slaPolicy(context: unknown): SlaPolicy {
  if (context === undefined) return DEFAULT_SLA_POLICY;
  const value = typeof context === 'string' ? (JSON.parse(context) as unknown) : context;
  try {
    return parseSlaPolicy(value);
  } catch (error) {
    throw new Error(`handoff:slaPolicy: ${(error as Error).message}`);
  }
}

/** `handoff:slaDetectorMinutes`, `handoff:deadLetterIntakeMinutes`: whole minutes from 1 to 60 between runs. */
function periodMinutes(name: string, context: unknown): number {
  if (context === undefined) return 1;
  const minutes = Number(context);
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 60) {
    throw new Error(`${name} must be a whole number of minutes from 1 to 60 (got ${String(context)})`);
  }
  return minutes;
}
