import { describe, expect, it } from 'vitest';
import { readPeakRss } from './readPeakRss.js';

describe('local-stack helpers', () => {
  it('reads resident memory of a live process from /proc, zeros for a gone one', () => {
    const self = readPeakRss(process.pid);
    expect(self.rss).toBeGreaterThan(10 * 1024 * 1024);
    expect(self.hwm).toBeGreaterThanOrEqual(self.rss);
    expect(readPeakRss(2 ** 22 + 12345)).toEqual({ rss: 0, hwm: 0 });
  });
});
