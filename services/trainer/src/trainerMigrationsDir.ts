import { fileURLToPath } from 'node:url';

/** services/trainer/migrations (from src/ or dist/). */
export const trainerMigrationsDir = fileURLToPath(new URL('../migrations', import.meta.url));
