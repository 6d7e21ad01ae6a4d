/**
 * Metric names in a Prometheus text exposition (a /metrics body): the families declared by `# TYPE`
 * lines (present even before a labelled metric has a sample) and the names of sample lines.
 */
export const namesInExposition = (text: string): Set<string> => {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^#\s*TYPE\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s/.exec(line);
    if (type?.[1]) names.add(type[1]);
    else if (!line.startsWith('#')) {
      const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[\s{]/.exec(line);
      if (sample?.[1]) names.add(sample[1]);
    }
  }
  return names;
};
