/**
 * Opens an onnxruntime session with the configured execution providers (e.g. cuda,cpu); when a
 * provider other than the CPU cannot be used here (no GPU, no CUDA libraries), says so once and
 * opens it on the CPU, so a GPU setting never stops a CPU-only machine from serving.
 */
export async function withExecutionProviders<T>(providers: readonly string[], open: (providers: string[]) => Promise<T>, warn: (message: string, err: unknown) => void): Promise<T> {
  const wanted = providers.length > 0 ? [...providers] : ['cpu'];
  if (wanted.every((p) => p === 'cpu')) return open(['cpu']);
  try {
    return await open(wanted);
  } catch (err) {
    warn(`onnxruntime execution providers [${wanted.join(', ')}] are not usable here; using cpu`, err);
    return open(['cpu']);
  }
}
