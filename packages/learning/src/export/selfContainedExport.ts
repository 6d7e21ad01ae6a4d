import { createHash } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LearningError } from '../errors.js';
import { featurizeModuleSource } from './featurizeModule.js';
import { mergeAdapterIntoBase } from './mergedOnnx.js';
import { FEATURIZER_RULES, type FeaturizerSpec } from './textFeaturizer.js';

/** What serving loads for one version (MinioArtifactStore.readServing gives exactly these). */
export interface ExportSource {
  baseOnnx: Uint8Array;
  adapterBytes: Uint8Array;
  adapterManifest: unknown;
  /** registry name of the model, for export.json and the README */
  model?: string;
}

/** export.json: what the folder holds and how to read its outputs. */
export interface ExportManifest {
  format: 'flywheel-export/v1';
  model: string | undefined;
  version: string;
  baseVersion: string;
  /** folded into model.onnx: logits are already z / temperature */
  temperature: number;
  labels: number;
  inputs: { indices: string; weights: string };
  outputs: { logits: string; probabilities: string };
  /** sha256 (hex) of every other file */
  files: Record<string, string>;
  createdAt: string;
}

export interface SelfContainedExport {
  manifest: ExportManifest;
  /** file name → bytes, export.json included */
  files: Record<string, Uint8Array>;
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const json = (v: unknown): Uint8Array => utf8(`${JSON.stringify(v, null, 2)}\n`);

/**
 * One folder that classifies text with onnxruntime alone: model.onnx (adapter, embedding delta and
 * temperature merged into its initializers; inputs are only the text features), labels.json,
 * featurizer.json, featurize.mjs (dependency-free featurizer), predict.mjs (example), README.md, export.json.
 */
export function buildSelfContainedExport(source: ExportSource, options: { createdAt?: string } = {}): SelfContainedExport {
  const merged = mergeAdapterIntoBase(source.baseOnnx, source.adapterBytes, source.adapterManifest);
  const { manifest } = merged;
  const spec: FeaturizerSpec = { format: 'flywheel-featurizer/v1', ...merged.features, about: FEATURIZER_RULES };
  const name = source.model ?? manifest.modelName;
  const files: Record<string, Uint8Array> = {
    'model.onnx': merged.onnx,
    'labels.json': json(manifest.labels),
    'featurizer.json': json(spec),
    'featurize.mjs': utf8(featurizeModuleSource()),
    'predict.mjs': utf8(PREDICT_MJS),
  };
  files['README.md'] = utf8(readme(name, manifest.version, merged.temperature, manifest.labels.length, spec));
  const exportManifest: ExportManifest = {
    format: 'flywheel-export/v1',
    model: name,
    version: manifest.version,
    baseVersion: manifest.baseVersion,
    temperature: merged.temperature,
    labels: manifest.labels.length,
    inputs: { indices: 'int32 [batch, features]: hashed feature ids', weights: 'float32 [batch, features]: count / total per id, 0 = padding' },
    outputs: { logits: `float32 [batch, ${manifest.labels.length}]: logits / temperature`, probabilities: `float32 [batch, ${manifest.labels.length}]: softmax of logits, columns in labels.json order` },
    files: Object.fromEntries(Object.entries(files).map(([f, bytes]) => [f, createHash('sha256').update(bytes).digest('hex')])),
    createdAt: options.createdAt ?? new Date().toISOString(),
  };
  files['export.json'] = json(exportManifest);
  return { manifest: exportManifest, files };
}

/** Writes the export into `dir` (created when missing); refuses a folder that already holds files. */
export async function writeExportFolder(dir: string, exported: SelfContainedExport): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const existing = await readdir(dir);
  if (existing.length > 0) throw new LearningError('invalid_data', `${dir} is not empty (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', …' : ''}); export into a new or empty folder`);
  const written: string[] = [];
  for (const [name, bytes] of Object.entries(exported.files)) {
    const path = join(dir, name);
    await writeFile(path, bytes);
    written.push(path);
  }
  return written;
}

