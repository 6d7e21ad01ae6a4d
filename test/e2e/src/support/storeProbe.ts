import type pg from 'pg';

/** Read-only questions to the real PostgreSQL tables about one model. */
export interface StoreProbe {
  /** feedback rows feedback-ingest committed (anyModel: of every model in the stack's schema). */
  feedbackIds(o?: { anyModel?: boolean }): Promise<Set<string>>;
  /** Feedback events the aggregator's ledger recorded (what reached it over Kafka). */
  ledgerIds(o?: { anyModel?: boolean }): Promise<Set<string>>;
  /** Accepted feedback not yet published (the other services' announcements wait for their own relays). */
  unpublishedOutbox(): Promise<number>;
  /** Feedback rows of the model not (yet) in the aggregator's ledger: how far the consumers are behind. */
  ledgerBacklog(): Promise<number>;
  triggers(): Promise<{ id: string; reason: string; status: string; fencingToken: number | null }[]>;
  jobs(): Promise<{ id: string; state: string; version: string | null; reason: string | null; fencingToken: number }[]>;
  versions(): Promise<{ version: string; status: string; labels: string[] }[]>;
  champion(): Promise<string | undefined>;
  history(): Promise<{ version: string; from: string | null; to: string; actor: string; reason: string }[]>;
  experiments(): Promise<{ id: string; champion: string; challenger: string; state: string; decision: unknown }[]>;
}

/** Probe over `pool` for `model`. */
export const createStoreProbe = (pool: pg.Pool, model: string): StoreProbe => {
  const ids = async (sql: string, anyModel = false): Promise<Set<string>> =>
    new Set((await pool.query<{ id: string }>(sql, [anyModel ? '%' : model])).rows.map((r) => r.id));
  return {
    feedbackIds: (o) => ids('SELECT id::text AS id FROM feedback WHERE model LIKE $1', o?.anyModel),
    ledgerIds: (o) => ids('SELECT event_id::text AS id FROM aggregator_feedback WHERE model LIKE $1', o?.anyModel),
    unpublishedOutbox: async () =>
      Number((await pool.query<{ n: string }>("SELECT count(*) AS n FROM flywheel_outbox WHERE key = $1 AND topic = 'feedback' AND published_at IS NULL", [model])).rows[0]?.n ?? 0),
    ledgerBacklog: async () =>
      Number((await pool.query<{ n: string }>(
        'SELECT (SELECT count(*) FROM feedback WHERE model = $1) - (SELECT count(*) FROM aggregator_feedback WHERE model = $1) AS n', [model])).rows[0]?.n ?? 0),
    triggers: async () =>
      (await pool.query<{ id: string; reason: string; status: string; fencing_token: string | null }>('SELECT id::text, reason, status, fencing_token FROM aggregator_triggers WHERE model = $1 ORDER BY created_at', [model])).rows
        .map((r) => ({ id: r.id, reason: r.reason, status: r.status, fencingToken: r.fencing_token === null ? null : Number(r.fencing_token) })),
    jobs: async () => (await pool.query<{ id: string; state: string; version: string | null; reason: string | null; fencing_token: string }>('SELECT id::text, state, version, reason, fencing_token FROM training_jobs WHERE model = $1 ORDER BY created_at', [model])).rows
      .map(({ fencing_token, ...j }) => ({ ...j, fencingToken: Number(fencing_token) })),
    versions: async () => (await pool.query('SELECT version, status, labels FROM registry_versions WHERE model = $1 ORDER BY major, minor, patch', [model])).rows,
    champion: async () => (await pool.query<{ version: string }>("SELECT version FROM registry_versions WHERE model = $1 AND status = 'champion'", [model])).rows[0]?.version,
    history: async () => (await pool.query('SELECT version, from_status AS "from", to_status AS "to", actor, reason FROM registry_history WHERE model = $1 ORDER BY id', [model])).rows,
    experiments: async () => (await pool.query('SELECT id::text, champion_version AS champion, challenger_version AS challenger, state, decision FROM ab_experiments WHERE model = $1 ORDER BY started_at', [model])).rows,
  };
};
