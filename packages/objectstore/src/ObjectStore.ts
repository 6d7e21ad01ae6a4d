/** The S3 operations Flywheel needs; MinIO or any S3 API behind it. */
export interface ObjectStore {
  readonly bucket: string;
  put(key: string, body: Uint8Array | string, contentType?: string): Promise<void>;
  get(key: string): Promise<Buffer>;
  exists(key: string): Promise<boolean>;
  list(prefix: string): Promise<string[]>;
  remove(keys: readonly string[]): Promise<void>;
}
