#!/usr/bin/env node
// Readable test runs for scripts/test.sh.
//   live:    reads turbo's test output on stdin; prints one line per test file as it finishes.
//   summary: reads every package's vitest JSON report; prints each failure with its reason and the
//            closing line `test: N passed, N failed`. Exit 1 when anything failed or no result exists.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';

export const REPORT = join('node_modules', '.flywheel', 'vitest-report.json');
const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');
const seconds = (ms) => `${(Number(ms) / 1000).toFixed(1)} s`;

const live = async () => {
  // vitest (non-TTY) prints ` ✓ src/a.test.ts (3 tests) 120ms` or ` ❯ src/a.itest.ts (7 tests | 2 failed) 90s`
  // when a file finishes; turbo prefixes `@scope/pkg:test: `.
  const fileLine = /^(@[\w/.-]+):test:\s+([✓❯×↓])\s+(\S+\.(?:test|itest)\.ts)\s+\(([^)]*)\)\s*(?:(\d+)ms)?/;
  const started = Date.now();
  for await (const raw of createInterface({ input: process.stdin })) {
    const line = strip(raw);
    const m = fileLine.exec(line);
    if (m) {
      const [, pkg, mark, file, counts, ms] = m;
      const ok = mark === '✓' || mark === '↓';
      const at = seconds(Date.now() - started).padStart(8);
      console.log(`${at}  ${ok ? 'ok  ' : 'FAIL'}  ${pkg} ${file} (${counts}${ms ? `, ${seconds(ms)}` : ''})`);
      continue;
    }
    const failedTask = /^\s*(@[\w/.-]+)#test:.*exited \((\d+)\)/.exec(line);
    if (failedTask) console.log(`          FAIL  ${failedTask[1]}: its test command exited with ${failedTask[2]}`);
  }
};

const packageDirs = (root) =>
  ['packages', 'services', 'test', 'tools'].flatMap((group) => {
    const dir = join(root, group);
    return existsSync(dir) ? readdirSync(dir).map((d) => join(dir, d)).filter((d) => existsSync(join(d, 'package.json'))) : [];
  });

const firstLines = (text, n) => strip(String(text)).split('\n').filter((l) => l.trim() !== '').slice(0, n).map((l) => `      ${l}`).join('\n');

// The "Unhandled Error" blocks a package printed, from the test log named by FLYWHEEL_TEST_LOG.
const unhandledErrors = (pkg) => {
  const log = process.env.FLYWHEEL_TEST_LOG;
  if (!log || !existsSync(log)) return '      (see the test log)';
  const prefix = `${pkg}:test: `;
  const lines = strip(readFileSync(log, 'utf8')).split('\n').filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));
  const found = lines.flatMap((l, i) => (/^(Error|TypeError|RangeError|Unhandled)\b.*:/.test(l.trim()) ? [lines.slice(i, i + 3).join('\n')] : []));
  return found.length > 0 ? firstLines(found.join('\n'), 12) : '      (no error text found; see the test log)';
};

const summary = (root, taskFailures) => {
  let passed = 0;
  let failed = 0;
  const failures = [];
  const reported = new Set();
  for (const dir of packageDirs(root)) {
    const path = join(dir, REPORT);
    if (!existsSync(path)) continue;
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name;
    reported.add(pkg);
    const r = JSON.parse(readFileSync(path, 'utf8'));
    passed += r.numPassedTests ?? 0;
    failed += r.numFailedTests ?? 0;
    for (const file of r.testResults ?? []) {
      const rel = relative(dir, file.name);
      const bad = (file.assertionResults ?? []).filter((a) => a.status === 'failed');
      for (const a of bad) failures.push(`  ${pkg} ${rel} > ${a.fullName ?? a.title}\n${firstLines((a.failureMessages ?? []).join('\n'), 12)}`);
      // A file that failed outside any test (import error, a failing beforeAll/afterAll hook).
      if (file.status === 'failed' && bad.length === 0) {
        failed += 1;
        failures.push(`  ${pkg} ${rel} (the file failed outside its tests)\n${firstLines(file.message || 'no message; see the log', 12)}`);
      }
    }
  }
  // A test task that failed and left no report (vitest did not start, a crash).
  for (const pkg of taskFailures) {
    if (pkg.startsWith('!')) {
      failed += 1;
      failures.push(`  ${pkg.slice(1)}`);
      continue;
    }
    if (reported.has(pkg)) {
      // vitest exits 1 on an error outside every test ("Unhandled Error"), which its JSON report
      // does not count; a task that failed with a clean report must not read as "0 failed".
      if (!failures.some((f) => f.startsWith(`  ${pkg} `))) {
        failed += 1;
        failures.push(`  ${pkg}: vitest exited non-zero although every test in its report passed: an unhandled error outside the tests\n${unhandledErrors(pkg)}`);
      }
      continue;
    }
    failed += 1;
    failures.push(`  ${pkg}: its test task failed before vitest wrote a report; see the log`);
  }
  if (failures.length > 0) {
    console.log(`\ntest: ${failures.length} failure${failures.length === 1 ? '' : 's'}:`);
    console.log(failures.join('\n\n'));
  }
  if (passed + failed === 0) console.log('test: no test results found; treating the run as failed');
  console.log(`test: ${passed} passed, ${failed} failed`);
  return failed === 0 && passed > 0 ? 0 : 1;
};

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'live') await live();
else if (mode === 'summary') process.exitCode = summary(rest[0] ?? process.cwd(), rest.slice(1));
else if (mode === 'report-path') console.log(REPORT);
else {
  console.error('usage: test-report.mjs live < turbo-output | summary ROOT [FAILED_PKG|!REASON…] | report-path');
  process.exitCode = 2;
}
