import { fileURLToPath } from 'node:url';

/** The drift-monitor's SQL migrations (history table `drift_monitor_migrations`); from src/ or dist/, same depth. */
export const migrationsDir = fileURLToPath(new URL('../migrations', import.meta.url));
