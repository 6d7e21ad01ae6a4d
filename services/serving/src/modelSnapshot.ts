import type { RoutingTable, Variant } from '@flywheel/contracts';
import { assignVariant } from '@flywheel/stats';
import type { Classifier } from './ports.js';

/** One version held in memory. `inFlight` counts requests running on it: a retired version is released only at 0. */
export interface LoadedVersion {
  readonly model: string;
  readonly version: string;
  readonly baseVersion: string;
  readonly classifier: Classifier;
  readonly labels: readonly string[];
  readonly loadedAt: Date;
  inFlight: number;
}

/**
 * What one model serves right now. Immutable: an update builds a new snapshot and replaces the
 * reference, and a request captures the snapshot at its start, so it finishes on the versions it
 * started with whatever swaps happen meanwhile.
 */
export interface ModelSnapshot {
  readonly model: string;
  readonly champion: LoadedVersion;
  /** Loaded and routed challenger; undefined when the table has none (or a 0 % share). */
  readonly challenger: LoadedVersion | undefined;
  /** Scored off the request path on the same requests (routing.shadow); never answers. */
  readonly shadow?: LoadedVersion;
  readonly routing: RoutingTable;
  readonly installedAt: Date;
}

/**
 * The variant and version that answer `subjectId`: sticky and deterministic (same subject, salt and
 * share → same arm), computed locally from the routing table with no network hop.
 */
export const routeVariant = (snapshot: ModelSnapshot, subjectId: string): { variant: Variant; loaded: LoadedVersion } => {
  const { challenger, routing } = snapshot;
  if (challenger === undefined || routing.challengerShareBps === 0) return { variant: 'champion', loaded: snapshot.champion };
  return assignVariant(subjectId, { challengerBp: routing.challengerShareBps }, routing.salt) === 'challenger'
    ? { variant: 'challenger', loaded: challenger }
    : { variant: 'champion', loaded: snapshot.champion };
};

/** The table serving uses when the ab-router has published none: the champion answers everyone. */
export const championOnly = (model: string, champion: string, revision = 0): RoutingTable =>
  ({ champion, challengerShareBps: 0, salt: model, revision }) as RoutingTable;
