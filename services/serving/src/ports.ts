import type { RoutingTable } from '@flywheel/contracts';

/** Output of one inference call over a batch: `labelIndex [rows]`, `confidence [rows]`, `probabilities [rows * labels]`. */
export interface RawScores {
  rows: number;
  labelIndex: Int32Array;
  confidence: Float32Array;
  probabilities: Float32Array;
}

/** One adapter applied to a loaded base: what a request runs. */
export interface Classifier {
  readonly labels: readonly string[];
  readonly version: string;
  predictRaw(texts: readonly string[]): Promise<RawScores>;
}

/** A loaded base model (one inference session); adapters attach to it cheaply. */
export interface BaseModel {
  readonly baseVersion: string;
  /** Verifies and merges the adapter; fast, shares the base's session. */
  createClassifier(adapterBytes: Uint8Array, manifest: unknown): Classifier;
  release(): Promise<void>;
}

/** A user's encoder or classifier folder in the object store (issue 15): read once per hash, shared. */
export interface EncoderSource {
  /** content hash: the same files give the same hash, so every version on them shares one session */
  hash: string;
  /** the folder's files by name (model.onnx, tokenizer.json, …), verified */
  files(): Promise<Record<string, Uint8Array>>;
}

/** Loads base models; main.ts backs it with @flywheel/learning's onnxruntime base. */
export interface InferenceEngine {
  /** `encoder`: the frozen encoder a base exported from an encoder-base state runs on */
  loadBase(onnxBytes: Uint8Array, options?: { encoder?: EncoderSource }): Promise<BaseModel>;
  /** a user's classifier served as it is; its classifiers ignore adapter bytes */
  loadImported?(source: EncoderSource, labels: readonly string[]): Promise<BaseModel>;
  /** releases what the engine shares between bases (encoder sessions) */
  close?(): Promise<void>;
}

/** One version's serving artifacts: adapter bytes, its manifest (parsed by the engine) and the base it needs. */
export interface VersionArtifact {
  adapterBytes: Uint8Array;
  adapterManifest: unknown;
  baseVersion: string;
  /** Reads the base ONNX; called only when that base is not loaded yet. */
  baseOnnx(): Promise<Uint8Array>;
  /** absent: 'adapter'. An imported classifier has no base ONNX and no adapter: it is `encoder` itself. */
  kind?: 'adapter' | 'imported-classifier';
  /** the encoder folder the version runs on (an imported classifier's own folder) */
  encoder?: EncoderSource;
  /** the version's labels (an imported classifier's, in output order) */
  labels?: readonly string[];
}

/**
 * Where serving finds versions: the model registry (which version is champion) and the artifact
 * store (adapter and base bytes, verified). Serving only reads.
 */
export interface ModelSource {
  /** The current champion version, or undefined when the model has none yet. */
  champion(model: string): Promise<string | undefined>;
  version(model: string, version: string): Promise<VersionArtifact>;
  /** Every model that has a champion: what a follow-all replica serves when it (re)starts. */
  modelsWithChampion?(): Promise<string[]>;
}

/** The routing table cache the ab-router writes (Redis); read once at start per model. */
export interface RoutingStore {
  get(model: string): Promise<RoutingTable | undefined>;
}
