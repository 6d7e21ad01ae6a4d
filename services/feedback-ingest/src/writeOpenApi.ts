// Writes services/feedback-ingest/openapi.json. Run: pnpm --filter @flywheel/svc-feedback-ingest gen:openapi
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderOpenApi } from './openApiDocument.js';

const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'openapi.json');
writeFileSync(file, renderOpenApi());
console.log(`wrote ${file}`);
