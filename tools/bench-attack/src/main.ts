#!/usr/bin/env node
/**
 * bench:attack — the attacks of "Safe by default" against a running stack with a live A/B
 * experiment: forged outcomes, poisoned corrections, NUL and oversized bodies, missing and wrong
 * keys, forged control events on Kafka, a request flood. Prints a table, then one JSON object as
 * its last line. `--without trainer` (repeatable) leaves a service out.
 */
import { parseArgs } from 'node:util';
import { topics } from '@flywheel/contracts';
import { SERVICE_NAMES, type ServiceName } from '@flywheel/local-stack';
import { access } from './attacks/access.js';
import type { AttackContext } from './attacks/context.js';
import { controlEvents } from './attacks/controlEvents.js';
import { flood } from './attacks/flood.js';
import { forgedOutcomes } from './attacks/forgedOutcomes.js';
import { inputHygiene } from './attacks/inputHygiene.js';
import { poisonedCorrections } from './attacks/poisonedCorrections.js';
import { startAttackWorld, type AttackWorld } from './attackWorld.js';
import { connectRawKafka, type RawKafka } from './rawKafka.js';
import { renderTable, summarize, type AttackResult } from './report.js';
import { createStoreProbe } from './storeProbe.js';

const { values } = parseArgs({ options: { without: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log('usage: pnpm bench:attack [-- --without trainer]   (env BENCH_ATTACK_RATE_LIMIT: requests per client per minute, default 60)');
  process.exit(0);
}
const without = new Set(values.without ?? []);
for (const w of without) if (!(SERVICE_NAMES as readonly string[]).includes(w)) throw new Error(`--without ${w}: not a service; services are ${SERVICE_NAMES.join(', ')}`);
const services: ServiceName[] = SERVICE_NAMES.filter((s) => !without.has(s));
const rateLimitPerMinute = Number(process.env.BENCH_ATTACK_RATE_LIMIT ?? 60);
const log = (line: string): void => console.error(`[bench:attack] ${line}`);

let world: AttackWorld | undefined;
let kafka: RawKafka | undefined;
const shutdown = async (): Promise<void> => {
  await kafka?.close().catch(() => undefined);
  kafka = undefined;
  const w = world;
  world = undefined;
  await w?.close();
};
process.once('SIGINT', () => void shutdown().finally(() => process.exit(130)));

const results: AttackResult[] = [];
let failed = false;
try {
  world = await startAttackWorld({ rateLimitPerMinute, log, ...(without.size ? { services } : {}) });
  const prefix = world.stack.topicPrefix;
  kafka = await connectRawKafka(world.stack.platformEnv.KAFKA_BROKERS as string, `bench-attack-${world.stack.runId}`,
    [topics.feedback.name, topics.retrainingTriggers.name, topics.modelUpdates.name].map((t) => `${prefix}${t}.dlq`));
  const c: AttackContext = { world, probe: createStoreProbe(world.pool), kafka, log };
  const steps: [string, () => Promise<AttackResult | AttackResult[]>][] = [
    ['access', () => access(c)],
    ['forged outcomes', () => forgedOutcomes(c)],
    ['poisoned corrections', () => poisonedCorrections(c)],
    ['input hygiene', () => inputHygiene(c)],
    ['control events', () => controlEvents(c)],
    // Last: it spends the standard client's budget.
    ['flood', () => flood(c)],
  ];
  for (const [name, run] of steps) {
    try {
      results.push(...[await run()].flat());
    } catch (err) {
      // A bench error is not a successful attack, but the run does not count: exit 1 after the report.
      failed = true;
      log(`${name} could not be measured: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      results.push({ attack: `${name} (bench error)`, sent: 0, observed: `not measured: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`, succeeded: false });
    }
  }
  world.stack.assertAlive();
} catch (err) {
  failed = true;
  log(`failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
} finally {
  log('cleaning up (services, schema, bucket, Redis keys)…');
  try {
    await shutdown();
  } catch (err) {
    failed = true;
    log(err instanceof Error ? err.message : String(err));
  }
}
if (results.length === 0) {
  // Nothing was measured: an all-zero summary would read as "every attack stopped".
  log('no attack was run; see the error above');
  process.exitCode = 1;
} else {
  if (without.size > 0) console.log(`(run without: ${[...without].join(', ')})`);
  for (const line of renderTable(results)) console.log(line);
  console.log(JSON.stringify(summarize(results)));
  if (failed) process.exitCode = 1;
}
