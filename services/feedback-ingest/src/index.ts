// The service's public surface: its config and HTTP schemas (documentation, clients). It runs from main.ts.
export { IngestConfig, loadConfig } from './config.js';
export { INGEST_SOURCE } from './feedbackStore.js';
export { FeedbackItem, FeedbackBatch, AcceptedItem, BatchAccepted, RetrainingStatus, ManualRetrain, MAX_BATCH_ITEMS, TrainingExample, TrainingExamplesQuery } from './httpSchemas.js';
export { openApiDocument, renderOpenApi } from './openApiDocument.js';
