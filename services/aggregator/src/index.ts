// The service's public surface (docs, tools). It runs from main.ts.
export { AGGREGATOR_SOURCE } from './ledger.js';
export type { CounterSnapshot } from './redisCounters.js';
export { evaluateRules, windowAccuracy } from './evaluateRules.js';
export type { ModelStats, Firing } from './evaluateRules.js';
export { AggregatorConfig, loadConfig } from './config.js';
