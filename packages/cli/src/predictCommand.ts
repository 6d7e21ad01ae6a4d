import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { NotFound } from '@flywheel/runtime';
import { Text } from '@flywheel/contracts';
import { chunk } from './chunk.js';
import { BadInput, ServiceRefused } from './cliErrors.js';
import { toCsv } from './csvFile.js';
import type { ServiceCall } from './serviceClient.js';
import { readTableRows, type ColumnFormat } from './tableRows.js';

/** Serving's batch limit (services/serving MAX_BATCH). */
export const PREDICT_BATCH = 256;

const Prediction = z.object({ label: z.string(), confidence: z.number(), modelVersion: z.string(), variant: z.string() }).passthrough();
const BatchAnswer = z.object({ predictions: z.array(Prediction) });
export type Prediction = z.infer<typeof Prediction>;

/** Serving's 404 for a model it does not serve becomes "no model named …" (exit 1). */
const unknownModel = (model: string) => (err: unknown): never => {
  if (err instanceof ServiceRefused && err.status === 404) throw new NotFound(`no model named ${model} is served (${err.message})`);
  throw err;
};

/** The texts of a CSV/JSONL file, every row checked (non-empty, at most the API's length). */
export const readTexts = (content: string, fmt: ColumnFormat): string[] => {
  const { rows, problems } = readTableRows(content, fmt, { label: false });
  for (const r of rows) {
    const t = Text.safeParse(r.text ?? '');
    if (!t.success) problems.push(`${r.where}: ${r.text === undefined ? 'no text column' : (t.error.issues[0]?.message ?? 'bad text')}`);
  }
  if (problems.length > 0) throw new BadInput(`cannot predict this file: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? `; and ${problems.length - 10} more` : ''}`);
  if (rows.length === 0) throw new BadInput('the file holds no rows to predict');
  return rows.map((r) => r.text as string);
};

export const predictCommands = {
  /** One text: prints label, confidence, version and variant. */
  async one(d: { serving: ServiceCall; print: (l: string) => void }, model: string, text: string): Promise<void> {
    const body = await d.serving('POST', `/v1/models/${encodeURIComponent(model)}/predict`, { body: { text } }).catch(unknownModel(model));
    const p = Prediction.parse(body);
    d.print(`label       ${p.label}\nconfidence  ${p.confidence.toFixed(4)}\nversion     ${p.modelVersion}\nvariant     ${p.variant}`);
  },

  /** Every row of a file, PREDICT_BATCH per request, in order; writes OUT as CSV (atomically: a temp file renamed). */
  async file(d: { serving: ServiceCall; print: (l: string) => void }, model: string, input: string, fmt: ColumnFormat, out: string): Promise<void> {
    const texts = readTexts(await readFile(input, 'utf8'), fmt);
    const rows: (string | number)[][] = [];
    for (const part of chunk(texts, PREDICT_BATCH)) {
      const body = await d.serving('POST', `/v1/models/${encodeURIComponent(model)}/predict/batch`, { body: { items: part.map((text) => ({ text })) } }).catch(unknownModel(model));
      const { predictions } = BatchAnswer.parse(body);
      if (predictions.length !== part.length) throw new Error(`serving answered ${predictions.length} predictions for ${part.length} rows`);
      predictions.forEach((p, i) => rows.push([part[i] as string, p.label, p.confidence.toFixed(6), p.modelVersion]));
    }
    const tmp = `${out}.tmp-${process.pid}`;
    await writeFile(tmp, toCsv(['text', 'label', 'confidence', 'modelVersion'], rows));
    await rename(tmp, out);
    const versions = [...new Set(rows.map((r) => r[3]))].join(', ');
    d.print(`predicted ${rows.length} rows with ${model} (${versions}) in ${Math.ceil(texts.length / PREDICT_BATCH)} requests; wrote ${out}`);
  },
};
