import { isLeadershipHeld, type Pool } from '@flywheel/postgres';

/**
 * Whether the trainer that owns a job is still alive. Each trainer holds a PostgreSQL session
 * advisory lock named for its owner id (createPgLeadership in main.ts) for as long as its process
 * and its connection live; a SIGKILL or a lost connection releases it at once. A blocked event loop
 * (a long inline training step) keeps it, so a job whose heartbeat merely lags is never taken over.
 */
export interface OwnerLiveness {
  isAlive(owner: string): Promise<boolean>;
}

/** The lock key a trainer holds while alive (per schema, so stacks sharing a database stay apart). */
export const ownerLeaseKey = (schema: string, owner: string): string => `${schema}.trainer-owner:${owner}`;

export const pgOwnerLiveness = (pool: Pool, schema: string): OwnerLiveness => ({
  isAlive: (owner) => isLeadershipHeld(pool, ownerLeaseKey(schema, owner)),
});
