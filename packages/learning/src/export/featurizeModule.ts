import { createTextFeaturizer } from './textFeaturizer.js';

/**
 * Source of featurize.mjs: an ES module without imports (node:fs is imported lazily, only by
 * loadFeaturizer) whose core is the compiled createTextFeaturizer, so it cannot drift from the package's copy.
 */
export function featurizeModuleSource(): string {
  const core = createTextFeaturizer.toString();
  if (!core.startsWith('function createTextFeaturizer(')) throw new Error('createTextFeaturizer must stay a plain function declaration: its source is shipped as featurize.mjs');
  // esbuild-based runners (tsx) wrap inner functions in __name(fn, "name"); tsc output has none.
  const shim = core.includes('__name(') ? 'const __name = (fn) => fn;\n' : '';
  return `// featurize.mjs: turns texts into the inputs of model.onnx (written by @flywheel/learning; do not edit).
// No dependencies. In Node: const featurize = await loadFeaturizer(); const { indices, weights, rows, width } = featurize(['some text']);
// Elsewhere: createTextFeaturizer(spec) with spec = the parsed featurizer.json.
// Inputs of model.onnx: indices int32 [rows, width], weights float32 [rows, width]; zero-weight padding is ignored.

/**
 * createTextFeaturizer(spec) returns featurize(texts, { pad: 'longest' | 'full' }) →
 * { rows, width, indices: Int32Array, weights: Float32Array, counts: Int32Array }.
 */
${shim}export ${core}

/** The featurizer of this folder (reads featurizer.json next to this file, or \`specUrl\`). */
export async function loadFeaturizer(specUrl = new URL('./featurizer.json', import.meta.url)) {
  const { readFile } = await import('node:fs/promises');
  const spec = JSON.parse(await readFile(specUrl, 'utf8'));
  if (spec.format !== 'flywheel-featurizer/v1') throw new Error(\`\${String(specUrl)} is not a flywheel-featurizer/v1 spec\`);
  return createTextFeaturizer(spec);
}
`;
}
