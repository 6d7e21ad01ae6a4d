// Starts each built service (services/<name>/dist/main.js) against the local platform, saves its /metrics
// body to <out>/<name>.prom, and stops it. The metric check then compares dashboards and rules with them:
//   set -a; . .flywheel/platform.env; set +a
//   pnpm --filter @flywheel/deploy-checks metrics:dump [out-dir]   # default reports/metrics
//   FLYWHEEL_METRICS_DIR=reports/metrics pnpm --filter @flywheel/deploy-checks test
// A service that is not built, or does not answer within 30 s, is reported and skipped (exit code 1).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoPath } from './repo.js';

const SERVICES: Record<string, number> = { serving: 8080, 'feedback-ingest': 8081, aggregator: 8082, 'drift-monitor': 8083, trainer: 8084, 'ab-router': 8085 };
const out = resolve(process.argv[2] ?? repoPath('reports/metrics'));
// Ports away from the defaults so a running stack is not disturbed.
const PORT_OFFSET = Number(process.env.DUMP_PORT_OFFSET ?? 20_000);

const scrape = async (port: number, deadline: number): Promise<string | undefined> => {
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return await res.text();
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return undefined;
};

const dumpOne = async (name: string, defaultPort: number): Promise<string | undefined> => {
  const main = repoPath('services', name, 'dist/main.js');
  if (!existsSync(main)) return `${name}: not built (${main} missing); run npx turbo run build --filter=@flywheel/svc-${name}...`;
  const port = defaultPort + PORT_OFFSET;
  const child = spawn(process.execPath, [main], {
    cwd: repoPath('services', name),
    env: { ADMIN_TOKEN: 'metrics-dump-admin-token', LOG_LEVEL: 'warn', ...process.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2_000)));
  try {
    const body = await scrape(port, Date.now() + 30_000);
    if (body === undefined) return `${name}: no /metrics on port ${port} within 30 s; last stderr:\n${stderr}`;
    writeFileSync(join(out, `${name}.prom`), body);
    return undefined;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r).once('error', r));
  }
};

mkdirSync(out, { recursive: true });
const failures: string[] = [];
for (const [name, port] of Object.entries(SERVICES)) {
  const failure = await dumpOne(name, port);
  if (failure) failures.push(failure);
  else console.log(`${name}: ${join(out, `${name}.prom`)}`);
}
if (failures.length > 0) {
  console.error(failures.join('\n'));
  process.exitCode = 1;
}
