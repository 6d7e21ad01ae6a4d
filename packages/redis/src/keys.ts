/**
 * Redis keys shared between services, defined once. A model's routing table is written by the
 * ab-router and read by serving; both must spell the key the same way.
 */

/** Key of a model's routing table: `<prefix>:routing:<model>` (prefix = the deployment's REDIS_PREFIX). */
export const routingKey = (prefix: string, model: string): string => `${prefix}:routing:${model}`;
