import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { namesInExposition } from './exposition.js';

/** Where to find what the services really export: a folder of /metrics dumps, or live URLs. */
export interface ScrapeSource {
  /** FLYWHEEL_METRICS_DIR: files with a /metrics body each (any name; `*.prom` or `*.txt`). */
  dir?: string | undefined;
  /** FLYWHEEL_METRICS_URLS: comma-separated /metrics URLs of running services. */
  urls?: string[] | undefined;
}

/** The source named by the environment, or undefined when neither variable is set. */
export const scrapeSourceFrom = (env: NodeJS.ProcessEnv): ScrapeSource | undefined => {
  const dir = env.FLYWHEEL_METRICS_DIR?.trim() || undefined;
  const urls = env.FLYWHEEL_METRICS_URLS?.split(',').map((u) => u.trim()).filter((u) => u.length > 0);
  return dir || urls?.length ? { dir, urls } : undefined;
};

/** Every metric name found in the dumps and at the URLs, with the dump or URL each came from. */
export const scrapedNames = async (src: ScrapeSource): Promise<{ names: Set<string>; sources: string[] }> => {
  const names = new Set<string>();
  const sources: string[] = [];
  if (src.dir) {
    for (const f of readdirSync(src.dir).filter((n) => n.endsWith('.prom') || n.endsWith('.txt')).sort()) {
      namesInExposition(readFileSync(join(src.dir, f), 'utf8')).forEach((n) => names.add(n));
      sources.push(join(src.dir, f));
    }
  }
  for (const url of src.urls ?? []) {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`${url} answered ${res.status}; is the service running and ready?`);
    namesInExposition(await res.text()).forEach((n) => names.add(n));
    sources.push(url);
  }
  return { names, sources };
};
