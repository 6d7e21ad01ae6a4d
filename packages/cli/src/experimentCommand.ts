import { z } from 'zod';
import { modelArg, need, type CliOptions } from './cliArgs.js';
import { UsageError } from './cliErrors.js';
import { formatTable } from './formatTable.js';
import type { ServiceCall } from './serviceClient.js';

/** What the experiment commands need: the ab-router's admin API (ABROUTER_URL + ADMIN_TOKEN). */
export interface ExperimentDeps {
  abRouter: ServiceCall;
  print: (line: string) => void;
}

const STATES = ['running', 'promoted', 'rejected', 'halted', 'stopped'] as const;
const Arm = z.object({ n: z.number(), successes: z.number() });
// The fields of the ab-router's experiment view the CLI shows; the rest passes through untouched.
const Experiment = z.object({
  id: z.string(), model: z.string(), state: z.string(), championVersion: z.string(), challengerVersion: z.string(),
  splitBps: z.number(), startedAt: z.string(), decidedAt: z.string().nullable().optional(),
  totals: z.object({ champion: Arm, challenger: Arm }).passthrough(),
  srm: z.object({ halt: z.boolean(), pValue: z.number() }).passthrough(),
  preview: z.object({ decision: z.string(), reasons: z.array(z.object({ message: z.string() }).passthrough()) }).passthrough(),
}).passthrough();
type Experiment = z.infer<typeof Experiment>;
const Evaluation = z.object({ action: z.string(), experiment: Experiment });
const Rollback = z.object({ version: z.string(), from: z.string() });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const idArg = (v: string | undefined): string => {
  const id = need(v, 'EXPERIMENT_ID');
  if (!UUID.test(id)) throw new UsageError(`"${id}" is not an experiment id (a UUID); list them with: flywheel experiments MODEL`);
  return id;
};
const noMoreArgs = (args: readonly string[], n: number): void => {
  if (args.length > n) throw new UsageError(`unexpected argument "${args[n]}"`);
};
const rate = (a: { n: number; successes: number }): string => `${a.successes}/${a.n}${a.n > 0 ? ` (${((100 * a.successes) / a.n).toFixed(1)}%)` : ''}`;
const enc = encodeURIComponent;

const describe = (e: Experiment): string[] => [
  `experiment  ${e.id} (${e.model}): ${e.state}${e.decidedAt ? ` at ${e.decidedAt}` : ''}`,
  `arms        champion ${e.championVersion} ${rate(e.totals.champion)}, challenger ${e.challengerVersion} ${rate(e.totals.challenger)} correct; ${(e.splitBps / 100).toFixed(1)}% to the challenger`,
  `test        ${e.preview.decision}${e.preview.reasons.length > 0 ? `: ${e.preview.reasons.map((r) => r.message).join('; ')}` : ''}`,
  `split check ${e.srm.halt ? 'sample ratio mismatch' : 'ok'} (p=${e.srm.pValue.toExponential(2)})`,
];

/**
 * `flywheel experiments [MODEL] [--state S]` and `flywheel experiment show|evaluate|promote|stop|rollback …`:
 * the ab-router's admin API from the command line.
 */
export const experimentCommand = async (d: ExperimentDeps, command: string, args: readonly string[], o: Pick<CliOptions, 'reason' | 'state'>): Promise<void> => {
  const admin = { admin: true } as const;
  if (command === 'experiments') {
    noMoreArgs(args, 1);
    const model = args[0] === undefined ? undefined : modelArg(args[0]);
    if (o.state !== undefined && !(STATES as readonly string[]).includes(o.state)) throw new UsageError(`--state must be one of ${STATES.join(', ')}, not "${o.state}"`);
    const query = new URLSearchParams({ ...(model ? { model } : {}), ...(o.state ? { state: o.state } : {}) }).toString();
    const { experiments } = z.object({ experiments: z.array(Experiment) }).parse(await d.abRouter('GET', `/admin/experiments${query ? `?${query}` : ''}`, admin));
    d.print(formatTable(['id', 'model', 'state', 'champion', 'challenger', 'split', 'champion correct', 'challenger correct', 'test', 'started'], experiments.map((e) => [
      e.id, e.model, e.state, e.championVersion, e.challengerVersion, `${(e.splitBps / 100).toFixed(1)}%`, rate(e.totals.champion), rate(e.totals.challenger), e.preview.decision, e.startedAt,
    ])));
    return;
  }
  const [sub, target, ...rest] = args;
  noMoreArgs(rest, 0);
  switch (sub) {
    case 'show':
      for (const l of describe(Experiment.parse(await d.abRouter('GET', `/admin/experiments/${enc(idArg(target))}`, admin)))) d.print(l);
      return;
    case 'evaluate': {
      const r = Evaluation.parse(await d.abRouter('POST', `/admin/experiments/${enc(idArg(target))}/evaluate`, admin));
      d.print(`evaluated: ${r.action}`);
      for (const l of describe(r.experiment)) d.print(l);
      return;
    }
    case 'promote':
    case 'stop': {
      const id = idArg(target);
      const e = Experiment.omit({ totals: true, srm: true, preview: true }).parse(
        await d.abRouter('POST', `/admin/experiments/${enc(id)}/${sub}`, { ...admin, body: { reason: need(o.reason, '--reason TEXT') } }));
      d.print(sub === 'promote' ? `${e.model}@${e.challengerVersion} promoted (experiment ${e.id} is ${e.state})` : `experiment ${e.id} is ${e.state}; ${e.model} serves ${e.championVersion} to everyone`);
      return;
    }
    case 'rollback': {
      const model = modelArg(target);
      const r = Rollback.parse(await d.abRouter('POST', `/admin/models/${enc(model)}/rollback`, { ...admin, body: { reason: need(o.reason, '--reason TEXT') } }));
      d.print(`${model}: ${r.version} is champion again; ${r.from} rolled_back`);
      return;
    }
    case undefined:
    default:
      throw new UsageError(sub === undefined ? 'missing what to do: flywheel experiment show|evaluate|promote|stop ID, or experiment rollback MODEL' : `unknown experiment command "${sub}"`);
  }
};
