import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

const Entry = z.object({ file: z.string(), at: z.string(), rows: z.number().int() });
const StateFile = z.object({ version: z.literal(1), sent: z.record(z.string(), Entry) });
export type SentEntry = z.infer<typeof Entry>;

/**
 * Content hashes of files already delivered, in DIR/.flywheel-watch/state.json. Moving a file to
 * done/ is the commit; this guards against the same content copied in again under another name
 * (and covers a crash between recording and moving).
 */
export class WatchState {
  private constructor(private readonly path: string, private readonly sent: Map<string, SentEntry>) {}

  static async open(dir: string): Promise<WatchState> {
    const stateDir = join(dir, '.flywheel-watch');
    await mkdir(stateDir, { recursive: true });
    const path = join(stateDir, 'state.json');
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text === undefined) return new WatchState(path, new Map());
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      raw = undefined;
    }
    const parsed = StateFile.safeParse(raw);
    if (!parsed.success) throw new Error(`${path} is damaged (${parsed.error.issues[0]?.message ?? 'not JSON'}); move it away to start afresh (files already in done/ stay done)`);
    return new WatchState(path, new Map(Object.entries(parsed.data.sent)));
  }

  get(hash: string): SentEntry | undefined {
    return this.sent.get(hash);
  }

  /** Records a delivered file; written to a temp file and renamed, so the state is never half written. */
  async markSent(hash: string, entry: SentEntry): Promise<void> {
    this.sent.set(hash, entry);
    const tmp = `${this.path}.tmp-${process.pid}`;
    await writeFile(tmp, JSON.stringify({ version: 1, sent: Object.fromEntries(this.sent) }, null, 1));
    await rename(tmp, this.path);
  }
}
