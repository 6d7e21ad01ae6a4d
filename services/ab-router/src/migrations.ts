import { fileURLToPath } from 'node:url';

/** SQL migrations of the ab-router (history table `ab_router_migrations`), from src/ (tests) or dist/ (built): same depth in both. */
export const migrationsDir = fileURLToPath(new URL('../migrations', import.meta.url));
