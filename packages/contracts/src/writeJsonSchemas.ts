// Writes packages/contracts/schemas/<topic>.json. Run: pnpm --filter @flywheel/contracts gen:schemas
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonSchemas, renderSchema } from './jsonSchemas.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'schemas');
mkdirSync(dir, { recursive: true });
for (const [name, schema] of Object.entries(jsonSchemas())) {
  writeFileSync(join(dir, `${name}.json`), renderSchema(schema));
  console.log(`wrote schemas/${name}.json`);
}
