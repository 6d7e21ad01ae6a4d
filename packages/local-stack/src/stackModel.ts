import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The model `up` bootstraps from the shipped data when none is served yet. */
export const DEFAULT_STACK_MODEL = 'products';

/** The shipped Flipkart product catalogue (see ../shared/data/flipkart-products/README.md): id, name, category path; no header. */
export const shippedCatalogue = (root: string): string => join(root, '..', 'shared', 'data', 'flipkart-products', 'flipkart_com-ecommerce_sample.csv');

/** Top-level category of a catalogue line (`…,"[""Clothing >> Women's …""]"`); undefined for a path without levels. */
const topCategory = (line: string): string | undefined => /,"\[""([^"]+?) >> /.exec(line)?.[1];

/**
 * A few thousand catalogue lines (every `every`-th) whose category has at least `minPerLabel` of
 * them, so the base trains in well under a minute and every label has something to learn from.
 * Lines are copied as they are: the CLI parses them (--no-header, text 1, label 2, depth 1).
 */
export const sampleCatalogue = (text: string, o: { every: number; minPerLabel: number }): string[] => {
  const picked = text.split('\n').filter((l, i) => i % o.every === 0 && topCategory(l) !== undefined);
  const counts = new Map<string, number>();
  for (const l of picked) counts.set(topCategory(l) as string, (counts.get(topCategory(l) as string) ?? 0) + 1);
  return picked.filter((l) => (counts.get(topCategory(l) as string) ?? 0) >= o.minPerLabel);
};

/** Writes the sample of the shipped catalogue to `file` and returns the CLI bootstrap options for it. */
export const writeShippedSample = (root: string, file: string): string[] => {
  const source = shippedCatalogue(root);
  if (!existsSync(source)) throw new Error(`the shipped data ${source} is missing; pass your own: bash scripts/stack.sh up --data FILE --text-column C --label-column C`);
  const lines = sampleCatalogue(readFileSync(source, 'utf8'), { every: 5, minPerLabel: 30 });
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${lines.join('\n')}\n`);
  return ['--data', file, '--no-header', '--text-column', '1', '--label-column', '2', '--label-depth', '1', '--epochs', '4'];
};

const ServedModel = z.object({ model: z.string(), ready: z.boolean(), champion: z.object({ version: z.string() }).nullish() }).passthrough();

/** serving's routes need a key: the stack's ADMIN_TOKEN (the built-in admin client) also shows the routing state. */
const asAdmin = (adminToken: string) => ({ authorization: `Bearer ${adminToken}` });

/** The models serving has loaded (it follows every model with a champion). */
export const servedModels = async (servingUrl: string, adminToken: string): Promise<string[]> => {
  const res = await fetch(`${servingUrl}/v1/models`, { headers: asAdmin(adminToken), signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`serving GET /v1/models answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  return z.object({ models: z.array(ServedModel) }).parse(await res.json()).models.map((m) => m.model);
};

/** Polls GET /v1/models/{model} until serving answers for `version` (any champion when undefined). */
export const waitServed = async (servingUrl: string, adminToken: string, model: string, version: string | undefined, timeoutMs: number): Promise<string> => {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${servingUrl}/v1/models/${encodeURIComponent(model)}`, { headers: asAdmin(adminToken), signal: AbortSignal.timeout(5_000) });
      const body = await res.text();
      const r = res.ok ? ServedModel.safeParse(JSON.parse(body)) : undefined;
      const champion = r?.success && r.data.ready ? r.data.champion?.version : undefined;
      if (champion !== undefined && (version === undefined || champion === version)) return champion;
      last = `${res.status} ${body.slice(0, 300)}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(500);
  }
  throw new Error(`serving did not load ${model}${version ? `@${version}` : ''} within ${Math.round(timeoutMs / 1000)} s (GET /v1/models/${model}: ${last}); see .flywheel/logs/stack-serving.log`);
};

/**
 * Runs `flywheel bootstrap` (packages/cli) with the stack's environment, its output shown as it
 * comes; resolves with the version it registered as champion.
 */
export const runBootstrap = (root: string, env: Readonly<Record<string, string>>, model: string, options: readonly string[]): Promise<string> =>
  new Promise((resolve, reject) => {
    const entry = join(root, 'packages', 'cli', 'dist', 'main.js');
    const child = spawn(process.execPath, [entry, 'bootstrap', '--model', model, ...options], { cwd: root, env: { ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      process.stdout.write(b.toString().replace(/^(?=.)/gm, '  '));
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const version = new RegExp(`${model}@(\\d+\\.\\d+\\.\\d+) is champion`).exec(out)?.[1];
      if (code === 0 && version) resolve(version);
      else reject(new Error(`flywheel bootstrap --model ${model} failed (${signal ?? `exit ${code}`}); its output is above`));
    });
  });
