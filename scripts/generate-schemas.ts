/**
 * Writes the published JSON Schemas of the canonical contracts to contracts/schemas/.
 * `--check` fails (exit 1) when the committed files differ from what the definitions produce.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { publishedSchemas } from '../contracts/json-schema.ts';

const dir = fileURLToPath(new URL('../contracts/schemas/', import.meta.url));
const check = process.argv.includes('--check');
const wanted = Object.entries(publishedSchemas()).map(([file, doc]) => [
  file,
  `${JSON.stringify(doc, null, 2)}\n`,
]);

mkdirSync(dir, { recursive: true });
const stale: string[] = [];
for (const [file, text] of wanted) {
  const path = `${dir}${file}`;
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === text) continue;
  stale.push(file as string);
  if (!check) writeFileSync(path, text as string);
}
const extra = readdirSync(dir).filter((f) => !wanted.some(([file]) => file === f));

if (check && (stale.length > 0 || extra.length > 0)) {
  console.error(
    `contracts/schemas is out of date (stale: ${stale.join(', ') || 'none'}; unexpected: ${extra.join(', ') || 'none'}). Run: npm run schemas`,
  );
  process.exit(1);
}
console.log(
  check
    ? `contracts/schemas: ${wanted.length} schemas up to date`
    : `contracts/schemas: wrote ${stale.length} of ${wanted.length} schemas`,
);
