import { z } from 'zod';
import { LearningError } from './errors.js';

/** Where one float32 tensor sits in a tensor file. */
export const TensorEntry = z.object({
  name: z.string().min(1),
  shape: z.array(z.number().int().nonnegative()),
  /** byte offset in the file */
  offset: z.number().int().nonnegative(),
  /** number of float32 elements */
  length: z.number().int().nonnegative(),
});
export type TensorEntry = z.infer<typeof TensorEntry>;

/** Concatenates float32 tensors (little-endian) and describes each one. */
export function encodeTensorFile(tensors: readonly { name: string; shape: readonly number[]; data: Float32Array }[]): { bytes: Uint8Array; entries: TensorEntry[] } {
  const total = tensors.reduce((a, t) => a + t.data.length, 0);
  const out = new Float32Array(total);
  const entries: TensorEntry[] = [];
  let o = 0;
  for (const t of tensors) {
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (expected !== t.data.length) throw new RangeError(`tensor ${t.name}: shape [${t.shape.join(', ')}] does not match ${t.data.length} values`);
    out.set(t.data, o);
    entries.push({ name: t.name, shape: [...t.shape], offset: o * 4, length: t.data.length });
    o += t.data.length;
  }
  return { bytes: new Uint8Array(out.buffer), entries };
}

/** Reads the tensors described by `entries` (copies, so the result is aligned and owned). */
export function decodeTensorFile(bytes: Uint8Array, entries: readonly TensorEntry[]): Map<string, Float32Array> {
  const map = new Map<string, Float32Array>();
  for (const e of entries) {
    if (e.offset % 4 !== 0 || e.offset + e.length * 4 > bytes.byteLength) {
      throw new LearningError('incomplete_state', `tensor ${e.name} lies outside the ${bytes.byteLength}-byte file; the file is truncated or belongs to another manifest`);
    }
    map.set(e.name, new Float32Array(bytes.slice(e.offset, e.offset + e.length * 4).buffer));
  }
  return map;
}

export function requireTensor(map: ReadonlyMap<string, Float32Array>, name: string, length: number, what: string): Float32Array {
  const t = map.get(name);
  if (t === undefined || t.length !== length) {
    throw new LearningError('incomplete_state', `${what}: tensor ${name} is missing or has ${t?.length ?? 0} values instead of ${length}`);
  }
  return t;
}
