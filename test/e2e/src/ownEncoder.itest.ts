import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyEncoder } from '@flywheel/learning/testing';
import { createStoreProbe, type StoreProbe } from './support/storeProbe.js';
import { createTraffic, type Traffic } from './support/createTraffic.js';
import { startE2eWorld, type E2eWorld } from './support/startE2eStack.js';
import { toJsonl } from './support/syntheticCorpus.js';
import { waitFor } from './support/waitFor.js';

// Bring your own model (issue 15), end to end on the six real services and the real stores: a user's
// frozen encoder (a tiny BERT built here, with a WordPiece vocabulary of the corpus) is imported as
// an `encoder` model and as a `hybrid` one; both go predict → feedback → retrain → A/B on live
// traffic in one stack, side by side, and the hybrid's challenger is promoted.
describe('your own encoder, end to end (encoder and hybrid)', () => {
  let w: E2eWorld;
  let encoderDir = '';
  const kinds = ['encoder', 'hybrid'] as const;
  type Kind = (typeof kinds)[number];
  const models = {} as Record<Kind, { name: string; db: StoreProbe; traffic: Traffic; challenger: string }>;

  beforeAll(async () => {
    w = await startE2eWorld('own-encoder', { bootstrap: false });
    const c = w.corpus;
    const texts = [...c.base, ...c.oldTraffic, ...c.newTraffic].map((r) => r.text);
    encoderDir = (await writeTinyEncoder(join(w.workDir, 'encoder'), { texts, pooling: 'mean', maxLength: 32, layers: 0, seed: 7 })).dir;
    for (const kind of kinds) {
      const name = `${w.model}-${kind === 'encoder' ? 'enc' : 'hyb'}`;
      const db = createStoreProbe(w.pool, name);
      const traffic = createTraffic({ api: w.stack.api, model: name, oldPool: c.oldTraffic, newPool: c.newTraffic, backlog: () => db.ledgerBacklog(), seed: kind === 'encoder' ? 3 : 5 });
      models[kind] = { name, db, traffic, challenger: '' };
    }
  });
  afterAll(async () => {
    await w?.close();
  });

  it('flywheel bootstrap --encoder and import --encoder --hybrid register champion 1.0.0 on the stored encoder, and serving answers with it', async () => {
    const file = join(w.workDir, 'base.jsonl');
    writeFileSync(file, toJsonl(w.corpus.base));
    for (const kind of kinds) {
      const m = models[kind];
      const { stdout } = await w.stack.cli(
        // bootstrap --encoder is the same as import --encoder: each kind takes one of the two spellings.
        [kind === 'hybrid' ? 'import' : 'bootstrap', '--model', m.name, '--encoder', encoderDir, '--data', file, '--format', 'jsonl', ...(kind === 'hybrid' ? ['--hybrid', '--ngram-buckets', '512'] : [])],
        { timeoutMs: 180_000 },
      );
      expect(stdout).toMatch(new RegExp(`${m.name}@1\\.0\\.0 is champion on ${kind === 'hybrid' ? 'hybrid base' : 'encoder'}`));
    }
    for (const kind of kinds) {
      const m = models[kind];
      const answer = await waitFor(`serving to answer for ${m.name}`, async () => {
        const a = await w.stack.api.serving.predict(m.name, w.corpus.oldTraffic[0]!.text, 'warmup');
        return a.modelVersion === '1.0.0' ? a : undefined;
      }, { timeoutMs: 60_000, intervalMs: 300, context: () => w.stack.logTail('serving', 10) });
      expect(w.corpus.oldLabels).toContain(answer.label);
    }
    // One encoder folder in the bucket for both models' plain encoder, one for the hybrid (its config differs).
    const r = await w.pool.query<{ model: string; base_version: string }>('SELECT model, base_version FROM registry_versions WHERE model = ANY($1)', [kinds.map((k) => models[k].name)]);
    expect(r.rows).toHaveLength(2);
  });

  it('serves the old categories well, and misclassification reports of a new one trigger retraining', async () => {
    await Promise.all(kinds.map(async (kind) => {
      const m = models[kind];
      for (let i = 0; i < 3; i++) await m.traffic.tick({ batch: 20, newShare: 0 });
      expect(m.traffic.accuracy(), `${kind} accuracy on old categories`).toBeGreaterThan(0.7);
      await waitFor(`a retraining trigger for ${m.name}`, async () => (await m.db.triggers()).find((t) => t.status === 'fired' || t.status === 'external'), {
        timeoutMs: 60_000, onTick: async () => { await m.traffic.pacedTick({ batch: 10, newShare: 0.5 }); },
      });
      expect(m.traffic.accuracy((o) => o.isNew)).toBe(0);
    }));
  });

  it('the trainer retrains each on its own base: a challenger that knows the new category', async () => {
    await Promise.all(kinds.map(async (kind) => {
      const m = models[kind];
      const v = await waitFor(`a challenger for ${m.name}`, async () => (await m.db.versions()).find((x) => x.version !== '1.0.0'), {
        timeoutMs: 180_000, intervalMs: 500, context: () => w.stack.logTail('trainer', 15),
      });
      m.challenger = v.version;
      expect(v.labels).toContain(w.corpus.newLabel);
      expect((await m.db.jobs()).find((j) => j.version === v.version)?.state).toBe('succeeded');
    }));
    // Retrained on the imported encoder (its embeddings counted), not on a new n-gram base.
    const r = await w.pool.query<{ model: string; texts: string | null }>(
      `SELECT model, metrics->>'embeddingTexts' AS texts FROM registry_versions WHERE model = ANY($1) AND version <> '1.0.0'`, [kinds.map((k) => models[k].name)]);
    for (const kind of kinds) expect(r.rows.filter((x) => x.model === models[kind].name).every((x) => Number(x.texts) > 0), `${kind}: trained on embeddings`).toBe(true);
  });

  it('the ab-router tests each challenger on live traffic: both arms serve, and the hybrid challenger is promoted', async () => {
    const thumbs = (m: (typeof models)[Kind]) => async (): Promise<void> => { await m.traffic.pacedTick({ batch: 30, newShare: 0.3, style: 'thumbs' }); };
    // The plain encoder: its challenger is A/B tested on live traffic, both arms answering. (With this
    // test's frozen random word vectors it did not beat its champion within minutes, 62.8% against
    // 62.1% after 2,900 outcomes per arm in one run, so its decision is not awaited here.)
    const enc = models.encoder;
    const encStart = Date.now();
    await waitFor(`both arms of an experiment of ${enc.name} to answer`, async () => {
      const during = enc.traffic.observations.filter((o) => o.at >= encStart);
      return during.filter((o) => o.variant === 'challenger').length >= 30 && during.filter((o) => o.variant === 'champion').length >= 30 ? true : undefined;
    }, { timeoutMs: 120_000, intervalMs: 200, onTick: thumbs(enc), context: () => w.stack.logTail('ab-router', 15) });
    // The challenger arm answered with retrained versions that know the new category, each under an experiment against 1.0.0.
    const arms = new Set(enc.traffic.observations.filter((o) => o.at >= encStart && o.variant === 'challenger').map((o) => o.version));
    const versions = await enc.db.versions();
    const experiments = await enc.db.experiments();
    for (const v of arms) {
      expect(versions.find((x) => x.version === v)?.labels, `${v} knows the new category`).toContain(w.corpus.newLabel);
      expect(experiments.filter((x) => x.challenger === v).map((x) => x.champion), `${v} tested against 1.0.0`).toContain('1.0.0');
    }

    // The hybrid: the n-gram half gives the new category's words features of their own; its challenger wins.
    const hyb = models.hybrid;
    const start = Date.now();
    const promoted = await waitFor(`the ab-router to promote a challenger of ${hyb.name}`, async () => {
      const c = await hyb.db.champion();
      return c !== undefined && c !== '1.0.0' ? c : undefined;
    }, { timeoutMs: 180_000, intervalMs: 200, onTick: thumbs(hyb), context: () => w.stack.logTail('ab-router', 15) });
    expect((await hyb.db.experiments()).filter((x) => x.challenger === promoted).map((x) => x.state)).toContain('promoted');
    expect((await hyb.db.versions()).find((v) => v.version === promoted)?.labels).toContain(w.corpus.newLabel);
    expect(hyb.traffic.accuracy((o) => o.at >= start && o.version !== '1.0.0' && o.isNew), 'hybrid challenger on the new category').toBeGreaterThan(0.5);
    w.stack.assertAlive();
  });
});
