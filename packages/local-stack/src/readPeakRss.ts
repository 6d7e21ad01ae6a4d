import { readFileSync } from 'node:fs';

const kb = (status: string, key: string): number => {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) * 1024 : 0;
};

/** Resident memory of a live process from /proc/<pid>/status, in bytes: `rss` now and `hwm` (its peak so far). Zeros when it is gone. */
export const readPeakRss = (pid: number): { rss: number; hwm: number } => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rss: kb(status, 'VmRSS'), hwm: kb(status, 'VmHWM') };
  } catch {
    return { rss: 0, hwm: 0 };
  }
};
