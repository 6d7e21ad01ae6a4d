import { fileURLToPath } from 'node:url';
import { runMigrations, type MigrationResult, type Pool } from '@flywheel/postgres';

/** packages/registry/migrations, from src/ (tests) or dist/ (built). */
export const registryMigrationsDir = fileURLToPath(new URL('../migrations', import.meta.url));

/** Creates or updates the registry tables; safe to call from every process at start. */
export const migrateRegistry = (pool: Pool): Promise<MigrationResult> =>
  runMigrations(pool, registryMigrationsDir, { table: 'registry_migrations' });
