import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { CorruptData } from '@flywheel/runtime';
import { UsageError } from './cliErrors.js';
import type { ServiceCall } from './serviceClient.js';

const Source = z.object({ ok: z.boolean(), note: z.string().optional() });
/** The parts of the generated report the command prints; the JSON twin itself is written as the service sent it. */
const Generated = z.object({
  name: z.string(), html: z.string(), json: z.string(),
  report: z.object({
    model: z.string(),
    period: z.object({ from: z.string(), to: z.string() }),
    accuracy: z.object({ realisedDaily: z.array(z.object({ day: z.string(), accuracy: z.number() })), estimatedAvailable: z.boolean() }),
    windows: z.array(z.object({ level: z.string() })),
    experiments: z.array(z.unknown()),
    modelChanges: z.array(z.object({ action: z.string() })),
    confusedPairs: z.array(z.object({ predicted: z.string(), corrected: z.string(), count: z.number() })),
    waitingLabels: z.array(z.object({ label: z.string() })),
    sources: z.record(Source),
  }).passthrough(),
});

/** A look-back the drift-monitor accepts: 90m, 36h, 7d. */
const SINCE = /^\d{1,4}[mhd]$/;

/**
 * `flywheel report MODEL [--since 7d] [--out DIR]`: the drift-monitor generates the model's report
 * over the look-back now and stores it in the object store (DRIFT_URL, ADMIN_TOKEN); the command
 * prints a summary and, with --out, writes the page and its JSON twin to DIR as
 * `<model>-<name>.html` and `.json`.
 */
export const reportCommand = async (
  d: { drift: ServiceCall; print: (l: string) => void; write?: (file: string, body: string) => Promise<void> },
  model: string,
  o: { since?: string | undefined; out?: string | undefined },
): Promise<void> => {
  const since = o.since ?? '7d';
  if (!SINCE.test(since)) throw new UsageError(`--since is a number and a unit (m, h or d), e.g. 7d or 36h, not "${since}"`);
  const base = `/admin/v1/models/${encodeURIComponent(model)}/reports`;
  const made = Generated.parse(await d.drift('POST', base, { admin: true, body: { since } }));
  const r = made.report;
  const last = r.accuracy.realisedDaily.at(-1);
  const count = (action: string) => r.modelChanges.filter((c) => c.action === action).length;
  d.print(`report ${made.name} for ${r.model}: ${r.period.from} – ${r.period.to}`);
  d.print(`  realised accuracy (last day): ${last ? `${(last.accuracy * 100).toFixed(1)}% on ${last.day}` : 'no feedback verdicts'}${r.accuracy.estimatedAvailable ? '' : ' (no estimated accuracy in the windows: realised only)'}`);
  d.print(`  drift windows: ${r.windows.length} (${r.windows.filter((w) => w.level === 'significant').length} significant) · experiments: ${r.experiments.length} · promotions: ${count('promoted')} · rollbacks: ${count('rolled_back')}`);
  if (r.confusedPairs.length > 0) d.print(`  most confused: ${r.confusedPairs.slice(0, 3).map((p) => `${p.predicted} → ${p.corrected} (${p.count})`).join(', ')}`);
  if (r.waitingLabels.length > 0) d.print(`  labels waiting: ${r.waitingLabels.map((l) => l.label).join(', ')}`);
  for (const [name, s] of Object.entries(r.sources)) if (!s.ok) d.print(`  ${name}: not available (${s.note ?? 'unknown'})`);
  d.print(`  stored: ${made.html} and ${made.json}`);
  if (o.out === undefined) return;
  const write = d.write ?? (async (file: string, body: string) => {
    await mkdir(o.out as string, { recursive: true });
    await writeFile(file, body);
  });
  // The stored files, as the object store holds them (the summary above parsed only what it prints).
  const html = await d.drift('GET', `${base}/${made.name}.html`, { admin: true });
  if (typeof html !== 'string') throw new CorruptData(`the drift-monitor answered ${made.name}.html with something that is not a page; generate the report again`);
  const json = await d.drift('GET', `${base}/${made.name}.json`, { admin: true });
  const htmlFile = join(o.out, `${r.model}-${made.name}.html`);
  const jsonFile = join(o.out, `${r.model}-${made.name}.json`);
  await write(htmlFile, html);
  await write(jsonFile, `${JSON.stringify(json, null, 2)}\n`);
  d.print(`wrote ${htmlFile} and ${jsonFile}`);
};
