import { readExamples } from '../src/index.js';
import { initBackend, trainBase } from '../src/trainIndex.js';
await initBackend();
const rows = (await readExamples('/work/shared/data/flipkart-products/flipkart_com-ecommerce_sample.csv', { format: 'csv', header: false, textColumn: 1, labelColumn: 2, labelDepth: 1 })).slice(0, 6000);
for (let i = 0; i < 2; i++) {
  const r = await trainBase(rows, { epochs: 2, patience: 5 });
  console.log(JSON.stringify({ seconds: r.seconds, sps: Math.round(r.samplesPerSecond) }));
}
