import type { ModelUpdated } from '@flywheel/contracts';
import type { LoadedVersion, ModelSnapshot } from './modelSnapshot.js';

/** The last state change of a model, shown by GET /v1/models/:model (and read by bench:swap). */
export interface SwapRecord {
  action: ModelUpdated['action'] | 'start';
  champion: string;
  challenger: string | undefined;
  /** From the update being received to the new snapshot serving. */
  seconds: number;
  at: string;
}

/** Everything the host keeps about one served model; mutated only by that model's update queue. */
export interface ServedModel {
  snapshot: ModelSnapshot | undefined;
  loaded: Map<string, LoadedVersion>;
  /** Versions registered as challengers and loaded, waiting for a routing table that names them. */
  standby: string[];
  retiring: Map<string, NodeJS.Timeout>;
  /** After a lifecycle event (promote, roll back, reject) a table of this revision or older is stale. */
  staleAtOrBelow: number;
  queue: Promise<unknown>;
  lastSwap: SwapRecord | undefined;
}

export const newServedModel = (): ServedModel => ({
  snapshot: undefined, loaded: new Map(), standby: [], retiring: new Map(), staleAtOrBelow: -1, queue: Promise.resolve(), lastSwap: undefined,
});

/** The role a loaded version plays now (the loaded-versions gauge's label). */
export const roleOf = (s: ServedModel, version: string): 'champion' | 'challenger' | 'shadow' | 'retiring' | 'standby' =>
  s.snapshot?.champion.version === version ? 'champion'
  : s.snapshot?.challenger?.version === version ? 'challenger'
  : s.snapshot?.shadow?.version === version ? 'shadow'
  : s.retiring.has(version) ? 'retiring'
  : 'standby';
