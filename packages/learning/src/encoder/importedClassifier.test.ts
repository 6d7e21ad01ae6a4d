import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@flywheel/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { loadImportedClassifier } from './importedClassifier.js';
import { buildTinyBert } from './testing/tinyBert.js';
import { writeTinyEncoder } from './testing/tinyEncoder.js';

const root = await mkdtemp(join(tmpdir(), 'flywheel-import-'));
afterAll(() => rm(root, { recursive: true, force: true }));

/** A user's classifier folder as a Hugging Face text-classification export leaves it. */
async function classifierFolder(name: string, classes: number, labelFiles: Record<string, string>): Promise<string> {
  const { dir, vocab } = await writeTinyEncoder(join(root, name), { texts: ['what is my balance', 'book a flight to paris', 'play some music'], minCharCount: 1 });
  await writeFile(join(dir, 'model.onnx'), buildTinyBert({ vocabSize: vocab.length, classes, seed: 4 }));
  for (const [file, content] of Object.entries(labelFiles)) await writeFile(join(dir, file), content);
  return dir;
}

const id2label = JSON.stringify({ architectures: ['BertForSequenceClassification'], id2label: { 0: 'billing', 1: 'travel', 2: 'other' } });
const texts = ['what is my balance', 'book a flight to paris', ''];

describe('a user classifier imported as it is', () => {
  it('predicts with the labels of config.json id2label, probabilities from its logits', async () => {
    const clf = await loadImportedClassifier(await classifierFolder('hf', 3, { 'config.json': id2label }));
    expect(clf.labels).toEqual(['billing', 'travel', 'other']);
    const logits = await clf.logits(texts);
    const predictions = await clf.predict(texts);
    predictions.forEach((p, i) => {
      const row = Array.from(logits[i]!);
      expect(p.label).toBe(clf.labels[row.indexOf(Math.max(...row))]);
      expect(Object.values(p.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(p.confidence).toBe(Math.max(...Object.values(p.probabilities)));
    });
    // the model is not constant: different texts, different logits
    expect(Array.from(logits[0]!)).not.toEqual(Array.from(logits[1]!));
    await clf.release();
  });

  it('reads labels.txt when there is no id2label', async () => {
    const clf = await loadImportedClassifier(await classifierFolder('txt', 2, { 'labels.txt': 'urgent\nlater\n' }));
    expect(clf.labels).toEqual(['urgent', 'later']);
    await clf.release();
  });

  it('says what is wrong with the labels', async () => {
    const reject = async (dir: string, pattern: RegExp): Promise<void> => {
      const error = await loadImportedClassifier(dir).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(pattern);
    };
    await reject(await classifierFolder('none', 3, {}), /names no labels/);
    await reject(await classifierFolder('count', 3, { 'labels.txt': 'a\nb' }), /outputs 3 values per text but 2 labels/);
    await reject(await classifierFolder('gaps', 3, { 'config.json': JSON.stringify({ id2label: { 0: 'a', 2: 'c', 3: 'd' } }) }), /without gaps/);
  });

  it('names the missing model and tokenizer for a folder that does not exist, every time', async () => {
    // Both the files and the labels are missing there; the files are what to tell the user about.
    const errors = await Promise.all(Array.from({ length: 20 }, () => loadImportedClassifier(join(root, 'nowhere')).then(() => undefined, (e: unknown) => e)));
    for (const e of errors) expect((e as Error).message).toMatch(/has no model\.onnx and tokenizer\.json/);
  });
});
