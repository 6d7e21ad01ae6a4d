import type { Bus, RunningConsumer } from '@flywheel/bus';
import type { DataOf, EventOf } from '@flywheel/contracts';

/** One entry of the report's timeline. */
export interface TimelineEvent {
  /** ms since the scenario started */
  t: number;
  kind: 'trigger' | 'training' | 'model-update' | 'drift' | 'stage';
  title: string;
  detail?: string | undefined;
}

/** A drift report reduced to what the chart shows. */
export interface DriftPoint {
  t: number;
  version: string;
  level: string;
  /** Largest PSI over the window's features (0 when none was measured). */
  psi: number;
  /** accuracy_drop statistic when measured. */
  accuracyDrop: number | undefined;
  triggeredRetraining: boolean;
}

/** What the observer saw on the bus, and ways to wait for it. */
export interface EventObserver {
  readonly timeline: TimelineEvent[];
  readonly drift: DriftPoint[];
  readonly triggers: EventOf<'retrainingTriggers'>[];
  readonly training: EventOf<'trainingStatus'>[];
  readonly updates: EventOf<'modelUpdates'>[];
  /** Adds a stage marker to the timeline. */
  mark(title: string, detail?: string): void;
  /** Resolves with the first model update (after the first `after` ones) (seen so far or later) that matches. */
  waitForUpdate(match: (u: DataOf<'modelUpdates'>) => boolean, o: { after?: number; timeoutMs: number; what: string; onTick?: () => void | Promise<void> }): Promise<DataOf<'modelUpdates'>>;
  /** Waits for a trigger beyond the first `after` ones seen. */
  waitForTrigger(o: { after: number; timeoutMs: number; what: string; onTick?: () => void | Promise<void> }): Promise<EventOf<'retrainingTriggers'>>;
  stop(): Promise<void>;
}

/** Raised when a stage waited too long; the message names the stage and the log to read. */
export class StageTimeout extends Error {
  constructor(message: string, readonly service: string) {
    super(message);
    this.name = 'StageTimeout';
  }
}

const maxPsi = (d: DataOf<'driftReports'>): number =>
  d.measurements.filter((m) => m.test === 'psi').reduce((a, m) => Math.max(a, m.statistic), 0);

/**
 * Follows the model's control-plane topics (triggers, training status, model updates, drift
 * reports) through the bus, for the timeline, the drift chart and the stage waits.
 */
export const startEventObserver = async (deps: { bus: Bus; model: string; t0: number; group: string }): Promise<EventObserver> => {
  const timeline: TimelineEvent[] = [];
  const drift: DriftPoint[] = [];
  const triggers: EventOf<'retrainingTriggers'>[] = [];
  const training: EventOf<'trainingStatus'>[] = [];
  const updates: EventOf<'modelUpdates'>[] = [];
  const at = (): number => Date.now() - deps.t0;
  const ours = (e: { subject: string }): boolean => e.subject === deps.model;
  let lastTrainingState = '';

  const consumer: RunningConsumer = await deps.bus.consume(deps.group, {
    retrainingTriggers: async (e) => {
      if (!ours(e)) return;
      triggers.push(e);
      const details = Object.entries(e.data.details).map(([k, v]) => `${k}=${String(v)}`).join(', ');
      timeline.push({ t: at(), kind: 'trigger', title: `retraining triggered (${e.data.reason}) by ${e.data.requestedBy}`, detail: details });
    },
    trainingStatus: async (e) => {
      if (!ours(e)) return;
      training.push(e);
      const key = `${e.data.state}:${e.data.stage ?? ''}`;
      if (key === lastTrainingState) return; // progress ticks of the same stage stay off the timeline
      lastTrainingState = key;
      timeline.push({ t: at(), kind: 'training', title: `training ${e.data.state}${e.data.stage ? ` (${e.data.stage})` : ''}`, detail: e.data.reason ?? (e.data.version ? `version ${e.data.version}` : undefined) });
    },
    modelUpdates: async (e) => {
      if (!ours(e)) return;
      updates.push(e);
      const d = e.data;
      if (d.action === 'routing_changed') return;
      timeline.push({ t: at(), kind: 'model-update', title: `${d.action.replace('_', ' ')} ${'version' in d ? d.version : ''}`.trim(), detail: 'reason' in d ? d.reason : undefined });
    },
    driftReports: async (e) => {
      if (!ours(e)) return;
      const d = e.data;
      const acc = d.measurements.find((m) => m.test === 'accuracy_drop');
      drift.push({ t: at(), version: d.modelVersion, level: d.level, psi: maxPsi(d), accuracyDrop: acc?.statistic, triggeredRetraining: d.triggeredRetraining });
      if (d.level !== 'none') timeline.push({ t: at(), kind: 'drift', title: `drift ${d.level} on ${d.modelVersion}`, detail: d.triggeredRetraining ? 'fired a retraining trigger' : undefined });
    },
  });

  const waitUntil = async <T>(get: () => T | undefined, o: { timeoutMs: number; what: string; service: string; onTick?: () => void | Promise<void> }): Promise<T> => {
    const deadline = Date.now() + o.timeoutMs;
    for (;;) {
      const v = get();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new StageTimeout(`timed out after ${Math.round(o.timeoutMs / 1000)} s waiting for ${o.what}`, o.service);
      if (o.onTick) await o.onTick();
      else await new Promise((r) => setTimeout(r, 200));
    }
  };

  return {
    timeline, drift, triggers, training, updates,
    mark: (title, detail) => { timeline.push({ t: at(), kind: 'stage', title, detail }); },
    waitForUpdate: (match, o) => waitUntil(() => updates.slice(o.after ?? 0).map((u) => u.data).find(match), { ...o, service: 'ab-router' }),
    waitForTrigger: (o) => waitUntil(() => triggers[o.after], { ...o, service: 'aggregator' }),
    stop: () => consumer.stop(),
  };
};
