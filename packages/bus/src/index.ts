export { createKafkaBus } from './createKafkaBus.js';
export type { KafkaBusOptions, ProcessedIds } from './createKafkaBus.js';
export { decode } from './decode.js';
export type { Decoded } from './decode.js';
export { createBusMetrics } from './busMetrics.js';
export type { BusMetrics } from './busMetrics.js';
export type { Bus, Publisher, Handler, Handlers, MessageContext, ConsumeOptions, RunningConsumer } from './types.js';
