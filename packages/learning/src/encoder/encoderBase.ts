import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '@flywheel/runtime';
import * as ort from 'onnxruntime-node';
import { DEFAULT_MAX_LENGTH, ENCODER_FILES, EncoderConfig, TokenizerJsonHints } from './encoderConfig.js';
import { createHfTokenizer, type HfTokenizer } from './hfTokenizers.js';
import { hybridEncoder } from './hybridEncoder.js';
import { padTokenId, truncatingTokenizer, type TextTokens } from './textTokens.js';

/** The bytes of an encoder base: as read from a folder or from the object store. */
export interface EncoderFiles {
  model: Uint8Array;
  tokenizer: Uint8Array;
  tokenizerConfig?: Uint8Array;
  config?: Uint8Array;
}

export interface EncoderOptions {
  /** onnxruntime intra-op threads (default: onnxruntime's choice) */
  intraOpNumThreads?: number;
  /** texts per encoder run (default 32) */
  batchSize?: number;
  /** onnxruntime execution providers in order of preference (default ['cpu']) */
  executionProviders?: string[];
}

/** A frozen transformer encoder: texts in, one vector per text out. */
export interface TextEncoder {
  /** content hash of model, tokenizer and config: the same bytes give the same hash */
  readonly hash: string;
  readonly dim: number;
  readonly maxLength: number;
  /** how rows become one vector; 'output' = the model outputs a pooled embedding itself */
  readonly pooling: 'cls' | 'mean' | 'output';
  tokenize(text: string): TextTokens;
  /** one row per text, in order */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  release(): Promise<void>;
}

const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

/** Content hash of an encoder base: files by name, so renaming nothing and changing any byte changes it. */
export function encoderHash(files: EncoderFiles): string {
  const parts = Object.entries({ model: files.model, tokenizer: files.tokenizer, tokenizerConfig: files.tokenizerConfig, config: files.config })
    .filter((e): e is [string, Uint8Array] => e[1] !== undefined)
    .map(([name, bytes]) => `${name}:${sha256(bytes)}`);
  return sha256(parts.join('\n'));
}

async function readOptional(path: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(path);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw cause;
  }
}

/** Reads an encoder base folder; says which required file is missing. */
export async function readEncoderFolder(dir: string): Promise<EncoderFiles> {
  const [model, tokenizer, tokenizerConfig, config] = await Promise.all(
    [ENCODER_FILES.model, ENCODER_FILES.tokenizer, ENCODER_FILES.tokenizerConfig, ENCODER_FILES.config].map((f) => readOptional(join(dir, f))),
  );
  const missing = [model === undefined ? ENCODER_FILES.model : undefined, tokenizer === undefined ? ENCODER_FILES.tokenizer : undefined].filter((f) => f !== undefined);
  if (model === undefined || tokenizer === undefined) {
    throw new ConfigError(
      `encoder base folder ${dir} has no ${missing.join(' and ')}: it needs model.onnx (the transformer exported to ONNX for feature extraction) and tokenizer.json (Hugging Face tokenizers format)`,
      { reason: 'encoder_files_missing', details: { dir, missing } },
    );
  }
  return { model, tokenizer, ...(tokenizerConfig ? { tokenizerConfig } : {}), ...(config ? { config } : {}) };
}

function parseJson(bytes: Uint8Array, file: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
  } catch (cause) {
    throw new ConfigError(`${file} of the encoder base is not valid JSON; fix or re-export it`, { cause, reason: 'encoder_file_invalid', details: { file } });
  }
}

function parseConfig(files: EncoderFiles): EncoderConfig {
  if (files.config === undefined) return EncoderConfig.parse({});
  const parsed = EncoderConfig.safeParse(parseJson(files.config, ENCODER_FILES.config));
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError(`${ENCODER_FILES.config} is invalid (${issues}); allowed keys: pooling "cls"|"mean", maxLength, output, hybrid {buckets}`, {
      reason: 'encoder_config_invalid',
      details: parsed.error.issues,
    });
  }
  return parsed.data;
}

