import { fileURLToPath } from 'node:url';

/** Files the stacks load, resolved from this module rather than the working directory. */
export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const handlerEntry = (name: string) =>
  fileURLToPath(new URL(`../lambdas/handlers/${name}.ts`, import.meta.url));
export const stateMachineFile = (path: string) =>
  fileURLToPath(new URL(`../statemachines/${path}.asl.json`, import.meta.url));
export const lockFile = fileURLToPath(new URL('../package-lock.json', import.meta.url));
