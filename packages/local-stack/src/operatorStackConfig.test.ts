import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnvFile } from '@flywheel/runtime';
import { describe, expect, it } from 'vitest';
import { modelNameFromFile } from './operatorStack.js';
import { renderStackEnv, settingsDigest, STACK_PG_SCHEMA, STACK_PORTS, stackEnvValues, stackPorts, stackSchema, stackServiceEnv, stackUrls } from './operatorStackConfig.js';
import { sampleCatalogue } from './stackModel.js';

describe('operator stack settings', () => {
  it('uses the documented fixed ports, one override variable per service, and refuses clashes and non-ports', () => {
    expect(stackPorts({})).toEqual({ serving: 8080, 'feedback-ingest': 8081, aggregator: 8082, 'drift-monitor': 8083, trainer: 8084, 'ab-router': 8085 });
    expect(stackPorts({ FLYWHEEL_SERVING_PORT: '9080', FLYWHEEL_AB_ROUTER_PORT: '' })).toMatchObject({ serving: 9080, 'ab-router': STACK_PORTS['ab-router'] });
    expect(() => stackPorts({ FLYWHEEL_DRIFT_MONITOR_PORT: '80x' })).toThrow(/FLYWHEEL_DRIFT_MONITOR_PORT=80x is not a port/);
    expect(() => stackPorts({ FLYWHEEL_TRAINER_PORT: '8080' })).toThrow(/both listen on port 8080/);
  });

  it('gives each service no topic prefix, the stack schema, its port and token, and the demo settings', () => {
    const platformEnv = { POSTGRES_URL: 'postgres://x@h/db', KAFKA_BROKERS: 'k:1' };
    const ingest = stackServiceEnv('feedback-ingest', { platformEnv, port: 8081, adminToken: 't'.repeat(32) });
    expect(ingest).toMatchObject({ PORT: '8081', ADMIN_TOKEN: 't'.repeat(32), TOPIC_PREFIX: '', PG_SCHEMA: STACK_PG_SCHEMA, POSTGRES_URL: 'postgres://x@h/db', RETRAIN_CORRECTION_THRESHOLD: '150' });
    expect(stackServiceEnv('trainer', { platformEnv, port: 8084, adminToken: 'x'.repeat(16) })).toMatchObject({ PG_SCHEMA: STACK_PG_SCHEMA, FEEDBACK_URL: 'http://127.0.0.1:8081', PORT: '8084' });
    expect(stackServiceEnv('trainer', { platformEnv, port: 8084, adminToken: 'x'.repeat(16), feedbackUrl: 'http://127.0.0.1:9081' })).toMatchObject({ FEEDBACK_URL: 'http://127.0.0.1:9081' });
    // Every service gets the schema (its tables, and its outbox relay's lock name); the trainer's gate is a try-out's.
    expect(stackServiceEnv('serving', { platformEnv, port: 8080, adminToken: 'x'.repeat(16) })).toMatchObject({ PG_SCHEMA: STACK_PG_SCHEMA });
    expect(stackServiceEnv('trainer', { platformEnv, port: 8084, adminToken: 'x'.repeat(16) })).toMatchObject({ GATE_MIN_IMPROVEMENT: '-0.05' });
    expect(stackServiceEnv('serving', { platformEnv, port: 8080, adminToken: 'x'.repeat(16) })).not.toHaveProperty('GATE_MIN_IMPROVEMENT');
    expect(stackServiceEnv('aggregator', { platformEnv, port: 8082, adminToken: 'x'.repeat(16), schema: 'other' })).toMatchObject({ PG_SCHEMA: 'other' });
    expect([stackSchema({}), stackSchema({ FLYWHEEL_STACK_PG_SCHEMA: 'ops_b' })]).toEqual([STACK_PG_SCHEMA, 'ops_b']);
    expect(() => stackSchema({ FLYWHEEL_STACK_PG_SCHEMA: 'Bad-Name' })).toThrow(/lower-case SQL identifier/);
  });

  it('changes the settings digest when any setting changes, not when only the order does', () => {
    expect(settingsDigest({ A: '1', B: '2' })).toBe(settingsDigest({ B: '2', A: '1' }));
    expect(settingsDigest({ A: '1', B: '2' })).not.toBe(settingsDigest({ A: '1', B: '3' }));
  });

  it('writes a stack.env that a shell sources and the CLI parses to the same values', () => {
    const values = stackEnvValues({
      urls: stackUrls(STACK_PORTS),
      adminToken: 'ab12'.repeat(8),
      model: 'products',
      platformEnv: { POSTGRES_URL: 'postgres://postgres@127.0.0.1:5432/test?options=-c+search_path%3Dflywheel', S3_SECRET_KEY: "it's odd $x" },
    });
    const text = renderStackEnv(values);
    const dir = mkdtempSync(join(tmpdir(), 'stack-env-'));
    try {
      writeFileSync(join(dir, 'stack.env'), text);
      const keys = ['SERVING_URL', 'FEEDBACK_URL', 'ABROUTER_URL', 'ADMIN_TOKEN', 'MODEL', 'POSTGRES_URL', 'TOPIC_PREFIX'];
      const shell = execFileSync('bash', ['-c', `source stack.env && env -0`], { cwd: dir, env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
      const sourced = Object.fromEntries(shell.split('\0').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      const parsed = parseEnvFile(text);
      for (const k of keys) expect(sourced[k], k).toBe(parsed[k]);
      expect(sourced).toMatchObject({ SERVING_URL: 'http://127.0.0.1:8080', FEEDBACK_URL: 'http://127.0.0.1:8081', ABROUTER_URL: 'http://127.0.0.1:8085', MODEL: 'products', TOPIC_PREFIX: '' });
      expect(sourced.POSTGRES_URL).toContain('search_path%3Dflywheel');
      expect(sourced.S3_SECRET_KEY).toBe("it's odd $x");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names a model after its data file', () => {
    expect(modelNameFromFile('/data/Support Tickets.v2.csv')).toBe('support-tickets-v2');
    expect(modelNameFromFile('2024_tickets.jsonl')).toBe('tickets');
    expect(modelNameFromFile('___.csv')).toBe('my-model');
  });

  it('samples the catalogue: every n-th line, only category paths, only categories with enough lines', () => {
    const line = (i: number, cat: string) => `id${i},Item ${i},"[""${cat} >> Sub >> Item ${i}""]"`;
    const lines = [...Array.from({ length: 40 }, (_, i) => line(i, i % 10 === 0 ? 'Rare' : 'Common')), 'idx,Loose,"[""Loose item""]"'];
    const picked = sampleCatalogue(lines.join('\n'), { every: 2, minPerLabel: 5 });
    expect(picked.length).toBe(16); // 21 even lines: 4 'Rare' (under 5) and the pathless one are dropped
    expect(picked.every((l) => l.includes('Common >> '))).toBe(true);
  });
});