function loadTokenizer(files: EncoderFiles): { tokenizer: HfTokenizer; hints: ReturnType<typeof TokenizerJsonHints.parse> } {
  const json = parseJson(files.tokenizer, ENCODER_FILES.tokenizer);
  const hints = TokenizerJsonHints.safeParse(json);
  if (!hints.success) throw new ConfigError(`${ENCODER_FILES.tokenizer} has no "model" section; save it with a Hugging Face tokenizers version that writes one`, { reason: 'encoder_file_invalid' });
  const config = files.tokenizerConfig ? parseJson(files.tokenizerConfig, ENCODER_FILES.tokenizerConfig) : {};
  try {
    return { tokenizer: createHfTokenizer(json as object, (config ?? {}) as object), hints: hints.data };
  } catch (cause) {
    throw new ConfigError(`${ENCODER_FILES.tokenizer} could not be loaded by @huggingface/tokenizers (${(cause as Error).message}); use a WordPiece, BPE or Unigram tokenizer.json`, {
      cause,
      reason: 'encoder_file_invalid',
    });
  }
}

const ID_TYPES = new Set(['int64', 'int32']);
const KNOWN_INPUTS = new Set(['input_ids', 'attention_mask', 'token_type_ids']);

type Signature = { ids: 'int64' | 'int32'; withTypes: boolean; output: string; rank: number };

/** Checks the model's inputs and outputs against what an encoder base needs, naming what is missing. */
function checkSignature(session: ort.InferenceSession, config: EncoderConfig): Signature {
  const inputs = new Map(session.inputMetadata.map((m) => [m.name, m]));
  const missing = ['input_ids', 'attention_mask'].filter((n) => !inputs.has(n));
  const unknown = [...inputs.keys()].filter((n) => !KNOWN_INPUTS.has(n));
  if (missing.length > 0 || unknown.length > 0) {
    throw new ConfigError(
      `model.onnx has inputs [${[...inputs.keys()].join(', ')}]${missing.length ? `, missing ${missing.join(', ')}` : ''}${unknown.length ? `, unexpected ${unknown.join(', ')}` : ''}: an encoder base takes input_ids, attention_mask and optionally token_type_ids (export for feature extraction, without past key values or position_ids)`,
      { reason: 'encoder_inputs', details: { inputs: [...inputs.keys()], missing, unknown } },
    );
  }
  const types = [...inputs.values()].map((m) => (m.isTensor ? m.type : 'non-tensor'));
  if (!types.every((t) => ID_TYPES.has(t)) || new Set(types).size !== 1) {
    throw new ConfigError(`model.onnx inputs have types [${types.join(', ')}]; an encoder base needs them all int64 (or all int32)`, { reason: 'encoder_inputs' });
  }
  const outputs = new Map(session.outputMetadata.map((m) => [m.name, m]));
  const rankOf = (name: string): number | undefined => {
    const m = outputs.get(name);
    return m?.isTensor ? m.shape.length : undefined;
  };
  const describe = [...outputs.values()].map((m) => `${m.name}${m.isTensor ? ` [${m.shape.join(', ')}]` : ''}`).join(', ');
  let output: string | undefined;
  if (config.output !== undefined) output = outputs.has(config.output) ? config.output : undefined;
  else if (outputs.has('last_hidden_state')) output = 'last_hidden_state';
  else {
    const pooled = [...outputs.keys()].filter((n) => rankOf(n) === 2);
    if (pooled.length === 1) output = pooled[0];
  }
  const rank = output === undefined ? undefined : rankOf(output);
  if (output === undefined || (rank !== 2 && rank !== 3)) {
    throw new ConfigError(
      `model.onnx outputs [${describe}] have no ${config.output ?? 'last_hidden_state'} [batch, sequence, hidden] nor one pooled [batch, hidden] output; export for feature extraction or name the output in flywheel-encoder.json ("output")`,
      { reason: 'encoder_outputs', details: { outputs: [...outputs.keys()] } },
    );
  }
  const first = inputs.get('input_ids');
  return { ids: first?.isTensor && first.type === 'int32' ? 'int32' : 'int64', withTypes: inputs.has('token_type_ids'), output, rank };
}

/** Pools one row of a [batch, sequence, dim] output: [CLS] row or mean over attended tokens. */
function poolRow(data: Float32Array, row: number, seq: number, dim: number, length: number, pooling: 'cls' | 'mean'): Float32Array {
  const base = row * seq * dim;
  if (pooling === 'cls') return data.slice(base, base + dim);
  const out = new Float32Array(dim);
  for (let t = 0; t < length; t++) for (let d = 0; d < dim; d++) out[d]! += data[base + t * dim + d]!;
  for (let d = 0; d < dim; d++) out[d]! /= Math.max(1, length);
  return out;
}

/**
 * Opens an encoder base: parses config and tokenizer, creates the onnxruntime session, checks inputs
 * and outputs, and embeds one probe text so a model that cannot run fails here, not on first traffic.
 */
