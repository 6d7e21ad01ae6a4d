import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseExamples } from '../data.js';
import { SHIPPED_DATA_DIR, shippedClinc } from '../encoder/testing/tinyEncoder.js';
import { createFeaturizer, DEFAULT_FEATURE_CONFIG, type FeatureConfig } from '../features.js';
import { featurizeModuleSource } from './featurizeModule.js';
import { createTextFeaturizer, type FeaturizerSpec, type TextFeatures } from './textFeaturizer.js';

type Shipped = { createTextFeaturizer: typeof createTextFeaturizer; loadFeaturizer: (specUrl?: URL) => Promise<ReturnType<typeof createTextFeaturizer>> };

const every = <T>(rows: readonly T[], n: number): T[] => rows.filter((_, i) => i % Math.max(1, Math.floor(rows.length / n)) === 0).slice(0, n);

describe('featurize.mjs and createTextFeaturizer equal features.ts', async () => {
  const clinc = every(await shippedClinc(), 1000).map((e) => e.text);
  const flipkartCsv = await readFile(join(SHIPPED_DATA_DIR, 'flipkart-products', 'flipkart_com-ecommerce_sample.csv'), 'utf8');
  const flipkart = every(parseExamples(flipkartCsv, { format: 'csv', header: false, textColumn: 1, labelColumn: 2, labelDepth: 1 }), 1000).map((e) => e.text);
  const edge = ['', '   ', 'Crème brûlée — NAÏVE café', 'ǅemal Ǆ ﬁle ＡＢＣ ①②', '日本語のテキスト 中文 한국어', 'emoji 🙂🙂 x', `${'word '.repeat(300)}end`, 'a b c d e f g h i j k l m n o p q r s t u v w x y z '.repeat(20)];
  const texts = [...clinc, ...flipkart, ...edge];
  const configs: FeatureConfig[] = [DEFAULT_FEATURE_CONFIG, { buckets: 2048, maxFeatures: 24, wordNgrams: 1, charNgramMin: 0, charNgramMax: 0, seed: 17 }, { buckets: 997, maxFeatures: 64, wordNgrams: 2, charNgramMin: 2, charNgramMax: 4, seed: -5 }];
  const dir = await mkdtemp(join(tmpdir(), 'featurize-mjs-'));
  await writeFile(join(dir, 'featurize.mjs'), featurizeModuleSource());
  const shipped = (await import(pathToFileURL(join(dir, 'featurize.mjs')).href)) as Shipped;
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const expectSame = (config: FeatureConfig, got: TextFeatures): void => {
    const want = createFeaturizer(config).featurize(texts);
    expect(got.rows).toBe(texts.length);
    expect(got.width).toBe(config.maxFeatures);
    expect([...got.counts]).toEqual([...want.counts]);
    expect(Buffer.from(got.indices.buffer).equals(Buffer.from(want.indices.buffer))).toBe(true);
    expect(Buffer.from(got.weights.buffer).equals(Buffer.from(want.weights.buffer))).toBe(true);
  };

  it('has 2,000 shipped texts from both datasets and the edge cases, and some rows fill maxFeatures', () => {
    expect(clinc).toHaveLength(1000);
    expect(flipkart).toHaveLength(1000);
    const counts = createFeaturizer(configs[1]).featurize(texts).counts;
    expect(counts.some((c) => c === 24)).toBe(true);
  });

  it.each(configs.map((c, i) => [i, c] as const))('config %i: the shipped module gives the same ids, weights and counts bit for bit', (_, config) => {
    const spec: FeaturizerSpec = { format: 'flywheel-featurizer/v1', ...config };
    expectSame(config, shipped.createTextFeaturizer(spec)(texts, { pad: 'full' }));
    expectSame(config, createTextFeaturizer(spec)(texts, { pad: 'full' }));
  });

  it('pads to the longest row by default (the layout serving feeds) and reads featurizer.json next to itself', async () => {
    const spec: FeaturizerSpec = { format: 'flywheel-featurizer/v1', ...DEFAULT_FEATURE_CONFIG, maxFeatures: 200 };
    await writeFile(join(dir, 'featurizer.json'), JSON.stringify(spec));
    const featurize = await shipped.loadFeaturizer();
    const some = texts.slice(0, 50);
    const f = featurize(some);
    const full = createFeaturizer(spec).featurize(some);
    expect(f.width).toBe(Math.max(...full.counts));
    for (let r = 0; r < some.length; r++) {
      expect([...f.indices.subarray(r * f.width, (r + 1) * f.width)]).toEqual([...full.indices.subarray(r * 200, r * 200 + f.width)]);
    }
    await writeFile(join(dir, 'featurizer.json'), JSON.stringify({ ...spec, format: 'other' }));
    await expect(shipped.loadFeaturizer()).rejects.toThrow(/flywheel-featurizer\/v1/);
  });

  it('the shipped module imports nothing at load time', () => {
    expect(featurizeModuleSource()).not.toMatch(/^\s*import\s/m);
  });
});
