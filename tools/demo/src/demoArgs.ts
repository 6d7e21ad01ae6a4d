import { parseArgs } from 'node:util';
import { z } from 'zod';

/** The shipped data set: real product names with a category tree (see ../shared/data/flipkart-products/README.md). */
export const FLIPKART = { path: '../shared/data/flipkart-products/flipkart_com-ecommerce_sample.csv', textColumn: 1, labelColumn: 2, labelDepth: 1, newLabel: 'Watches' } as const;

const column = z.string().transform((v) => (/^\d+$/.test(v) ? Number(v) : v));
const DemoArgs = z.object({
  data: z.string().optional(),
  format: z.enum(['csv', 'jsonl']).optional(),
  'no-header': z.boolean().default(false),
  'text-column': column.optional(),
  'label-column': column.optional(),
  'label-depth': z.coerce.number().int().min(1).optional(),
  'new-label': z.string().min(1).optional(),
  model: z.string().regex(/^[a-z][a-z0-9-]{0,40}$/, 'model: lower-case letters, digits, dashes').optional(),
  'min-rows': z.coerce.number().int().min(20).default(250),
  'base-per-label': z.coerce.number().int().min(20).default(250),
  'report-dir': z.string().default('reports'),
  'timeout-scale': z.coerce.number().positive().default(1),
  seed: z.coerce.number().int().default(7),
  bench: z.boolean().default(false),
  help: z.boolean().default(false),
});
export type DemoArgs = z.infer<typeof DemoArgs>;

export const USAGE = `flywheel demo — the whole loop on one machine (bash scripts/main.sh [options])

  --data FILE             your own CSV/JSONL (default: the shipped Flipkart product catalogue)
  --format csv|jsonl      default from the file extension
  --no-header             CSV without a header row
  --text-column C         column name or 0-based index of the text (default "text")
  --label-column C        column of the label (default "label")
  --label-depth N         cut "A >> B >> C" label paths at depth N
  --new-label L           the category held out of the base that "appears" later (default: picked)
  --min-rows N            categories with fewer distinct texts are dropped (default 250)
  --base-per-label N      bootstrap rows per category (default 250)
  --model NAME            model name (default demo-<run id>)
  --report-dir DIR        where loop-report.html/json go (default reports)
  --timeout-scale X       multiply every stage timeout (slow machines)
  --bench                 print one JSON object as the last line (pnpm bench:loop)`;

/** Parses argv; the zod error names the bad option. */
export const parseDemoArgs = (argv: string[]): DemoArgs => {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' }, format: { type: 'string' }, 'no-header': { type: 'boolean' }, 'text-column': { type: 'string' },
      'label-column': { type: 'string' }, 'label-depth': { type: 'string' }, 'new-label': { type: 'string' }, model: { type: 'string' },
      'min-rows': { type: 'string' }, 'base-per-label': { type: 'string' }, 'report-dir': { type: 'string' }, 'timeout-scale': { type: 'string' },
      seed: { type: 'string' }, bench: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  const r = DemoArgs.safeParse(values);
  if (!r.success) throw new Error(`invalid options: ${r.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ')}\n\n${USAGE}`);
  return r.data;
};
