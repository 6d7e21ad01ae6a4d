import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { buildWeeklyReport } from './buildWeeklyReport.js';
import { renderWeeklyReport } from './renderWeeklyReport.js';
import { fixtureInputs } from './testing/fixtureInputs.js';

const run = promisify(execFile);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const dir = mkdtempSync(join(tmpdir(), 'flywheel-weekly-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Headless Chromium, offline and without a profile of its own beyond `dir`. */
const chromium = (args: string[]) =>
  run(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', `--user-data-dir=${join(dir, 'profile')}`, ...args],
  { timeout: 90_000, maxBuffer: 32 * 1024 * 1024 });

describe('the weekly report page in headless Chromium', () => {
  const page = join(dir, 'weekly.html');
  writeFileSync(page, renderWeeklyReport(buildWeeklyReport(fixtureInputs())));

  it('renders the three charts with every data point (DOM after layout)', async () => {
    // Installed by scripts/setup.sh; a missing browser is a failure, not a skip.
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: run bash scripts/setup.sh (or set CHROMIUM_PATH)`).toBe(true);
    const { stdout: dom } = await chromium(['--dump-dom', `file://${page}`]);
    const chart = (id: string): string => {
      const m = new RegExp(`<svg[^>]*data-chart="${id}"[\\s\\S]*?</svg>`).exec(dom);
      expect(m, `chart ${id} missing from the rendered DOM`).not.toBeNull();
      return m?.[0] ?? '';
    };
    const accuracy = chart('accuracy');
    expect(accuracy.match(/<circle class="pt"/g)).toHaveLength(9); // 6 days realised + 3 windows estimated
    expect(accuracy.match(/<path class="series"/g)).toHaveLength(2);
    expect(accuracy).toContain('realised (daily): 0.920 at 11-23');
    const drift = chart('drift');
    expect(drift.match(/<circle class="pt"/g)).toHaveLength(6); // psi and ks in 3 windows
    expect(drift).toContain('psi: 0.310');
    expect(chart('confusion').match(/<rect class="bar"/g)).toHaveLength(3);
    expect(dom).toContain('shipping-delay');
  });

  it('paints the charts: a screenshot is not blank', async () => {
    const shot = join(dir, 'shot.png');
    await chromium(['--hide-scrollbars', '--window-size=1100,1800', `--screenshot=${shot}`, `file://${page}`]);
    const png = readFileSync(shot);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    // A blank white page compresses to a few KB; lines, dots, bars, text and legends make it much larger.
    expect(png.length).toBeGreaterThan(30_000);
  });
});
