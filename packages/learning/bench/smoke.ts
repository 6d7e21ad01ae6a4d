import { readExamples, } from '/work/main/packages/learning/src/data.js';
import { trainBase } from '/work/main/packages/learning/src/train.js';
const rows = await readExamples('/work/shared/data/flipkart-products/flipkart_com-ecommerce_sample.csv', { format: 'csv', header: false, textColumn: 1, labelColumn: 2, labelDepth: 1 });
console.log(rows.length, rows[0]);
const t = performance.now();
const r = await trainBase(rows, { epochs: Number(process.argv[2] ?? 5), batchSize: Number(process.argv[3] ?? 128) });
console.log('s', (performance.now() - t) / 1000, r.history, r.validation.accuracy, r.validation.macroF1, r.samplesPerSecond, r.backend, r.bestEpoch);
