import { zodToJsonSchema } from 'zod-to-json-schema';
import { topics, topicKeys } from './topics.js';

/** JSON Schema (draft 2019-09 compatible) of every topic, keyed by Kafka topic name, for producers outside TypeScript. */
export const jsonSchemas = (): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const key of topicKeys) {
    const t = topics[key];
    out[t.name] = {
      ...zodToJsonSchema(t.schema, { name: t.name, $refStrategy: 'none', target: 'jsonSchema2019-09' }),
      $id: `https://flywheel.dev/schemas/${t.name}.json`,
      title: `${t.name} (${t.schema.shape.type.value})`,
    };
  }
  return out;
};

/** The file content for one topic's schema, stable so a test can compare it byte for byte. */
export const renderSchema = (schema: unknown): string => `${JSON.stringify(schema, null, 2)}\n`;
