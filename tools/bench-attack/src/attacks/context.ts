import { z } from 'zod';
import type { AttackWorld } from '../attackWorld.js';
import { send } from '../http.js';
import type { RawKafka } from '../rawKafka.js';
import type { StoreProbe } from '../storeProbe.js';

/** What every attack gets: the world under attack, its tables, raw Kafka, a progress line. */
export interface AttackContext {
  world: AttackWorld;
  probe: StoreProbe;
  kafka: RawKafka;
  log: (line: string) => void;
}

const ServingView = z.object({
  champion: z.object({ version: z.string(), labels: z.array(z.string()) }).optional(),
  challenger: z.object({ version: z.string() }).optional(),
  routing: z.object({ revision: z.number() }).passthrough().optional(),
}).passthrough();
export type ServingView = z.infer<typeof ServingView>;

/** What serving answers right now for the model, as an admin sees it (champion, challenger, routing revision). */
export const servingView = async (c: AttackContext): Promise<ServingView | undefined> => {
  const { stack, model } = c.world;
  if (!stack.services.includes('serving')) return undefined;
  const r = await send(`${stack.url('serving')}/v1/models/${model}`, { key: stack.adminToken });
  if (r.status !== 200) throw new Error(`serving answered ${r.status} for ${model}'s view: ${r.text.slice(0, 300)}`);
  return ServingView.parse(JSON.parse(r.text));
};

/** A one-line description of the served state, to compare before and after an attack. */
export const servedState = (v: ServingView | undefined): string =>
  v === undefined ? 'serving not running' : `champion ${v.champion?.version ?? '-'} [${(v.champion?.labels ?? []).join(',')}], challenger ${v.challenger?.version ?? '-'}, routing rev ${v.routing?.revision ?? '-'}`;

/** Texts of the bench corpus's vocabulary, for predictions. */
export const someText = (i: number): string => `compact headphones classic speaker no ${i}`;
