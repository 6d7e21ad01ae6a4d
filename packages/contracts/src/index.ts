export {
  ModelName,
  ModelVersion,
  ModelVersionId,
  EventId,
  PredictionId,
  FeedbackId,
  JobId,
  ExperimentId,
  Label,
  Variant,
  FencingToken,
  versionId,
} from './ids.js';
export { envelope, EnvelopeHeader, SPEC_VERSION } from './envelope.js';
export { checkFeedbackLabels, ClientName, ClientTrust, FeedbackKind, FeedbackMetadata, FeedbackReceived, Text, TEXT_MAX_CHARS, teachingLabel, outcomeOf } from './feedback.js';
export { PredictionMade } from './predictions.js';
export { TriggerReason, RetrainingRequested } from './triggers.js';
export { TrainingState, TrainingStatusChanged, Metrics } from './training.js';
export { ArtifactRef, RoutingTable, ModelUpdated } from './modelUpdates.js';
export type { ModelUpdateAction } from './modelUpdates.js';
export { DriftLevel, DriftMeasurement, DriftReported } from './drift.js';
export { topics, topicKeys, deadLetterTopic, deadLetterHeaders, makeEvent, isBuiltEvent } from './topics.js';
export type { Topics, TopicKey, EventOf, DataOf } from './topics.js';
export { jsonSchemas, renderSchema } from './jsonSchemas.js';
export { RetrainRules, RuleEnv, createRuleBook } from './retrainRules.js';
export { safeString, safeText } from './safeText.js';
export { CLIENT_SOURCE_PREFIX, DEFAULT_TRUST_BOUNDS, FLYWHEEL_SOURCES, clientSource, createTrustCheck, outcomeCounts, reporterOf, topicOwners } from './trust.js';
export type { TrustBounds, TrustCheck, TrustOptions } from './trust.js';
