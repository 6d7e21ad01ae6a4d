#!/usr/bin/env node
/**
 * bench:chaos — a Jepsen-style run: the six services on a private PostgreSQL, Redis, Kafka mock
 * and S3, mixed traffic while a seeded nemesis kills services, freezes the broker, restarts
 * PostgreSQL, flushes Redis and fires failpoints; then faults off, settle, and checks that nothing
 * was lost, doubled or left half done. Progress on stderr; the last stdout line is one JSON object.
 */
import { parseArgs } from 'node:util';
import { runChaos } from './runChaos.js';

const { values } = parseArgs({ options: { minutes: { type: 'string' }, seed: { type: 'string' }, logs: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log('usage: pnpm bench:chaos [-- --minutes N (default 5)] [--seed S (default: random)] [--logs DIR (keep the services\' logs)]');
  process.exit(0);
}
const minutes = Number(values.minutes ?? 5);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
if (!(minutes > 0) || !Number.isInteger(seed)) {
  console.error('--minutes must be a positive number and --seed an integer');
  process.exit(2);
}
const log = (line: string): void => console.error(`[bench:chaos] ${line}`);

// Ctrl-C or SIGTERM: the chaos phase ends and runChaos's finally removes the stack and the private
// stores; a second signal leaves at once.
const interrupt = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupt.signal.aborted) process.exit(130);
    log(`${sig}: cleaning up (send it again to leave at once)…`);
    interrupt.abort();
  });
}

try {
  const report = await runChaos({ minutes, seed, log, signal: interrupt.signal, ...(values.logs ? { keepLogsIn: values.logs } : {}) });
  const counts = [report.lostFeedback, report.duplicateFeedback, report.doubleJobs, report.stuckPartitions, report.inconsistentDecisions, report.danglingVersions];
  log(`faults ${JSON.stringify(report.faults)}; ${report.traffic.predictions} predictions, ${report.traffic.feedbackAccepted} feedback acknowledged`);
  if (report.faultErrors > 0) log('some faults could not be injected: the run does not count (see details.faultErrors)');
  console.log(JSON.stringify(report));
  if (interrupt.signal.aborted) process.exitCode = 130;
  else if (counts.some((n) => n !== 0) || report.faultErrors > 0) process.exitCode = 1;
} catch (err) {
  log(`failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exitCode = 1;
}
