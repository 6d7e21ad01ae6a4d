import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { ruleFiles } from './metricCheck.js';
import { ruleQueries } from './queries.js';
import { repoPath, repoRoot } from './repo.js';

const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
const testFile = repoPath('deploy/prometheus/tests/flywheel.rules.test.yml');

/** Runs promtool from the repo root; its output is the failure message when it exits non-zero. */
const promtool = (...args: string[]): string => {
  try {
    return execFileSync(PROMTOOL, args, { cwd: repoRoot, encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    const e = err as { code?: string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`${PROMTOOL} not found: apt-get install prometheus (or set PROMTOOL); scripts/setup.sh installs it`);
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
};

describe('Prometheus rules and config (promtool)', () => {
  it('promtool check rules accepts every rule file', () => {
    expect(promtool('check', 'rules', ...ruleFiles)).toMatch(/SUCCESS/);
  });

  it('promtool test rules passes the unit tests', () => {
    expect(promtool('test', 'rules', testFile)).toMatch(/SUCCESS/);
  });

  it('promtool check config accepts the compose Prometheus config', () => {
    expect(promtool('check', 'config', 'deploy/prometheus/prometheus.yml')).toMatch(/SUCCESS/);
  });

  it('every alert has a unit test', () => {
    const alerts = ruleFiles.flatMap((f) => ruleQueries(f).queries.map((q) => /alert (\S+)$/.exec(q.where)?.[1])).filter((a) => a !== undefined);
    const Tests = z.object({ tests: z.array(z.object({ alert_rule_test: z.array(z.object({ alertname: z.string() })).default([]) })) });
    const tested = new Set(Tests.parse(parse(readFileSync(testFile, 'utf8'))).tests.flatMap((t) => t.alert_rule_test.map((a) => a.alertname)));
    expect(alerts.filter((a) => !tested.has(a))).toEqual([]);
  });
});
