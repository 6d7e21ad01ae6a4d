import type { Logger } from 'pino';

export type Closer = () => Promise<unknown> | unknown;

/**
 * Owns a process's shutdown: closers run in the reverse order they were registered (the HTTP
 * server before the consumer before the pools), each bounded so one hang cannot keep the process up.
 */
export const createShutdown = (logger: Logger, opts: { timeoutMs?: number; exit?: (code: number) => void } = {}) => {
  const closers: Closer[] = [];
  let closing: Promise<void> | undefined;
  const timeoutMs = opts.timeoutMs ?? 10_000;

  const run = (reason: string): Promise<void> => {
    closing ??= (async () => {
      logger.info({ reason }, 'shutting down');
      for (const close of [...closers].reverse()) {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            Promise.resolve().then(close),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error(`closer did not finish in ${timeoutMs} ms`)), timeoutMs);
            }),
          ]);
        } catch (err) {
          logger.error({ err }, 'error during shutdown; continuing with the rest');
        } finally {
          clearTimeout(timer);
        }
      }
      logger.info('stopped');
    })();
    return closing;
  };

  return {
    /** Registers closers; they run last-registered first. */
    onShutdown: (...c: Closer[]) => {
      closers.push(...c);
    },
    /** Runs every closer once. */
    close: run,
    /** Runs closers on SIGTERM/SIGINT, then exits. */
    installSignalHandlers: () => {
      const exit = opts.exit ?? ((code: number) => process.exit(code));
      for (const sig of ['SIGTERM', 'SIGINT'] as const) {
        process.once(sig, () => void run(sig).then(() => exit(0), () => exit(1)));
      }
    },
  };
};
export type Shutdown = ReturnType<typeof createShutdown>;
