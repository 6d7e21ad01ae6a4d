// Writes services/ab-router/openapi.json. Run: pnpm --filter @flywheel/svc-ab-router gen:openapi
import { writeFileSync } from 'node:fs';
import { renderOpenApi } from './openApiDocument.js';
import { openApiFile } from './openApiRoute.js';

writeFileSync(openApiFile, renderOpenApi());
console.log(`wrote ${openApiFile}`);
