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
// A simulation has stopped its local cloud, but handler modules keep SDK clients with pooled sockets (as a
// Lambda process does): exit once the output is flushed rather than wait for them to time out.
if (process.argv[2] === 'simulate') process.stdout.write('', () => process.exit(process.exitCode));
