import { createHash } from 'node:crypto';
import { Label, Text } from '@flywheel/contracts';
import { readTableRows, type ColumnFormat } from '../tableRows.js';

/** feedback-ingest's batch limit (MAX_BATCH_ITEMS). */
export const FEEDBACK_BATCH = 1000;

export interface LabelledRow {
  text: string;
  label: string;
}

export type LabelledFile = { ok: true; rows: LabelledRow[] } | { ok: false; reason: string };

/** The first problems of a file, enough to fix it without drowning the reader. */
const summarize = (problems: readonly string[]): string =>
  `${problems.slice(0, 20).join('\n')}${problems.length > 20 ? `\n… and ${problems.length - 20} more problems` : ''}`;

/**
 * Checks every row of a dropped file: a text the feedback API accepts and a label. One bad row
 * refuses the whole file, so a file is either sent completely or not at all.
 */
export const parseLabelledFile = (content: string, fmt: ColumnFormat): LabelledFile => {
  const { rows, problems } = readTableRows(content, fmt, { label: true });
  if (problems.length > 0) return { ok: false, reason: summarize(problems) };
  const out: LabelledRow[] = [];
  for (const r of rows) {
    const text = Text.safeParse(r.text ?? '');
    const label = Label.safeParse(r.label ?? '');
    if (r.text === undefined) problems.push(`${r.where}: no text (column ${String(fmt.textColumn)})`);
    else if (!text.success) problems.push(`${r.where}: ${text.error.issues[0]?.message ?? 'bad text'}`);
    if (r.label === undefined) problems.push(`${r.where}: no label (column ${String(fmt.labelColumn)}${fmt.labelDepth ? `, or a path shorter than --label-depth ${fmt.labelDepth}` : ''})`);
    else if (!label.success) problems.push(`${r.where}: ${label.error.issues[0]?.message ?? 'bad label'}`);
    if (text.success && label.success && r.text !== undefined && r.label !== undefined) out.push({ text: text.data, label: label.data });
  }
  if (problems.length > 0) return { ok: false, reason: summarize(problems) };
  if (out.length === 0) return { ok: false, reason: 'the file holds no data rows' };
  return { ok: true, rows: out };
};

/** sha256 of the file's bytes: the identity of a drop (a copy under another name is the same drop). */
export const contentHash = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * A labelled example as feedback: the API has no plain "labelled" kind, and a misclassification
 * with correctLabel and no predictedLabel is the form it accepts for "this text has this label"
 * (the trainer learns it as a human correction, and it counts towards the retraining threshold).
 */
export const toFeedbackItems = (model: string, rows: readonly LabelledRow[], reporter: string) =>
  rows.map((r) => ({ model, kind: 'misclassification' as const, text: r.text, correctLabel: r.label, reporter }));

/**
 * The Idempotency-Key of one request: the same file content, model and chunk always get the same
 * key, so a retry after a crash is answered from the first request instead of adding duplicates.
 */
export const idempotencyKey = (model: string, hash: string, chunkIndex: number): string => `flywheel-watch:${model}:${hash}:${chunkIndex}`;
