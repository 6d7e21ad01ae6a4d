import { z } from 'zod';
import { safeString } from './safeText.js';

/** A model's name: lower-case, digits and dashes, so it is safe in topic keys, S3 paths and URLs. */
export const ModelName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, 'model name must be lower-case letters, digits and dashes, starting with a letter (max 63)')
  .brand<'ModelName'>();
export type ModelName = z.infer<typeof ModelName>;

/** Semantic version of a model: patch for a retrain, minor when labels were added, major for a new base. */
export const ModelVersion = z
  .string()
  .regex(/^\d+\.\d+\.\d+$/, 'version must be semantic: MAJOR.MINOR.PATCH')
  .brand<'ModelVersion'>();
export type ModelVersion = z.infer<typeof ModelVersion>;

/** `<model>@<version>`: one version of one model. */
export const ModelVersionId = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}@\d+\.\d+\.\d+$/, 'model version id must look like name@1.2.3')
  .brand<'ModelVersionId'>();
export type ModelVersionId = z.infer<typeof ModelVersionId>;

const uuid = z.string().uuid();
export const EventId = uuid.brand<'EventId'>();
export type EventId = z.infer<typeof EventId>;
export const PredictionId = uuid.brand<'PredictionId'>();
export type PredictionId = z.infer<typeof PredictionId>;
export const FeedbackId = uuid.brand<'FeedbackId'>();
export type FeedbackId = z.infer<typeof FeedbackId>;
export const JobId = uuid.brand<'JobId'>();
export type JobId = z.infer<typeof JobId>;
export const ExperimentId = uuid.brand<'ExperimentId'>();
export type ExperimentId = z.infer<typeof ExperimentId>;

/** A class label as users see it. Trimmed, non-empty, bounded. */
export const Label = safeString('label').trim().min(1, 'label must not be empty').max(200, 'label is at most 200 characters');
export type Label = z.infer<typeof Label>;

/** Which arm of an experiment answered. */
export const Variant = z.enum(['champion', 'challenger']);
export type Variant = z.infer<typeof Variant>;

/** Monotonic token issued with a retraining lock; a holder with a lower token is stale. */
export const FencingToken = z.number().int().positive().brand<'FencingToken'>();
export type FencingToken = z.infer<typeof FencingToken>;

/** Builds a `name@version` id from its parts. */
export const versionId = (model: ModelName, version: ModelVersion): ModelVersionId =>
  `${model}@${version}` as ModelVersionId;
