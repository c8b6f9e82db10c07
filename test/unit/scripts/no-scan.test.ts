import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../lib/paths.ts';

/**
 * No production code reads a whole table: every operator path and detector reads by key or by index (the
 * no-scan e2e test watches them do it). This guard keeps a Scan from coming back in: the SDK's Scan command
 * or paginator, a command looked up by the name `Scan`, or a Step Functions DynamoDB `scan` integration.
 */
const PRODUCTION = ['lambdas', 'cli', 'statemachines'];
/** Files allowed to scan, each with the reason. None: a new entry needs a reason a reviewer accepts. */
const ALLOWED: readonly string[] = [];
const SCAN = /\bScanCommand\b|\bpaginateScan\b|["'`]Scan["'`]|dynamodb:scan\b/i;

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourcesUnder(path);
    return /\.(ts|mts|js|mjs|json)$/.test(entry.name) ? [path] : [];
  });
}

const sources = PRODUCTION.flatMap((dir) => sourcesUnder(join(repoRoot, dir)));

describe('no full-table Scan in production source', () => {
  it('recognises every form a Scan can take, and not the Query option ScanIndexForward', () => {
    for (const line of [
      "import { ScanCommand } from '@aws-sdk/lib-dynamodb';",
      'for await (const page of paginateScan({ client }, { TableName })) {}',
      "const Command = commands['Scan'];",
      '"Resource": "arn:aws:states:::aws-sdk:dynamodb:scan"',
    ]) {
      expect(line).toMatch(SCAN);
    }
    expect('ScanIndexForward: false,').not.toMatch(SCAN);
  });

  it('finds no Scan in lambdas/, cli/ or statemachines/', () => {
    expect(sources.length).toBeGreaterThan(50);
    const offending = sources
      .map((path) => relative(repoRoot, path))
      .filter((path) => !ALLOWED.includes(path))
      .flatMap((path) =>
        readFileSync(join(repoRoot, path), 'utf8')
          .split('\n')
          .flatMap((line, i) => (SCAN.test(line) ? [`${path}:${i + 1}: ${line.trim()}`] : [])),
      );
    expect(offending).toEqual([]);
    expect(ALLOWED).toEqual([]);
  });
});
