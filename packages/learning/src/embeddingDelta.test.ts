import { describe, expect, it } from 'vitest';
import { exportAdapter } from './adapter.js';
import { createFeaturizer } from './features.js';
import { addEmbeddingDelta, deltaBag, effectiveEmbedding, embeddingBag, extractEmbeddingDelta } from './model.js';
import { exportBaseOnnx } from './onnx/exportBase.js';
import { createRng } from './random.js';
import { deserializeTrainingState, serializeTrainingState } from './serialize.js';
import { createOnnxBase } from './serving.js';
import { evaluateState } from './evaluateState.js';
import { createTfClassifier } from './tfClassifier.js';
import { syntheticExamples, tinyOptions } from './testing/synthetic.js';
import { continueTraining, trainBase } from './train.js';

describe('sparse embedding deltas', () => {
  it('builds a state\'s effective table once per base and delta, and a new one when either changes', () => {
    const D = 2;
    const model = { embeddingDim: D } as never;
    const delta = { rows: Int32Array.from([1]), values: Float32Array.from([0.5, -0.5]) };
    const base = { embedding: Float32Array.from([1, 1, 2, 2, 3, 3]), dense: [] };
    const state = { model, base, adapter: { embeddingDelta: delta } } as never;
    const table = effectiveEmbedding(state);
    expect(Array.from(table)).toEqual([1, 1, 2.5, 1.5, 3, 3]);
    expect(effectiveEmbedding(state)).toBe(table);
    expect(base.embedding[2], 'the base is not touched').toBe(2);
    const other = { model, base: { embedding: Float32Array.from([0, 0, 0, 0, 0, 0]), dense: [] }, adapter: { embeddingDelta: delta } } as never;
    expect(Array.from(effectiveEmbedding(other))).toEqual([0, 0, 0.5, -0.5, 0, 0]);
  });

  it('extracts the same delta from the rows an update touched as from a scan of the whole table', () => {
    const D = 4;
    const rng = createRng(3);
    const base = Float32Array.from({ length: 64 * D }, () => rng.next());
    const trained = base.slice();
    for (const r of [5, 9, 40, 41, 63]) for (let d = 0; d < D; d++) trained[r * D + d] = (trained[r * D + d] as number) + (r % 7) * 0.1 + 0.05;
    const full = extractEmbeddingDelta(trained, base, D, 3);
    expect(Array.from(full.rows)).toEqual([5, 40, 41]);
    expect(extractEmbeddingDelta(trained, base, D, 3, [63, 5, 9, 40, 41, 2])).toEqual(full);
    expect(Array.from(extractEmbeddingDelta(trained, base, D, 3, [9, 63]).rows), 'only the candidates are looked at').toEqual([9, 63]);
  });

  it('keeps the rows that moved most, and bag(E) + bag(Δ) = bag(E + Δ)', () => {
    const D = 4;
    const rng = createRng(3);
    const base = Float32Array.from({ length: 64 * D }, () => rng.normal());
    const trained = base.slice();
    for (const [row, size] of [[5, 3], [9, 1], [40, 2]] as const) for (let d = 0; d < D; d++) trained[row * D + d] = (trained[row * D + d] as number) + size;
    const delta = extractEmbeddingDelta(trained, base, D, 2);
    expect([...delta.rows]).toEqual([5, 40]);
    const merged = base.slice();
    addEmbeddingDelta(merged, D, delta);
    const f = createFeaturizer({ buckets: 64, maxFeatures: 16 });
    const batch = f.featurize(['a b c', 'x y', 'hello world again']);
    const slotOf = new Int32Array(64).fill(-1);
    delta.rows.forEach((r, k) => (slotOf[r] = k));
    const plain = new Float32Array(3 * D);
    const withDelta = new Float32Array(3 * D);
    const onlyDelta = new Float32Array(3 * D);
    embeddingBag(base, D, batch, undefined, plain);
    embeddingBag(merged, D, batch, undefined, withDelta);
    deltaBag(batch, 3, 16, slotOf, delta.values, D, onlyDelta);
    for (let i = 0; i < plain.length; i++) expect((plain[i] as number) + (onlyDelta[i] as number)).toBeCloseTo(withDelta[i] as number, 5);
  });

  it('learns the vocabulary of a new class on a frozen base, round-trips, and serves the same as TensorFlow.js', async () => {
    const base = await trainBase(syntheticExamples(['alpha', 'beta', 'gamma'], 40, 1), tinyOptions);
    // New class with words the base never trained on (vocabShift): only the embedding can learn them well.
    const fresh = [...syntheticExamples(['delta'], 40, 2, 100), ...syntheticExamples(['alpha', 'beta', 'gamma'], 10, 3)];
    const next = await continueTraining({ base: base.state, current: base.state }, fresh, { ...tinyOptions, epochs: 10, embeddingDelta: { maxRows: 300 } });
    expect(next.state.baseVersion).toBe(base.state.baseVersion);
    expect([...next.state.base.embedding.slice(0, 50)]).toEqual([...base.state.base.embedding.slice(0, 50)]); // base frozen
    const delta = next.state.adapter.embeddingDelta;
    expect(delta?.rows.length).toBeGreaterThan(0);
    expect(delta?.rows.length).toBeLessThanOrEqual(300);
    expect(evaluateState(next.state, syntheticExamples(['delta'], 20, 98, 100)).accuracy).toBeGreaterThan(0.9);
    const back = deserializeTrainingState(serializeTrainingState(next.state));
    expect([...(back.adapter.embeddingDelta?.rows ?? [])]).toEqual([...(delta?.rows ?? [])]);

    const state = { ...next.state, temperature: 1.7 };
    const served = await createOnnxBase(exportBaseOnnx(base.state));
    const adapter = exportAdapter(state, { version: 'm@1.1.0' });
    expect(adapter.manifest.temperature).toBe(1.7);
    const clf = served.createClassifier(adapter.bytes, JSON.parse(JSON.stringify(adapter.manifest)));
    const texts = [...syntheticExamples(['delta', 'alpha'], 5, 60, 100).map((e) => e.text), 'unknown words', ''];
    const raw = await clf.predictRaw(texts);
    const tf = createTfClassifier(state);
    const expected = tf.probabilities(texts);
    tf.dispose();
    let maxDiff = 0;
    for (let i = 0; i < expected.length; i++) maxDiff = Math.max(maxDiff, Math.abs((expected[i] as number) - (raw.probabilities[i] as number)));
    expect(maxDiff).toBeLessThan(1e-4);
    await served.release();
  });
});
