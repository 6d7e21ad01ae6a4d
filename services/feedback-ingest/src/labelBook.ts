import { z } from 'zod';
import { hasScope, type Client } from '@flywheel/auth';
import { withTransaction, type Pool, type PoolClient } from '@flywheel/postgres';

/** The policy name recorded as `accepted_by` when enough trusted clients reported a label. */
export const TRUSTED_REPORTERS_POLICY = 'policy:trusted-reporters';

/** One label a model's champion does not know, as an operator reviews it. */
export const ProposedLabel = z.object({
  model: z.string(),
  label: z.string(),
  firstSeen: z.string().datetime(),
  lastSeen: z.string().datetime(),
  reports: z.number().int(),
  reporters: z.array(z.object({ client: z.string(), trust: z.enum(['trusted', 'standard']) })),
  acceptedAt: z.string().datetime().nullable(),
  acceptedBy: z.string().nullable(),
  /** Stored items still waiting for this label to be accepted (0 once accepted). */
  pendingItems: z.number().int(),
});
export type ProposedLabel = z.infer<typeof ProposedLabel>;

/**
 * Label governance per model. A correction naming a label the champion does not know is a
 * *proposal*: stored, not trainable, not counted toward retraining, until the label is accepted.
 *
 * Who accepts:
 * - an admin, explicitly (POST /v1/admin/models/{model}/labels/{label}/accept, `flywheel labels accept`);
 * - a `trusted` client holding the `admin` scope, by reporting it: an admin who reports a label is an
 *   admin accepting it (this is how the built-in ADMIN_TOKEN client teaches a model a new category);
 * - opt-in per model: once K distinct `trusted` clients reported it (LABEL_AUTO_ACCEPT_TRUSTED_REPORTERS).
 * `standard` clients never accept a label, however many reports they send.
 */
export interface LabelBook {
  /**
   * Records `reports` items of `sender` naming `label` for `model` (a label the champion does not
   * know) and says whether they are proposals (true) or the label is accepted (false). Runs in the
   * caller's transaction, which also stores the items; the label row lock serializes concurrent senders.
   */
  propose(db: PoolClient, model: string, label: string, sender: Client, reports: number): Promise<boolean>;
  /** The model's proposed and accepted labels, newest first. */
  list(model: string): Promise<ProposedLabel[]>;
  /** Accepts a label for the model: its stored items become trainable and countable. Idempotent. */
  accept(model: string, label: string, by: string): Promise<ProposedLabel>;
}

const Row = z.object({
  model: z.string(), label: z.string(), first_seen: z.date(), last_seen: z.date(), reports: z.coerce.number(),
  accepted_at: z.date().nullable(), accepted_by: z.string().nullable(), pending: z.coerce.number(),
  reporters: z.array(z.object({ client: z.string(), trust: z.enum(['trusted', 'standard']) })).nullable(),
});

const SELECT = `
SELECT p.model, p.label, p.first_seen, p.last_seen, p.reports, p.accepted_at, p.accepted_by,
       (SELECT count(*) FROM feedback f WHERE f.model = p.model AND f.proposed_label AND COALESCE(f.correct_label, f.predicted_label) = p.label) AS pending,
       (SELECT json_agg(json_build_object('client', r.client, 'trust', r.trust) ORDER BY r.first_seen) FROM proposed_label_reporters r WHERE r.model = p.model AND r.label = p.label) AS reporters
  FROM proposed_labels p`;

const toRecord = (r: z.infer<typeof Row>): ProposedLabel => ({
  model: r.model, label: r.label, firstSeen: r.first_seen.toISOString(), lastSeen: r.last_seen.toISOString(), reports: r.reports,
  reporters: r.reporters ?? [], acceptedAt: r.accepted_at?.toISOString() ?? null, acceptedBy: r.accepted_by, pendingItems: r.pending,
});

/** LabelBook over `proposed_labels`, `proposed_label_reporters` and the `proposed_label` column of `feedback`. */
export class PgLabelBook implements LabelBook {
  /** @param trustedReportersFor K of the trusted-reporter policy for a model; 0 turns it off (the default). */
  constructor(private readonly pool: Pool, private readonly trustedReportersFor: (model: string) => number) {}

  async propose(db: PoolClient, model: string, label: string, sender: Client, reports: number): Promise<boolean> {
    const row = z.object({ accepted_at: z.date().nullable() }).parse((await db.query(
      `INSERT INTO proposed_labels (model, label, reports) VALUES ($1, $2, $3)
       ON CONFLICT (model, label) DO UPDATE SET reports = proposed_labels.reports + $3, last_seen = now()
       RETURNING accepted_at`,
      [model, label, reports],
    )).rows[0]);
    if (row.accepted_at !== null) return false;
    await db.query(
      'INSERT INTO proposed_label_reporters (model, label, client, trust) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
      [model, label, sender.name, sender.trust],
    );
    if (sender.trust === 'trusted' && hasScope(sender, 'admin')) {
      await this.markAccepted(db, model, label, sender.name);
      return false;
    }
    const k = this.trustedReportersFor(model);
    if (k > 0 && sender.trust === 'trusted') {
      const n = z.coerce.number().parse((await db.query(
        `SELECT count(*) AS n FROM proposed_label_reporters WHERE model = $1 AND label = $2 AND trust = 'trusted'`, [model, label],
      )).rows[0]?.n);
      if (n >= k) {
        await this.markAccepted(db, model, label, TRUSTED_REPORTERS_POLICY);
        return false;
      }
    }
    return true;
  }

  async list(model: string): Promise<ProposedLabel[]> {
    const { rows } = await this.pool.query(`${SELECT} WHERE p.model = $1 ORDER BY p.first_seen DESC, p.label`, [model]);
    return rows.map((r) => toRecord(Row.parse(r)));
  }

  async accept(model: string, label: string, by: string): Promise<ProposedLabel> {
    return withTransaction(this.pool, async (c) => {
      await c.query('INSERT INTO proposed_labels (model, label) VALUES ($1, $2) ON CONFLICT DO NOTHING', [model, label]);
      await this.markAccepted(c, model, label, by);
      return toRecord(Row.parse((await c.query(`${SELECT} WHERE p.model = $1 AND p.label = $2`, [model, label])).rows[0]));
    });
  }

  // The first acceptance wins (its time and author stay); the stored items become trainable at once.
  private async markAccepted(db: PoolClient, model: string, label: string, by: string): Promise<void> {
    await db.query(
      'UPDATE proposed_labels SET accepted_at = COALESCE(accepted_at, now()), accepted_by = COALESCE(accepted_by, $3) WHERE model = $1 AND label = $2',
      [model, label, by],
    );
    await db.query(
      'UPDATE feedback SET proposed_label = false WHERE model = $1 AND proposed_label AND COALESCE(correct_label, predicted_label) = $2',
      [model, label],
    );
  }
}
