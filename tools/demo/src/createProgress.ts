/** Where progress goes: a TTY gets one line rewritten in place per stage, anything else one final line per stage. */
export interface ProgressSink {
  write(s: string): void;
  isTTY: boolean;
  columns?: number | undefined;
}

/** One live line per stage. */
export interface Progress {
  /** Starts a stage (closes the previous one if still open). */
  stage(name: string): void;
  /** Updates the current stage's detail (rewritten in place on a TTY; throttled). */
  update(detail: string): void;
  /** Closes the current stage with its final detail; prints `✓ name  12.3 s  detail`. */
  done(detail: string): void;
  fail(detail: string): void;
  /** Plain line (e.g. the summary); closes nothing. */
  line(s: string): void;
}

const fmt = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export const createProgress = (out: ProgressSink, now: () => number = Date.now): Progress => {
  let current: { name: string; t0: number; lastDraw: number } | undefined;
  const width = (): number => Math.max(40, (out.columns ?? 100) - 1);
  const draw = (mark: string, detail: string, final: boolean): void => {
    if (!current) return;
    const text = `${mark} ${current.name.padEnd(34)} ${fmt(now() - current.t0).padStart(7)}  ${detail}`;
    if (out.isTTY) out.write(`\r\x1b[2K${text.slice(0, final ? undefined : width())}${final ? '\n' : ''}`);
    else if (final) out.write(`${text}\n`);
  };
  const close = (mark: string, detail: string): void => {
    draw(mark, detail, true);
    current = undefined;
  };
  return {
    stage(name) {
      if (current) close('•', '');
      current = { name, t0: now(), lastDraw: 0 };
      draw('…', '', false);
    },
    update(detail) {
      if (!current || !out.isTTY) return;
      const t = now();
      if (t - current.lastDraw < 100) return;
      current.lastDraw = t;
      draw('…', detail, false);
    },
    done: (detail) => close('✓', detail),
    fail: (detail) => close('✗', detail),
    line(s) {
      out.write(`${s}\n`);
    },
  };
};
