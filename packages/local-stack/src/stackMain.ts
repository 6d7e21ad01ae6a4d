#!/usr/bin/env node
// The operator stack's composition root (run by scripts/stack.sh, which first runs setup and brings
// the platform up): `up`, `down` or `status` of the six services as detached processes.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { stackDown, stackStatus, stackUp, type BootstrapRequest } from './operatorStack.js';
import { findRepoRoot } from './platformEnv.js';

/** The full usage is scripts/stack.sh's --help; errors point there. */
const STACK_USAGE = 'usage: bash scripts/stack.sh up|down|status [up options]; see: bash scripts/stack.sh --help';

const Options = z.object({
  data: z.string().min(1).optional(),
  model: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes, starting with a letter').optional(),
  format: z.enum(['csv', 'jsonl']).optional(),
  'no-header': z.boolean().optional(),
  'text-column': z.string().min(1).optional(),
  'label-column': z.string().min(1).optional(),
  'label-depth': z.string().regex(/^[1-9]\d*$/, 'a positive integer').optional(),
  epochs: z.string().regex(/^[1-9]\d*$/, 'a positive integer').optional(),
  help: z.boolean().optional(),
});

const fail = (message: string, code = 2): never => {
  console.error(`error: ${message}`);
  process.exit(code);
};

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        data: { type: 'string' }, model: { type: 'string' }, format: { type: 'string' }, 'no-header': { type: 'boolean' },
        'text-column': { type: 'string' }, 'label-column': { type: 'string' }, 'label-depth': { type: 'string' }, epochs: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    return fail(`${err instanceof Error ? err.message : String(err)}\n\n${STACK_USAGE}`);
  }
})();
if (values.help) {
  console.log(STACK_USAGE);
  process.exit(0);
}
const parsed = Options.safeParse(values);
if (!parsed.success) fail(`invalid options: ${parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ')}\n\n${STACK_USAGE}`);
const o = parsed.data ?? {};
const [command, ...extra] = positionals;
if (extra.length > 0) fail(`unexpected arguments: ${extra.join(' ')}\n\n${STACK_USAGE}`);
const bootstrapOnly = ['model', 'format', 'no-header', 'text-column', 'label-column', 'label-depth', 'epochs'] as const;
if (command !== 'up' && (o.data !== undefined || bootstrapOnly.some((k) => o[k] !== undefined))) fail(`--data and the bootstrap options go with 'up'\n\n${STACK_USAGE}`);
if (o.data === undefined && bootstrapOnly.some((k) => o[k] !== undefined)) fail(`the bootstrap options need --data FILE\n\n${STACK_USAGE}`);

const bootstrap: BootstrapRequest | undefined = o.data === undefined ? undefined : {
  data: o.data,
  model: o.model,
  options: [
    ...(o.format ? ['--format', o.format] : []), ...(o['no-header'] ? ['--no-header'] : []),
    ...(o['text-column'] ? ['--text-column', o['text-column']] : []), ...(o['label-column'] ? ['--label-column', o['label-column']] : []),
    ...(o['label-depth'] ? ['--label-depth', o['label-depth']] : []), ...(o.epochs ? ['--epochs', o.epochs] : []),
  ],
};

const deps = { root: findRepoRoot(), env: process.env, print: (line: string) => console.log(line) };
try {
  switch (command) {
    case 'up': await stackUp(deps, bootstrap); break;
    case 'down': await stackDown(deps); break;
    case 'status': process.exitCode = (await stackStatus(deps)) ? 0 : 1; break;
    case undefined: fail(`no command\n\n${STACK_USAGE}`); break;
    default: fail(`unknown command "${command}"\n\n${STACK_USAGE}`);
  }
} catch (err) {
  console.error(`\nerror: ${err instanceof Error ? err.message : String(err)}`);
  if (command === 'up') console.error(`what to do: fix the cause above and run 'bash scripts/stack.sh up' again (services already up are kept), or stop everything with 'bash scripts/stack.sh down'`);
  process.exitCode = 1;
}
