import type { Example } from './data.js';
import type { FeatureConfig } from './features.js';

/** Shape of the network: embedding bag → dense layers (relu) → head. */
export interface ModelConfig {
  features: FeatureConfig;
  embeddingDim: number;
  hiddenUnits: number[];
  /**
   * What makes h0. Absent: the hashed n-gram embedding bag (features + embedding table). 'encoder': a
   * frozen transformer (content hash `hash`) whose pooled output, embeddingDim wide, is h0; the
   * embedding table is then empty and `features` unused.
   */
  base?: { kind: 'encoder'; hash: string } | undefined;
}

/** LoRA settings: ΔW = (alpha / rank) · A · B on each target dense layer. */
export interface LoraConfig {
  rank: number;
  alpha: number;
  dropout: number;
  /** dense layer names: "dense0", "dense1", … */
  targets: string[];
}

/** One dense layer, kernel in [inputs, units] row-major (tfjs convention). */
export interface DenseWeights {
  inputs: number;
  units: number;
  kernel: Float32Array;
  bias: Float32Array;
}

/** The frozen part: what the ONNX base file holds. */
export interface BaseWeights {
  /** [buckets, embeddingDim] row-major */
  embedding: Float32Array;
  dense: DenseWeights[];
}

/** A: [inputs, rank], B: [rank, units], row-major. */
export interface LoraWeights {
  a: Float32Array;
  b: Float32Array;
}

/** The small trainable part shipped to serving. */
export interface AdapterWeights {
  mode: 'lora' | 'full';
  lora: LoraConfig;
  /** per target layer; empty in full mode */
  layers: Record<string, LoraWeights>;
  /** kernel [hidden, labels] row-major, bias [labels] */
  head: { kernel: Float32Array; bias: Float32Array };
  /** lora mode: sparse additions to the frozen embedding table (rows it learned), see EmbeddingDelta */
  embeddingDelta?: EmbeddingDelta;
}

/** Sparse embedding rows: E'[rows[k]] = E[rows[k]] + values[k] (values [rows.length, embeddingDim]). */
export interface EmbeddingDelta {
  rows: Int32Array;
  values: Float32Array;
}

/** Diagonal Fisher of the trainable parameters and the values they were anchored at. */
export interface FisherState {
  /** labels at estimation time: head entries of classes added later count as zero */
  labels: string[];
  values: Record<string, Float32Array>;
  anchors: Record<string, Float32Array>;
}

/** Everything needed to serve, evaluate or continue training a model version. */
export interface TrainingState {
  model: ModelConfig;
  baseVersion: string;
  base: BaseWeights;
  adapter: AdapterWeights;
  /** head column order; only appended to */
  labels: string[];
  fisher?: FisherState;
  replay?: Example[];
  /** rows of each class seen by the reservoir (for unbiased reservoir sampling) */
  replaySeen?: Record<string, number>;
  /** softmax temperature fitted on held-out rows (calibrated confidence); absent = 1 */
  temperature?: number;
}
