#!/usr/bin/env node
// The `handoff` operator CLI (package bin). The CLI is TypeScript, run through tsx.
import { register } from 'tsx/esm/api';

register();
const { run } = await import('../cli/main.ts');
const colour = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
process.exitCode = await run(process.argv.slice(2), {
  out: { write: (text) => process.stdout.write(`${text}\n`), colour, now: () => new Date() },
  err: (text) => process.stderr.write(`${text}\n`),
});
