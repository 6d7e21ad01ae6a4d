import { readFileSync } from 'node:fs';

/**
 * A metric catalog file: `<name> <producer>` per line, `#` comments. Returns name -> producer; throws
 * on a malformed line or a name listed twice, so the catalog stays a list a person can trust.
 */
export const readCatalog = (file: string): Map<string, string> => {
  const out = new Map<string, string>();
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.replace(/#.*$/, '').trim();
      if (!line) return;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\s+(\S+)$/.exec(line);
      if (!m?.[1] || !m[2]) throw new Error(`${file}:${i + 1}: expected "<metric> <producer>", got "${raw}"`);
      if (out.has(m[1])) throw new Error(`${file}:${i + 1}: ${m[1]} is listed twice`);
      out.set(m[1], m[2]);
    });
  return out;
};
