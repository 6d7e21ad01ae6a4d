export { createKafkaBus } from './createKafkaBus.js';
export type { KafkaBusOptions, ProcessedIds } from './createKafkaBus.js';
export { decode } from './decode.js';
export type { Decoded, Refusal } from './decode.js';
export { KafkaSecurityConfig, kafkaSecurityFromConfig, kafkaClientSecurity } from './kafkaSecurity.js';
export type { KafkaSecurity, SaslMechanism } from './kafkaSecurity.js';
export { createBusMetrics } from './busMetrics.js';
export type { BusMetrics } from './busMetrics.js';
export type { Bus, Publisher, Handler, Handlers, MessageContext, ConsumeOptions, RunningConsumer } from './types.js';
