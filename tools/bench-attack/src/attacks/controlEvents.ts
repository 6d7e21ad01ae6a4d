import { randomUUID } from 'node:crypto';
import { FLYWHEEL_SOURCES, topics } from '@flywheel/contracts';
import type { AttackResult } from '../report.js';
import { eventually } from '../waitFor.js';
import { servedState, servingView, type AttackContext } from './context.js';

/** How long a forged control event may take to show up in a dead-letter topic. */
const DLQ_TIMEOUT_MS = 60_000;
/** Once one consumer group refused an event, how long the others get to refuse it too (the same set of groups as the other events on its topic). */
const SETTLE_TIMEOUT_MS = 20_000;

interface Forged {
  attack: string;
  topic: string;
  id: string;
  value: string;
  /** Which observation would mean it worked. */
  effect: 'retraining' | 'routing';
}

const envelope = (o: { id: string; source: string; type: string; model: string; data: unknown }): string => JSON.stringify({
  specversion: '1.0', id: o.id, source: o.source, type: o.type, time: new Date().toISOString(), subject: o.model,
  datacontenttype: 'application/json', schemaversion: 1, data: o.data,
});

/**
 * Control events an outside producer writes on the bus: a retraining trigger from a stranger, one
 * from a forged owner with fencing token 2^53−1, and a routing change with a huge revision. Each
 * must be dead-lettered and change nothing: no trigger recorded, no training job, the routing
 * revision and the served versions as they were.
 */
export const controlEvents = async (c: AttackContext): Promise<AttackResult[]> => {
  const { stack, model, champion, challenger } = c.world;
  const triggers = `${stack.topicPrefix}${topics.retrainingTriggers.name}`;
  const updates = `${stack.topicPrefix}${topics.modelUpdates.name}`;
  const triggerType = topics.retrainingTriggers.schema.shape.type.value;
  const trigger = (fencingToken: number) => ({ reason: 'manual', details: { forged: true }, requestedBy: 'bench-attack', fencingToken });
  const forged: Forged[] = [
    { attack: 'retraining trigger from /evil', topic: triggers, id: randomUUID(), effect: 'retraining', value: '' },
    { attack: 'retraining trigger with fencing token 2^53−1', topic: triggers, id: randomUUID(), effect: 'retraining', value: '' },
    { attack: 'routing_changed with revision 2^53−1', topic: updates, id: randomUUID(), effect: 'routing', value: '' },
  ];
  const [evil, maxToken, routing] = forged as [Forged, Forged, Forged];
  evil.value = envelope({ id: evil.id, source: '/evil', type: triggerType, model, data: trigger(Date.now()) });
  maxToken.value = envelope({ id: maxToken.id, source: FLYWHEEL_SOURCES.aggregator, type: triggerType, model, data: trigger(Number.MAX_SAFE_INTEGER) });
  routing.value = envelope({
    id: routing.id, source: FLYWHEEL_SOURCES.abRouter, type: topics.modelUpdates.schema.shape.type.value, model,
    data: { action: 'routing_changed', routing: { champion: challenger, challenger: champion, challengerShareBps: 10_000, salt: 'bench-attack', revision: Number.MAX_SAFE_INTEGER } },
  });

  const before = { marks: await c.probe.retrainingMarks(model), revision: await c.probe.routingRevision(model), served: servedState(await servingView(c)) };
  c.log('forged control events on Kafka…');
  for (const f of forged) await c.kafka.produce(f.topic, model, f.value);

  const groupsOf = (id: string): Set<string> => new Set(c.kafka.deadLetters().filter((d) => d.eventId === id).map((d) => d.group));
  const dead = new Map<string, boolean>();
  for (const f of forged) dead.set(f.id, await eventually(async () => groupsOf(f.id).size > 0, DLQ_TIMEOUT_MS));
  // Every group that consumes a topic refuses on its own: wait until each event was refused by all the groups seen refusing any event of its topic.
  await eventually(async () => forged.every((f) => {
    const all = new Set(forged.filter((g) => g.topic === f.topic).flatMap((g) => [...groupsOf(g.id)]));
    return [...all].every((g) => groupsOf(f.id).has(g));
  }), SETTLE_TIMEOUT_MS);

  const after = { marks: await c.probe.retrainingMarks(model), revision: await c.probe.routingRevision(model), served: servedState(await servingView(c)) };
  const retrainingChanged = after.marks.triggers !== before.marks.triggers || after.marks.jobs !== before.marks.jobs
    ? `retraining marks ${JSON.stringify(before.marks)} → ${JSON.stringify(after.marks)}` : undefined;
  const routingChanged = after.revision !== before.revision || after.served !== before.served
    ? `routing revision ${before.revision} → ${after.revision}, serving ${before.served} → ${after.served}` : undefined;
  return forged.map((f) => {
    const change = f.effect === 'retraining' ? retrainingChanged : routingChanged;
    const groups = [...groupsOf(f.id)].sort();
    const reason = c.kafka.deadLetters().find((d) => d.eventId === f.id)?.reason ?? '';
    return {
      attack: f.attack, sent: 1,
      observed: `${dead.get(f.id) ? `dead-lettered by ${groups.join(', ')} (${reason.slice(0, 80)})` : `NOT dead-lettered within ${DLQ_TIMEOUT_MS / 1000} s`}; ${change ? `CHANGED: ${change}` : f.effect === 'retraining' ? 'no trigger, no job' : `routing revision ${after.revision}, served versions unchanged`}`,
      succeeded: dead.get(f.id) !== true || change !== undefined,
    };
  });
};
