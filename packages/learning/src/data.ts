import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { LearningError } from './errors.js';
import { normalizeText } from './features.js';
import { fnv1a } from './random.js';

/** Where a labelled row came from; decides its sample weight. */
export const ExampleSource = z.enum(['original', 'human_correction', 'confirmation', 'pseudo_label']);
export type ExampleSource = z.infer<typeof ExampleSource>;

/** One labelled text. `group` keeps near-duplicates on one side of a split. */
export const Example = z.object({
  text: z.string(),
  label: z.string().min(1),
  group: z.string().optional(),
  source: ExampleSource.optional(),
  confidence: z.number().min(0).max(1).optional(),
});
export type Example = z.infer<typeof Example>;

/** How to read a CSV or JSONL file into examples. */
export interface TableFormat {
  format: 'csv' | 'jsonl';
  /** csv only: first row is a header (default true) */
  header?: boolean;
  /** column name (header / JSON key) or 0-based index */
  textColumn: string | number;
  labelColumn: string | number;
  /** group key for splits; default: the normalized text */
  groupColumn?: string | number;
  /** cut "A >> B >> C" label paths at this depth (1 = top level); default: keep the label as is */
  labelDepth?: number;
  /** default " >> " */
  labelSeparator?: string;
  /** drop rows whose path is shorter than labelDepth (default true); else keep the shorter path */
  minLabelDepth?: boolean;
}

/** RFC 4180 CSV: quoted fields, doubled quotes, commas and newlines inside quotes. */
export function parseCsv(content: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let inQuotes = false;
  let i = 0;
  const n = content.length;
  while (i < n) {
    const c = content[i] as string;
    if (inQuotes) {
      if (c === '"') {
        if (content[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        inQuotes = false;
        i++;
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"') {
      inQuotes = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && content[i + 1] === '\n') i++;
      row.push(field);
      field = '';
      if (!(row.length === 1 && row[0] === '')) rows.push(row);
      row = [];
    } else {
      field += c;
    }
    i++;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/**
 * Label path cut at `depth`. Accepts "A >> B >> C" or a JSON array holding one such string
 * (the flipkart layout). Returns undefined when the path is shorter than `depth` and `strict`.
 */
export function cutLabelPath(raw: string, depth: number, separator = ' >> ', strict = true): string | undefined {
  let path = raw.trim();
  if (path.startsWith('[')) {
    try {
      const parsed = z.array(z.string()).min(1).safeParse(JSON.parse(path));
      if (parsed.success) path = parsed.data[0] as string;
    } catch {
      // not JSON: keep the raw text
    }
  }
  const parts = path.split(separator).map((p) => p.trim()).filter((p) => p.length > 0);
  // A one-level flipkart path is the product name itself, not a category: no label.
  if (parts.length <= 1 && depth >= 1 && raw.trim().startsWith('[')) return undefined;
  if (parts.length < depth && strict) return undefined;
  const cut = parts.slice(0, depth);
  return cut.length > 0 ? cut.join(separator) : undefined;
}

function column(row: readonly string[] | Record<string, unknown>, key: string | number, header: readonly string[] | undefined): unknown {
  if (Array.isArray(row)) {
    const index = typeof key === 'number' ? key : (header?.indexOf(key) ?? -1);
    if (index < 0) throw new LearningError('invalid_data', `column "${String(key)}" not found; pass a header row or a 0-based index`);
    return row[index];
  }
  const record = row as Record<string, unknown>;
  if (typeof key === 'number') return Object.values(record)[key];
  return record[key];
}

const asText = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : Array.isArray(v) ? JSON.stringify(v) : undefined;

/** Parses CSV/JSONL content into examples; rows without text or label are skipped. */
export function parseExamples(content: string, format: TableFormat): Example[] {
  const out: Example[] = [];
  const toExample = (row: readonly string[] | Record<string, unknown>, header: readonly string[] | undefined): void => {
    const text = asText(column(row, format.textColumn, header));
    const rawLabel = asText(column(row, format.labelColumn, header));
    if (text === undefined || text.trim() === '' || rawLabel === undefined || rawLabel.trim() === '') return;
    const label =
      format.labelDepth !== undefined
        ? cutLabelPath(rawLabel, format.labelDepth, format.labelSeparator ?? ' >> ', format.minLabelDepth ?? true)
        : rawLabel.trim();
    if (label === undefined) return;
    const group = format.groupColumn !== undefined ? asText(column(row, format.groupColumn, header)) : undefined;
    out.push({ text, label, group: group ?? normalizeText(text).trim() });
  };
  if (format.format === 'csv') {
    const rows = parseCsv(content);
    const hasHeader = format.header ?? true;
    const header = hasHeader ? rows[0] : undefined;
    for (let i = hasHeader ? 1 : 0; i < rows.length; i++) toExample(rows[i] as string[], header);
  } else {
    const lines = content.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const line = (lines[i] as string).trim();
      if (line === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (cause) {
        throw new LearningError('invalid_data', `line ${i + 1} is not valid JSON; fix or remove it`, { cause });
      }
      const record = z.record(z.unknown()).safeParse(value);
      if (!record.success) throw new LearningError('invalid_data', `line ${i + 1} is not a JSON object`);
      toExample(record.data, undefined);
    }
  }
  return out;
}

/** Reads a CSV or JSONL file (UTF-8) into examples. */
export async function readExamples(path: string, format: TableFormat): Promise<Example[]> {
  return parseExamples(await readFile(path, 'utf8'), format);
}

/** Group key of an example: its `group`, else its normalized text (near-duplicates stay together). */
export const groupKey = (e: Example): string => e.group ?? normalizeText(e.text).trim();

/**
 * Deterministic split by group hash: every example of a group lands on the same side.
 * `held` gets about `fraction` of the groups.
 */
export function splitByGroup<T extends Example>(examples: readonly T[], options: { fraction: number; seed: number }): { train: T[]; held: T[] } {
  const train: T[] = [];
  const held: T[] = [];
  const threshold = Math.floor(options.fraction * 0x100000000);
  for (const e of examples) {
    const key = groupKey(e);
    const h = Math.imul(fnv1a(key, 0, key.length, 0x811c9dc5 ^ options.seed) ^ 0x5bd1e995, 0x27d4eb2d) >>> 0;
    (h < threshold ? held : train).push(e);
  }
  return { train, held };
}
