import { z } from 'zod';
import { ExperimentId, ModelVersion } from './ids.js';
import { Metrics } from './training.js';

/** Where a version's artifacts live in the object store. */
export const ArtifactRef = z.object({
  bucket: z.string().min(1),
  prefix: z.string().min(1),
  manifestKey: z.string().min(1),
  sha256: z.string().regex(/^[a-f0-9]{64}$/),
});
export type ArtifactRef = z.infer<typeof ArtifactRef>;

/** The routing table serving applies locally: which version answers whom. */
export const RoutingTable = z.object({
  champion: ModelVersion,
  challenger: ModelVersion.optional(),
  /** Share of subjects routed to the challenger, in basis points (0..10000). */
  challengerShareBps: z.number().int().min(0).max(10_000),
  /** Salt of the sticky hash, one per experiment, so assignments differ between experiments. */
  salt: z.string().min(1).max(100),
  experimentId: ExperimentId.optional(),
  /**
   * A version scored in shadow: serving answers with the champion (or the challenger), then scores
   * the same request with this version off the request path and logs both answers. Never answers.
   */
  shadow: ModelVersion.optional(),
  /** The shadow test's experiment (stamped on the shadow answers); absent without `shadow`. */
  shadowExperimentId: ExperimentId.optional(),
  /** Monotonic per model: serving ignores a table older than the one it holds. */
  revision: z.number().int().nonnegative(),
});
export type RoutingTable = z.infer<typeof RoutingTable>;

/** A change to a model's versions. Every action is also a registry history row. */
export const ModelUpdated = z.discriminatedUnion('action', [
  z.object({ action: z.literal('challenger_registered'), version: ModelVersion, artifact: ArtifactRef, metrics: Metrics, baseVersion: ModelVersion.optional() }),
  z.object({ action: z.literal('promoted'), version: ModelVersion, previous: ModelVersion.optional(), reason: z.string().max(4000), metrics: Metrics.optional() }),
  z.object({ action: z.literal('rejected'), version: ModelVersion, reason: z.string().max(4000), metrics: Metrics.optional() }),
  z.object({ action: z.literal('rolled_back'), version: ModelVersion, from: ModelVersion, reason: z.string().max(4000), automatic: z.boolean() }),
  z.object({ action: z.literal('routing_changed'), routing: RoutingTable }),
]);
export type ModelUpdated = z.infer<typeof ModelUpdated>;
export type ModelUpdateAction = ModelUpdated['action'];
