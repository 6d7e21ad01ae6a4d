import { z } from 'zod';
import { NotFound } from '@flywheel/runtime';
import type { PgRegistry } from '@flywheel/registry';
import { ServiceRefused } from './cliErrors.js';
import { requireModel } from './commands.js';
import type { ServiceCall } from './serviceClient.js';

const Accepted = z.object({ triggerId: z.string(), fencingToken: z.number(), feedbackWatermark: z.number() }).passthrough();

/**
 * `flywheel retrain MODEL --reason TEXT`: feedback-ingest's admin trigger. The model is checked in
 * the registry first when one is configured (feedback-ingest accepts any name unless KNOWN_MODELS is set).
 */
export const retrainCommand = async (
  d: { feedback: ServiceCall; registry?: Pick<PgRegistry, 'listModels'> | undefined; actor: string; print: (l: string) => void },
  model: string,
  reason: string,
): Promise<void> => {
  if (d.registry) await requireModel(d.registry, model);
  const body = await d.feedback('POST', `/v1/admin/models/${encodeURIComponent(model)}/retrain`, { admin: true, body: { reason, requestedBy: d.actor.slice(0, 200) } }).catch((err: unknown) => {
    if (err instanceof ServiceRefused && err.status === 404) throw new NotFound(`no model named ${model} (${err.message})`);
    throw err;
  });
  const r = Accepted.parse(body);
  d.print(`retraining of ${model} requested: trigger ${r.triggerId} (fencing token ${r.fencingToken}, feedback up to #${r.feedbackWatermark}); follow it with: flywheel info ${model}`);
};
