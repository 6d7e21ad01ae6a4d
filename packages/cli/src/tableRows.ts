import { cutLabelPath, parseCsv } from '@flywheel/learning';

/** How to find the text (and label) in a CSV or JSONL file; the same flags as bootstrap. */
export interface ColumnFormat {
  format: 'csv' | 'jsonl';
  /** csv only: the first row names the columns */
  header: boolean;
  /** column name or 0-based index */
  textColumn: string | number;
  labelColumn: string | number;
  /** cut "A >> B >> C" label paths at this depth */
  labelDepth?: number;
}

/** One data row; `where` names it for messages ("row 3", "line 7"). Missing cells are undefined. */
export interface TableRow {
  where: string;
  text: string | undefined;
  label: string | undefined;
}

const asText = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;

const pick = (row: readonly string[] | Record<string, unknown>, key: string | number, header: readonly string[] | undefined): unknown => {
  if (Array.isArray(row)) return row[typeof key === 'number' ? key : (header?.indexOf(key) ?? -1)];
  const rec = row as Record<string, unknown>;
  return typeof key === 'number' ? Object.values(rec)[key] : rec[key];
};

/**
 * Reads every data row of a CSV/JSONL file. Whole-file problems (a named column missing from the
 * header, a line that is not a JSON object) are returned in `problems`; per-row checks are the caller's.
 */
export const readTableRows = (content: string, fmt: ColumnFormat, opts: { label: boolean }): { rows: TableRow[]; problems: string[] } => {
  const rows: TableRow[] = [];
  const problems: string[] = [];
  const label = (raw: string | undefined): string | undefined => {
    if (raw === undefined || fmt.labelDepth === undefined) return raw;
    return cutLabelPath(raw, fmt.labelDepth);
  };
  if (fmt.format === 'csv') {
    const table = parseCsv(content.replace(/^\uFEFF/, ''));
    const header = fmt.header ? table[0] : undefined;
    for (const [flag, col] of [['--text-column', fmt.textColumn], ...(opts.label ? [['--label-column', fmt.labelColumn] as const] : [])] as const) {
      if (typeof col === 'string' && !header) problems.push(`${flag} "${col}" is a name but the file has no header row; pass a 0-based index`);
      else if (typeof col === 'string' && header && !header.includes(col)) problems.push(`column "${col}" (${flag}) is not in the header: ${header.join(', ')}`);
    }
    if (problems.length > 0) return { rows, problems };
    for (let i = fmt.header ? 1 : 0; i < table.length; i++) {
      const r = table[i] as string[];
      rows.push({ where: `row ${i + 1}`, text: asText(pick(r, fmt.textColumn, header)), label: opts.label ? label(asText(pick(r, fmt.labelColumn, header))) : undefined });
    }
    return { rows, problems };
  }
  const lines = content.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      problems.push(`line ${i + 1}: not valid JSON`);
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push(`line ${i + 1}: not a JSON object`);
      continue;
    }
    const rec = value as Record<string, unknown>;
    rows.push({ where: `line ${i + 1}`, text: asText(pick(rec, fmt.textColumn, undefined)), label: opts.label ? label(asText(pick(rec, fmt.labelColumn, undefined))) : undefined });
  }
  return { rows, problems };
};