export async function createTextEncoder(files: EncoderFiles, options: EncoderOptions = {}): Promise<TextEncoder> {
  const config = parseConfig(files);
  const { tokenizer, hints } = loadTokenizer(files);
  const maxLength = config.maxLength ?? hints.truncation?.max_length ?? DEFAULT_MAX_LENGTH;
  const tokenize = truncatingTokenizer(tokenizer, maxLength);
  const padId = padTokenId(tokenizer, hints.padding?.pad_id);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(files.model, {
      executionProviders: options.executionProviders ?? ['cpu'],
      ...(options.intraOpNumThreads !== undefined ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
  } catch (cause) {
    throw new ConfigError(`model.onnx could not be loaded by onnxruntime (${(cause as Error).message}); re-export it with an opset onnxruntime supports`, {
      cause,
      reason: 'encoder_model_invalid',
    });
  }
  let signature: Signature;
  try {
    signature = checkSignature(session, config);
  } catch (error) {
    await session.release();
    throw error;
  }
  const pooling = signature.rank === 2 ? 'output' : config.pooling;
  const batchSize = options.batchSize ?? 32;

  const runBatch = async (rows: TextTokens[]): Promise<Float32Array[]> => {
    const seq = Math.max(...rows.map((r) => r.ids.length));
    const n = rows.length * seq;
    const make = (fill: (r: TextTokens, t: number) => number): ort.Tensor => {
      const values = new Array<number>(n);
      rows.forEach((r, i) => {
        for (let t = 0; t < seq; t++) values[i * seq + t] = fill(r, t);
      });
      return signature.ids === 'int64'
        ? new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), [rows.length, seq])
        : new ort.Tensor('int32', Int32Array.from(values), [rows.length, seq]);
    };
    const feeds: Record<string, ort.Tensor> = {
      input_ids: make((r, t) => r.ids[t] ?? padId),
      attention_mask: make((r, t) => (t < r.ids.length ? 1 : 0)),
    };
    if (signature.withTypes) feeds.token_type_ids = make((r, t) => r.typeIds[t] ?? 0);
    const result = await session.run(feeds, [signature.output]);
    const out = result[signature.output];
    if (out === undefined || out.type !== 'float32') {
      throw new ConfigError(`model.onnx output ${signature.output} is ${out?.type ?? 'missing'}; an encoder base must output float32`, { reason: 'encoder_outputs' });
    }
    const data = out.data as Float32Array;
    if (pooling === 'output') {
      const dim = out.dims[1] as number;
      return rows.map((_, i) => data.slice(i * dim, (i + 1) * dim));
    }
    const dim = out.dims[2] as number;
    return rows.map((r, i) => poolRow(data, i, seq, dim, r.ids.length, pooling));
  };

  const embed = async (texts: readonly string[]): Promise<Float32Array[]> => {
    const tokens = texts.map(tokenize);
    // similar lengths share a batch, so little of each run is padding
    const order = tokens.map((_, i) => i).sort((a, b) => tokens[a]!.ids.length - tokens[b]!.ids.length);
    const rows = new Array<Float32Array>(texts.length);
    for (let start = 0; start < order.length; start += batchSize) {
      const idx = order.slice(start, start + batchSize);
      const embedded = await runBatch(idx.map((i) => tokens[i]!));
      idx.forEach((i, k) => (rows[i] = embedded[k]!));
    }
    return rows;
  };

  let probe: Float32Array[];
  try {
    probe = await embed(['']);
  } catch (cause) {
    await session.release();
    if (cause instanceof ConfigError) throw cause;
    throw new ConfigError(`model.onnx failed on a probe text (${(cause as Error).message}); check it runs in onnxruntime with input_ids and attention_mask`, {
      cause,
      reason: 'encoder_model_invalid',
    });
  }
  const plain: TextEncoder = {
    hash: encoderHash(files),
    dim: probe[0]!.length,
    maxLength,
    pooling,
    tokenize,
    embed,
    release: () => session.release(),
  };
  if (config.hybrid === undefined) return plain;
  // The config file is part of the folder's hash, so a hybrid never shares cached rows with its plain encoder.
  const hybrid = hybridEncoder(plain, { features: { buckets: config.hybrid.buckets } });
  return { ...plain, hash: hybrid.hash, dim: hybrid.dim, embed: hybrid.embed };
}

/** Reads and opens an encoder base folder. */
export async function loadTextEncoder(dir: string, options: EncoderOptions = {}): Promise<TextEncoder> {
  return createTextEncoder(await readEncoderFolder(dir), options);
}
