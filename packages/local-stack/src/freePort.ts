import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Lowest port handed out by {@link freePort}: above the registered services most machines run. */
const LOWEST = 20_000;

/**
 * The kernel's range for ephemeral ports (outbound connections and listen(0)), on Linux; undefined
 * elsewhere.
 */
export const ephemeralPortRange = (read: () => string = () => readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')): [number, number] | undefined => {
  try {
    const [lo, hi] = read().trim().split(/\s+/).map(Number);
    return lo !== undefined && hi !== undefined && Number.isInteger(lo) && Number.isInteger(hi) && lo <= hi ? [lo, hi] : undefined;
  } catch {
    return undefined;
  }
};

const probe = (port: number): Promise<number | undefined> =>
  new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' || err.code === 'EACCES' ? resolve(undefined) : reject(err)));
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      const got = typeof addr === 'object' && addr ? addr.port : undefined;
      srv.close(() => resolve(got));
    });
  });

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now; the probe socket is closed before this
 * resolves, so the caller binds it a moment later. Taken at random below the kernel's ephemeral
 * range where there is one: a port the OS picked (listen(0)) is also one it hands to the next
 * outbound connection, and with a stack's dozens of Kafka, Redis and PostgreSQL sockets opening in
 * that moment one of them took it now and then (EADDRINUSE when the service started).
 */
export const freePort = async (range = ephemeralPortRange()): Promise<number> => {
  const [lo] = range ?? [0];
  if (lo > LOWEST + 1_000) {
    for (let tries = 0; tries < 50; tries++) {
      const port = await probe(LOWEST + Math.floor(Math.random() * (lo - LOWEST)));
      if (port !== undefined) return port;
    }
  }
  const port = await probe(0);
  if (port === undefined) throw new Error('the OS found no free TCP port on 127.0.0.1; close some listeners and retry');
  return port;
};
