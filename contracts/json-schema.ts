import * as z from 'zod/mini';
import { EVENT_CATALOGUE, EVENT_SOURCES, type EventName, SCHEMA_VERSION } from './events.ts';
import { CanonicalOrder } from './order.ts';

const SCHEMA_ID_BASE = 'https://schemas.handoff.dev/events';

function toSchema(schema: z.ZodMiniType, id: string, title: string, description: string) {
  return {
    $id: `${SCHEMA_ID_BASE}/${id}.json`,
    title,
    description,
    // Refinements (unique line numbers, 4-decimal money) are enforced at runtime; JSON Schema cannot say them.
    ...z.toJSONSchema(schema, { target: 'draft-2020-12', unrepresentable: 'any', io: 'input' }),
  };
}

/** The JSON Schema documents Handoff publishes, keyed by file name. One definition feeds all of them. */
export function publishedSchemas(): Record<string, object> {
  const files: Record<string, object> = {
    [`canonical-order.v${SCHEMA_VERSION}.json`]: toSchema(
      CanonicalOrder,
      `canonical-order.v${SCHEMA_VERSION}`,
      'Canonical order',
      'The order as every Handoff path sees it, whatever system it came from.',
    ),
  };
  for (const name of Object.keys(EVENT_CATALOGUE) as EventName[]) {
    const definition = EVENT_CATALOGUE[name];
    const detail = toSchema(
      definition.detail,
      definition.detailType,
      definition.detailType,
      definition.description,
    );
    files[`${definition.detailType}.json`] = {
      ...detail,
      'x-eventbridge': { source: definition.source, 'detail-type': definition.detailType },
    };
  }
  files['index.json'] = {
    schemaVersion: SCHEMA_VERSION,
    sources: EVENT_SOURCES,
    events: Object.values(EVENT_CATALOGUE).map((d) => ({
      name: d.name,
      source: d.source,
      detailType: d.detailType,
      schema: `${d.detailType}.json`,
      description: d.description,
    })),
  };
  return files;
}
