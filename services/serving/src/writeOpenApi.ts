// Writes services/serving/openapi.json. Run: pnpm --filter @flywheel/svc-serving gen:openapi
import { writeFileSync } from 'node:fs';
import { renderOpenApi } from './openApiDocument.js';
import { openApiFile } from './openApiRoute.js';

writeFileSync(openApiFile, renderOpenApi());
console.log(`wrote ${openApiFile}`);
