import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@flywheel/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeOnnxModel, floatRaw, OnnxType } from '../onnx/onnxModel.js';
import { createTextEncoder, loadTextEncoder, readEncoderFolder } from './encoderBase.js';
import { buildTinyBert } from './testing/tinyBert.js';
import { shippedClinc, writeTinyEncoder } from './testing/tinyEncoder.js';

const root = await mkdtemp(join(tmpdir(), 'flywheel-encoder-'));
afterAll(() => rm(root, { recursive: true, force: true }));

const texts = (await shippedClinc()).map((e) => e.text);
const { dir, vocab } = await writeTinyEncoder(join(root, 'tiny'), { texts, pooling: 'mean', maxLength: 24, seed: 5 });
const files = await readEncoderFolder(dir);
const samples = ['what is my balance', 'book a table for two at an italian place tonight please', 'hi', ''];

const expectRowsClose = (a: Float32Array[], b: Float32Array[]): void => {
  expect(a).toHaveLength(b.length);
  a.forEach((row, i) => row.forEach((v, d) => expect(Math.abs(v - b[i]![d]!)).toBeLessThan(1e-5)));
};

describe('encoder base folder', () => {
  it('embeds texts as 64-wide rows, the same alone as in a padded batch', async () => {
    const encoder = await loadTextEncoder(dir, { intraOpNumThreads: 1, batchSize: 3 });
    expect({ dim: encoder.dim, maxLength: encoder.maxLength, pooling: encoder.pooling }).toEqual({ dim: 64, maxLength: 24, pooling: 'mean' });
    const batched = await encoder.embed(samples);
    const alone = await Promise.all(samples.map(async (t) => (await encoder.embed([t]))[0]!));
    expectRowsClose(batched, alone);
    expect(batched[0]!.some((v, d) => Math.abs(v - batched[1]![d]!) > 1e-3)).toBe(true);
    await encoder.release();
  });

  it('truncates long text to maxLength, keeping [CLS] and [SEP]', async () => {
    const encoder = await createTextEncoder(files);
    const tokens = encoder.tokenize('what is my balance '.repeat(40));
    expect(tokens.ids).toHaveLength(24);
    expect(vocab[tokens.ids[0]!]).toBe('[CLS]');
    expect(vocab[tokens.ids[23]!]).toBe('[SEP]');
    expect(vocab[tokens.ids[1]!]).toBe('what');
    expect((await encoder.embed(['what is my balance '.repeat(40)]))[0]).toHaveLength(64);
    await encoder.release();
  });

  it('pools by [CLS] when the config says so, and the hash follows the bytes', async () => {
    const cls = await createTextEncoder({ ...files, config: Buffer.from(JSON.stringify({ pooling: 'cls', maxLength: 24 })) });
    const mean = await createTextEncoder(files);
    expect(cls.pooling).toBe('cls');
    const [a, b] = [(await cls.embed(['hi there']))[0]!, (await mean.embed(['hi there']))[0]!];
    expect(a.some((v, d) => Math.abs(v - b[d]!) > 1e-3)).toBe(true);
    expect(cls.hash).not.toBe(mean.hash);
    expect((await createTextEncoder(await readEncoderFolder(dir))).hash).toBe(mean.hash);
    await Promise.all([cls.release(), mean.release()]);
  });

  it('a hybrid config puts the unit-length encoder row before a unit-length n-gram bag, with its own hash', async () => {
    const hybrid = await createTextEncoder({ ...files, config: Buffer.from(JSON.stringify({ pooling: 'mean', maxLength: 24, hybrid: { buckets: 128 } })) });
    const mean = await createTextEncoder(files);
    expect(hybrid.dim).toBe(64 + 128);
    expect(hybrid.hash).not.toBe(mean.hash);
    const [h] = await hybrid.embed(['what is my balance']);
    const [m] = await mean.embed(['what is my balance']);
    const norm = Math.hypot(...m!);
    m!.forEach((v, d) => expect(Math.abs(h![d]! - v / norm)).toBeLessThan(1e-5));
    const bag = h!.subarray(64);
    expect(Math.hypot(...bag)).toBeCloseTo(1, 5);
    // a word the tiny vocabulary lacks still changes the n-gram half
    const [unseen] = await hybrid.embed(['what is my zorblax balance']);
    expect(unseen!.subarray(64).some((v, d) => Math.abs(v - bag[d]!) > 1e-3)).toBe(true);
    await Promise.all([hybrid.release(), mean.release()]);
  });

  it('uses a pooled output as it is', async () => {
    const model = buildTinyBert({ vocabSize: vocab.length, pooler: true, tokenTypes: false, seed: 2 });
    const encoder = await createTextEncoder({ ...files, model, config: Buffer.from(JSON.stringify({ output: 'pooler_output' })) });
    expect(encoder.pooling).toBe('output');
    const rows = await encoder.embed(['hi', 'what is my balance']);
    expect(rows.map((r) => r.length)).toEqual([64, 64]);
    expect(rows[0]!.every((v) => Math.abs(v) <= 1)).toBe(true); // tanh
    await encoder.release();
  });
});

describe('encoder base errors name what is missing', () => {
  const rejects = async (promise: Promise<unknown>, pattern: RegExp): Promise<void> => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(pattern);
  };

  it('a folder without tokenizer.json', async () => {
    const empty = join(root, 'no-tokenizer');
    await writeTinyEncoder(empty, { texts: ['a b c'] });
    await rm(join(empty, 'tokenizer.json'));
    await rejects(readEncoderFolder(empty), /has no tokenizer\.json/);
    await rejects(readEncoderFolder(join(root, 'nothing-here')), /has no model\.onnx and tokenizer\.json/);
  });

  it('a model without attention_mask', async () => {
    const model = encodeOnnxModel(
      {
        name: 'ids_only',
        nodes: [{ op: 'Gather', name: 'g', inputs: ['emb', 'input_ids'], outputs: ['last_hidden_state'], attributes: [{ name: 'axis', int: 0 }] }],
        initializers: [{ name: 'emb', dims: [vocab.length, 4], dataType: OnnxType.FLOAT, raw: floatRaw(new Float32Array(vocab.length * 4)) }],
        inputs: [{ name: 'input_ids', elemType: OnnxType.INT64, shape: ['batch', 'sequence'] }],
        outputs: [{ name: 'last_hidden_state', elemType: OnnxType.FLOAT, shape: ['batch', 'sequence', 4] }],
      },
      { opset: 13, producer: 'test', metadata: {} },
    );
    await rejects(createTextEncoder({ ...files, model }), /missing attention_mask/);
  });

  it('an output that is not there, a bad config, bytes that are not ONNX or a tokenizer', async () => {
    await rejects(createTextEncoder({ ...files, config: Buffer.from('{"output":"sentence_embedding"}') }), /outputs \[last_hidden_state \[batch, sequence, 64\]\] have no sentence_embedding/);
    await rejects(createTextEncoder({ ...files, config: Buffer.from('{"pooling":"max"}') }), /flywheel-encoder\.json is invalid \(pooling/);
    await rejects(createTextEncoder({ ...files, model: Buffer.from('not onnx') }), /could not be loaded by onnxruntime/);
    await rejects(createTextEncoder({ ...files, tokenizer: Buffer.from('{"model":{"type":"Nope"}}') }), /could not be loaded by @huggingface\/tokenizers/);
  });
});
