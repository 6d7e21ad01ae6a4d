import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { renderReport } from './renderReport.js';
import { fixtureReport } from './testing/fixtureReport.js';

const run = promisify(execFile);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const dir = mkdtempSync(join(tmpdir(), 'flywheel-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Headless Chromium, offline and without a profile of its own beyond `dir`. */
const chromium = (args: string[]) =>
  run(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', `--user-data-dir=${join(dir, 'profile')}`, ...args],
  { timeout: 60_000, maxBuffer: 32 * 1024 * 1024 });

describe('the report page in headless Chromium', () => {
  const page = join(dir, 'loop-report.html');
  writeFileSync(page, renderReport(fixtureReport()));

  it('renders both charts with every data point (DOM after layout)', async () => {
    // Installed by scripts/setup.sh; a missing browser is a failure, not a skip.
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: run bash scripts/setup.sh (or set CHROMIUM_PATH)`).toBe(true);
    const { stdout: dom } = await chromium(['--dump-dom', `file://${page}`]);
    const chart = (id: string): string => {
      const m = new RegExp(`<svg[^>]*data-chart="${id}"[\\s\\S]*?</svg>`).exec(dom);
      expect(m, `chart ${id} missing from the rendered DOM`).not.toBeNull();
      return m?.[0] ?? '';
    };
    const accuracy = chart('accuracy');
    expect(accuracy.match(/<circle class="pt"/g)).toHaveLength(7);
    expect(accuracy.match(/<path class="series"/g)).toHaveLength(2);
    const drift = chart('drift');
    expect((drift.match(/<circle class="pt"/g) ?? []).length).toBe(5); // 3 PSI + 2 accuracy-drop points
    expect(dom).toContain('rolled back 1.1.0');
  });

  it('paints the charts: a screenshot is not blank', async () => {
    const shot = join(dir, 'shot.png');
    await chromium(['--hide-scrollbars', '--window-size=1100,1400', `--screenshot=${shot}`, `file://${page}`]);
    const png = readFileSync(shot);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    // A blank white page compresses to a few KB; lines, dots, text and legends make it much larger.
    expect(png.length).toBeGreaterThan(30_000);
  });
});
