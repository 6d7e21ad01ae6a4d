import { mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

/** Where this user's processes note the ports freePort gave them (one file per port, holding the pid). */
export const defaultReservationDir = (): string => join(tmpdir(), `flywheel-ports-${typeof process.getuid === 'function' ? process.getuid() : 'user'}`);

const held = new Map<number, string>();
let releaseOnExit = false;

/** Whether a reservation file's content names a live process (garbage or a gone pid: no). */
const ownerAlive = (owner: number): boolean => {
  if (!(Number.isInteger(owner) && owner > 0)) return false;
  try {
    process.kill(owner, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Claims `port` for this process among every process of this user on the machine; false when it
 * is this process's already or a live process holds it. A claim whose process is gone is taken over.
 */
export const reservePort = (port: number, dir = defaultReservationDir()): boolean => {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      held.set(port, file);
      if (!releaseOnExit) {
        releaseOnExit = true;
        process.once('exit', () => { for (const p of [...held.keys()]) releasePort(p); });
      }
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = Number.NaN;
      try {
        owner = Number(readFileSync(file, 'utf8'));
      } catch {
        continue; // released meanwhile: try again
      }
      if (owner === process.pid || ownerAlive(owner)) return false;
      rmSync(file, { force: true }); // its process is gone
    }
  }
  return false;
};

/**
 * Removes the reservations of processes that are gone. The exit hook does not run in a process
 * ended by a signal (a test runner's worker), so the next caller cleans up after it.
 */
export const sweepReservations = (dir = defaultReservationDir()): void => {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return; // no folder: nothing reserved
  }
  for (const name of names) {
    try {
      const owner = Number(readFileSync(join(dir, name), 'utf8'));
      if (!ownerAlive(owner)) rmSync(join(dir, name), { force: true });
    } catch {
      // released meanwhile
    }
  }
  try {
    rmdirSync(dir);
  } catch {
    // live reservations remain
  }
};

/** Gives back a port freePort handed to this process (its reservation file goes, and the folder once empty). */
export const releasePort = (port: number): void => {
  const file = held.get(port);
  if (file === undefined) return;
  held.delete(port);
  rmSync(file, { force: true });
  try {
    rmdirSync(join(file, '..'));
  } catch {
    // other processes still hold ports there
  }
};

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now; the probe socket is closed before this
 * resolves, so the caller binds it a moment later. Taken at random below the kernel's ephemeral
 * range where there is one: a port the OS picked (listen(0)) is also one it hands to the next
 * outbound connection, and with a stack's dozens of Kafka, Redis and PostgreSQL sockets opening in
 * that moment one of them took it now and then (EADDRINUSE when the service started).
 * The port is also reserved (reservePort) until releasePort or the end of this process: a service
 * binds its port only after its migrations and consumer joins, seconds later, and in that window
 * two stacks of parallel test files drew the same port (EADDRINUSE, seen in a CI run).
 */
export const freePort = async (range = ephemeralPortRange(), reservations = defaultReservationDir()): Promise<number> => {
  const [lo] = range ?? [0];
  if (lo > LOWEST + 1_000) {
    sweepReservations(reservations);
    for (let tries = 0; tries < 50; tries++) {
      const candidate = LOWEST + Math.floor(Math.random() * (lo - LOWEST));
      if (!reservePort(candidate, reservations)) continue;
      const port = await probe(candidate);
      if (port !== undefined) return port;
      releasePort(candidate);
    }
  }
  const port = await probe(0);
  if (port === undefined) throw new Error('the OS found no free TCP port on 127.0.0.1; close some listeners and retry');
  return port;
};
