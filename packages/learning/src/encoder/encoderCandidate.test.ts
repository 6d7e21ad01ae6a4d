import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { splitByGroup, type Example } from '../data.js';
import type { DeepPartial, TrainOptions } from '../options.js';
import { createTfClassifier } from '../tfClassifier.js';
import { MemoryEmbeddingCache } from './embeddingCache.js';
import { loadTextEncoder } from './encoderBase.js';
import { bootstrapEncoderCandidate, distillImportedCandidate, trainEncoderCandidate, type ClassifierTeacher } from './encoderCandidate.js';
import { encoderRows, type EncoderSource } from './encoderTraining.js';
import { shippedClinc, writeTinyEncoder } from './testing/tinyEncoder.js';

const root = await mkdtemp(join(tmpdir(), 'flywheel-enccand-'));
afterAll(() => rm(root, { recursive: true, force: true }));

// CLINC150 domains: 6 known at first, a 7th arrives with corrections. Every 6th row keeps it quick.
const all = (await shippedClinc()).filter((e, i) => e.label !== 'oos' && i % 6 === 0);
const domains = [...new Set(all.map((e) => e.label))].sort();
const known = new Set(domains.slice(0, 6));
const newDomain = domains[6]!;
const { train, held } = splitByGroup(all, { fraction: 0.25, seed: 3 });
const first = train.filter((e) => known.has(e.label));
const later = train.filter((e) => e.label === newDomain);

const { dir } = await writeTinyEncoder(join(root, 'tiny'), { texts: train.map((e) => e.text), pooling: 'mean', maxLength: 32, seed: 11 });
const encoder = await loadTextEncoder(dir, { intraOpNumThreads: 1 });
afterAll(() => encoder.release());

const options: DeepPartial<TrainOptions> = {
  model: { hiddenUnits: [96] },
  lora: { rank: 8, alpha: 16, dropout: 0 },
  mode: 'lora',
  epochs: 20,
  patience: 4,
  batchSize: 32,
  learningRate: { fresh: 5e-3, continued: 3e-3 },
  strategy: { replay: { capacity: 300, ratio: 0.5 }, distillation: { temperature: 2, weight: 0.5 } },
  seed: 5,
};
const split = { validation: 0.1, gate: 0.1, test: 0.1 };

const distinct = (rows: readonly Example[]): number => new Set(rows.map((e) => e.text)).size;

describe('candidates on a frozen encoder base (trainer and CLI path)', () => {
  it('bootstraps, then an update embeds only the texts the cache has not seen and scores against the champion', async () => {
    const cache = new MemoryEmbeddingCache();
    const source: EncoderSource = { encoder, cache };
    const boot = await bootstrapEncoderCandidate(first, source, options, split);
    expect(boot.state.model.base).toEqual({ kind: 'encoder', hash: encoder.hash });
    expect(boot.metrics).toMatchObject({ embeddingTexts: distinct(first), embeddingCacheHits: 0, embeddingsComputed: distinct(first) });
    expect(boot.metrics.accuracy).toBeGreaterThan(2 / known.size);

    const fresh = later.map((e) => ({ ...e, source: 'human_correction' as const }));
    const next = await trainEncoderCandidate(boot.state, { fresh, previous: boot.snapshot }, source, options, { split });
    expect(next.state.labels).toEqual([...boot.state.labels, newDomain]);
    expect(next.state.baseVersion).toBe(boot.state.baseVersion);
    // the snapshot and the reservoir were embedded by the bootstrap; only the new texts reach the encoder
    const newTexts = new Set(fresh.map((e) => e.text));
    for (const e of first) newTexts.delete(e.text);
    expect(next.embeddings.embedded).toBe(newTexts.size);
    expect(next.embeddings.hits).toBe(next.embeddings.texts - newTexts.size);
    expect(next.metrics.embeddingsComputed).toBe(newTexts.size);
    expect(next.scores.championAccuracy).toBeGreaterThan(0);
    expect(next.metrics.newAccuracy ?? next.metrics.accuracy).toBeGreaterThan(0);
    expect(next.snapshot).toHaveLength(first.length + fresh.length);
  });

  it("distils an imported classifier: its first successor answers what it answered and learns the corrections", async () => {
    // The "user's classifier": a model trained elsewhere, seen only through its labels and logits.
    const cache = new MemoryEmbeddingCache();
    const source: EncoderSource = { encoder, cache };
    const trained = await bootstrapEncoderCandidate(first, { encoder, cache: new MemoryEmbeddingCache() }, { ...options, seed: 9 }, split);
    const teacherLabels = trained.state.labels;
    let teacherCalls = 0;
    const teacher: ClassifierTeacher = {
      labels: teacherLabels,
      async logits(texts) {
        teacherCalls++;
        const { rowsOf } = await encoderRows({ encoder }, texts);
        const clf = createTfClassifier(trained.state, { rowsOf });
        const z = clf.logits(texts);
        clf.dispose();
        const C = teacherLabels.length;
        return texts.map((_, i) => z.slice(i * C, (i + 1) * C));
      },
    };
    const answer = async (rows: readonly Example[]): Promise<string[]> => {
      const z = await teacher.logits(rows.map((e) => e.text));
      return z.map((r) => teacherLabels[r.indexOf(Math.max(...r))]!);
    };
    // Live traffic the classifier answered confidently (pseudo-labels) and corrections for the new domain.
    const traffic = first;
    const answered = await answer(traffic);
    const fresh: Example[] = [
      ...traffic.map((e, i) => ({ text: e.text, label: answered[i]!, source: 'pseudo_label' as const, confidence: 0.95, ...(e.group ? { group: e.group } : {}) })),
      ...later.map((e) => ({ ...e, source: 'human_correction' as const })),
    ];
    const out = await distillImportedCandidate(teacher, { fresh, previous: [] }, source, options, { split });
    expect(teacherCalls).toBeGreaterThan(1);
    expect(out.state.model.base).toEqual({ kind: 'encoder', hash: encoder.hash });
    expect(out.state.labels).toContain(newDomain);
    expect(out.metrics.distilledFromImported).toBe(1);
    // agreement with the classifier on held-out traffic of the domains it knew
    const heldKnown = held.filter((e) => known.has(e.label));
    const before = await answer(heldKnown);
    const { rowsOf } = await encoderRows(source, held.map((e) => e.text));
    const clf = createTfClassifier(out.state, { rowsOf });
    const after = clf.predict(heldKnown.map((e) => e.text)).map((p) => p.label);
    const onNew = held.filter((e) => e.label === newDomain);
    const newRight = clf.predict(onNew.map((e) => e.text)).filter((p, i) => p.label === onNew[i]!.label).length;
    clf.dispose();
    const agreement = after.filter((l, i) => l === before[i]).length / heldKnown.length;
    console.log('imported → student: agreement with the classifier', agreement.toFixed(3), 'new domain', (newRight / onNew.length).toFixed(3));
    expect(agreement).toBeGreaterThan(0.7);
    expect(newRight / onNew.length).toBeGreaterThan(1 / out.state.labels.length);
  });
});