const PREDICT_MJS = `// Example: node predict.mjs "first text" "second text"   (needs: npm install onnxruntime-node)
import { realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { loadFeaturizer } from './featurize.mjs';

const here = (file) => new URL(file, import.meta.url);
const labels = JSON.parse(await readFile(here('labels.json'), 'utf8'));
const featurize = await loadFeaturizer();
const session = await ort.InferenceSession.create(await readFile(here('model.onnx')));

/** Label, confidence and every label's probability per text. */
export async function predict(texts) {
  const f = featurize(texts);
  const out = await session.run({
    indices: new ort.Tensor('int32', f.indices, [f.rows, f.width]),
    weights: new ort.Tensor('float32', f.weights, [f.rows, f.width]),
  });
  const p = out.probabilities.data;
  const C = labels.length;
  return texts.map((text, r) => {
    let best = 0;
    for (let c = 1; c < C; c++) if (p[r * C + c] > p[r * C + best]) best = c;
    return { text, label: labels[best], confidence: p[r * C + best], probabilities: Object.fromEntries(labels.map((l, c) => [l, p[r * C + c]])) };
  });
}

// run as a script (not imported): one JSON line per text
if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  for (const r of await predict(process.argv.slice(2))) console.log(JSON.stringify({ text: r.text, label: r.label, confidence: r.confidence }));
}
`;

function readme(model: string | undefined, version: string, temperature: number, labels: number, spec: FeaturizerSpec): string {
  const title = model === undefined || version.startsWith(`${model}@`) ? version : `${model}@${version}`;
  return `# ${title}: self-contained text classifier

Everything needed to classify text with onnxruntime and nothing else of Flywheel.

| file | what |
| --- | --- |
| \`model.onnx\` | one graph (opset 13): the base with the version's adapter (LoRA, embedding rows, head) merged in and the temperature ${temperature} folded into the head |
| \`labels.json\` | the ${labels} labels, in output column order |
| \`featurizer.json\` | how text becomes the model's inputs (hash buckets ${spec.buckets}, at most ${spec.maxFeatures} features per text, word n-grams up to ${spec.wordNgrams}, character n-grams ${spec.charNgramMin}–${spec.charNgramMax}, seed ${spec.seed}) |
| \`featurize.mjs\` | the featurizer as an ES module without dependencies |
| \`predict.mjs\` | example: \`node predict.mjs "some text"\` (needs \`npm install onnxruntime-node\`) |
| \`export.json\` | version, temperature, shapes, and the sha256 of every file |

## Inputs

\`featurize(texts)\` (from \`await loadFeaturizer()\` in featurize.mjs, or \`createTextFeaturizer(spec)\` with the parsed
featurizer.json) returns \`{ rows, width, indices, weights }\`:

- \`indices\`: int32 \`[rows, width]\`, hashed feature ids in \`[0, ${spec.buckets})\`
- \`weights\`: float32 \`[rows, width]\`, count of the id in the text / count of all kept ids; 0 marks padding

Text is NFKD-normalised, combining marks removed, lower-cased and split into runs of letters and digits;
features are the words, word bigrams and character n-grams of \`<word>\`, hashed with 32-bit FNV-1a.
Any width works (padding has weight 0); \`featurize(texts, { pad: 'full' })\` always gives width ${spec.maxFeatures}.
featurizer.json spells the rules out under \`about\` for a port to another language; normalisation and the
\`\\p{…}\` classes follow the JavaScript engine's Unicode tables (Node's, in the tests).

## Outputs

- \`probabilities\`: float32 \`[rows, ${labels}]\`, calibrated, columns in labels.json order
- \`logits\`: float32 \`[rows, ${labels}]\`, already divided by the temperature (softmax of them = probabilities)

The outputs equal Flywheel serving's for this version to within 1e-5.
`;
}
