import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EVENT_CATALOGUE, EVENT_NAMES, EVENT_SOURCES, SCHEMA_VERSION } from '../../../contracts/events.ts';
import { publishedSchemas } from '../../../contracts/json-schema.ts';

const SCHEMAS_DIR = new URL('../../../contracts/schemas/', import.meta.url);
const ENVELOPE_FIELDS = ['schemaVersion', 'orderId', 'correlationId', 'idempotencyKey', 'occurredAt'];

interface ObjectSchema {
  $id: string;
  $schema: string;
  title: string;
  description: string;
  type: string;
  properties: Record<string, unknown>;
  required: string[];
  additionalProperties: boolean;
  'x-eventbridge'?: { source: string; 'detail-type': string };
}

interface IndexDocument {
  schemaVersion: number;
  sources: Record<string, string>;
  events: { name: string; source: string; detailType: string; schema: string; description: string }[];
}

const schemas = publishedSchemas();

function schemaFile(file: string): ObjectSchema {
  const doc = schemas[file];
  if (!doc) throw new Error(`publishedSchemas() has no ${file}`);
  return doc as ObjectSchema;
}

/** Exactly what `npm run schemas` writes for a document. */
function serialised(doc: object): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

describe('published JSON schemas', () => {
  it('publish one file per event, the canonical order and an index, and nothing else', () => {
    const expected = [
      ...EVENT_NAMES.map((name) => `${name}.v${SCHEMA_VERSION}.json`),
      'canonical-order.v1.json',
      'index.json',
    ];
    expect(Object.keys(schemas).sort()).toEqual(expected.sort());
  });

  describe.each(EVENT_NAMES)('%s', (name) => {
    const definition = EVENT_CATALOGUE[name];
    const schema = schemaFile(`${definition.detailType}.json`);

    it('names its EventBridge source and detail-type', () => {
      expect(schema['x-eventbridge']).toEqual({ source: definition.source, 'detail-type': `${name}.v1` });
    });

    it('requires every envelope field', () => {
      expect(schema.required).toEqual(expect.arrayContaining(ENVELOPE_FIELDS));
      expect(schema.properties.schemaVersion).toEqual({ type: 'number', const: SCHEMA_VERSION });
    });

    it('is a closed draft 2020-12 object schema with a stable $id', () => {
      expect(schema.type).toBe('object');
      expect(schema.additionalProperties).toBe(false);
      expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schema.$id).toBe(`https://schemas.handoff.dev/events/${name}.v1.json`);
      expect(schema.title).toBe(`${name}.v1`);
      expect(schema.description).toBe(definition.description);
    });

    it('describes every field of the contract and requires exactly its mandatory ones', () => {
      const shape = definition.detail.def.shape as Record<string, { _zod: { optin?: string } }>;
      expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(shape).sort());
      const mandatory = Object.entries(shape)
        .filter(([, field]) => field._zod.optin !== 'optional')
        .map(([key]) => key);
      expect([...schema.required].sort()).toEqual(mandatory.sort());
    });
  });

  it('publish the canonical order as a closed schema with its required fields', () => {
    const order = schemaFile('canonical-order.v1.json');
    expect(order.$id).toBe('https://schemas.handoff.dev/events/canonical-order.v1.json');
    expect(order.additionalProperties).toBe(false);
    expect(order.required).toEqual(
      expect.arrayContaining([
        'orderId',
        'customer',
        'shipTo',
        'currency',
        'orderedAt',
        'promiseDate',
        'lines',
      ]),
    );
    expect(order.required).not.toContain('customerPo');
    expect(order.properties.lines).toMatchObject({ type: 'array', minItems: 1, maxItems: 500 });
  });

  it('embed the canonical order schema in order.received', () => {
    const received = schemaFile('order.received.v1.json');
    const {
      $id: _id,
      title: _title,
      description: _description,
      $schema: _schema,
      ...orderBody
    } = schemaFile('canonical-order.v1.json');
    expect(received.properties.order).toEqual(orderBody);
  });

  it('index every event with its source, detail-type and schema file', () => {
    const index = schemas['index.json'] as IndexDocument;
    expect(index.schemaVersion).toBe(SCHEMA_VERSION);
    expect(index.sources).toEqual(EVENT_SOURCES);
    expect(index.events.map((e) => e.name)).toEqual(EVENT_NAMES);
    for (const entry of index.events) {
      const definition = EVENT_CATALOGUE[entry.name as keyof typeof EVENT_CATALOGUE];
      expect(entry).toEqual({
        name: definition.name,
        source: definition.source,
        detailType: definition.detailType,
        schema: `${definition.detailType}.json`,
        description: definition.description,
      });
      expect(schemas[entry.schema]).toBeDefined();
    }
  });

  describe('committed copies in contracts/schemas', () => {
    it('are exactly the files the contracts produce (run `npm run schemas` after a contract change)', () => {
      const committed = readdirSync(SCHEMAS_DIR).sort();
      expect(committed).toEqual(Object.keys(schemas).sort());
    });

    it.each(Object.keys(schemas))('%s matches its contract byte for byte', (file) => {
      const onDisk = readFileSync(new URL(file, SCHEMAS_DIR), 'utf8');
      expect(onDisk).toBe(serialised(schemaFile(file)));
    });
  });
});
