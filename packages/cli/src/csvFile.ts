/** One CSV field (RFC 4180): quoted when it holds a comma, quote, line break or edge space. */
export const csvField = (value: string | number): string => {
  const s = String(value);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** A whole CSV document with a header row; lines end in \n, the last one too. */
export const toCsv = (header: readonly string[], rows: readonly (readonly (string | number)[])[]): string =>
  [header, ...rows].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
