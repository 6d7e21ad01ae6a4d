import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir } from 'node:fs/promises';
import S3rver from 's3rver';

/** Options for {@link startS3Local}. */
export interface S3LocalOptions {
  /** Interface to bind. Default `127.0.0.1` (an IP, so clients use path-style URLs). */
  readonly address?: string;
  /** Port to listen on; `0` picks a free one. */
  readonly port: number;
  /** When `port` is taken by another process, listen on a free port instead of failing. */
  readonly fallbackToFreePort?: boolean;
  /** Folder where buckets and objects are kept (created if missing). */
  readonly directory: string;
  /** Buckets to create at start if they do not exist yet. */
  readonly buckets?: readonly string[];
  /** Log every request to stdout (s3rver's own logger). Default false. */
  readonly verbose?: boolean;
}

/** A running local S3 server. */
export interface S3Local {
  /** Base URL for S3 clients, e.g. `http://127.0.0.1:9000`. */
  readonly endpoint: string;
  readonly address: string;
  readonly port: number;
  /** Stops accepting requests and closes open connections. */
  close(): Promise<void>;
}

/** Access key and secret that s3rver accepts (it checks signatures against this fixed pair). */
export const S3_LOCAL_CREDENTIALS = { accessKey: 'S3RVER', secretKey: 'S3RVER' } as const;

/**
 * Starts an S3-compatible server backed by the file system (s3rver).
 * We own the HTTP server (rather than `S3rver#run`) because s3rver's `run` turns a taken port
 * into an uncaught exception instead of a rejected promise.
 */
export const startS3Local = async (options: S3LocalOptions): Promise<S3Local> => {
  const address = options.address ?? '127.0.0.1';
  await mkdir(options.directory, { recursive: true });
  const s3rver = new S3rver({
    address,
    port: options.port,
    directory: options.directory,
    silent: options.verbose !== true,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name, configs: [] })),
  });
  await s3rver.configureBuckets();

  const server = createServer(s3rver.callback());
  // Clients (the minio client on Node's global agent) drop an idle socket after 5 s; a server that
  // also closes at 5 s races them, and a request written to a socket the server just closed fails
  // with EPIPE or ECONNRESET. Outlasting the client leaves the closing to it.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  let port: number;
  try {
    port = await listen(server, options.port, address);
  } catch (error) {
    if (!(isAddressInUse(error) && options.fallbackToFreePort === true)) {
      throw isAddressInUse(error)
        ? new Error(`${address}:${options.port} is already in use: stop what listens there, or pass port 0 / fallbackToFreePort`, { cause: error })
        : error;
    }
    port = await listen(server, 0, address);
  }
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    endpoint: `http://${host}:${port}`,
    address,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
};

const listen = (server: Server, port: number, address: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, address);
  });

const isAddressInUse = (error: unknown): boolean =>
  error instanceof Error && (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
