import { readExamples } from '@flywheel/learning';
import { join } from 'node:path';

/** The texts of the shipped datasets (see shared/data/README.md): Flipkart product titles and CLINC150 requests. */
export async function shippedTexts(dataDir: string): Promise<string[]> {
  const [products, requests] = await Promise.all([
    readExamples(join(dataDir, 'flipkart-products', 'flipkart_com-ecommerce_sample.csv'), { format: 'csv', header: false, textColumn: 1, labelColumn: 2, labelDepth: 1 }),
    readExamples(join(dataDir, 'clinc150', 'clinc150.csv'), { format: 'csv', header: true, textColumn: 'text', labelColumn: 'label', labelDepth: 1 }),
  ]);
  return [...products, ...requests].map((e) => e.text);
}
