import { z } from 'zod';

/** What every Kubernetes object has; the rest is checked against the OpenAPI-derived schema. */
export const K8sObject = z
  .object({ apiVersion: z.string().min(1), kind: z.string().min(1), metadata: z.object({ name: z.string().min(1) }).passthrough() })
  .passthrough();
export type K8sObject = z.infer<typeof K8sObject>;

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

/**
 * Validates an object against the Kubernetes JSON schemas shipped in the `kubernetes-models` package
 * (generated from the Kubernetes OpenAPI spec; works offline). Returns problems, empty when valid.
 * An apiVersion or kind the pinned Kubernetes version does not know is a problem too.
 */
export const validateObject = async (obj: K8sObject): Promise<string[]> => {
  const id = `${obj.kind}/${obj.metadata.name}`;
  // core/v1 lives at kubernetes-models/v1; apps/v1 at kubernetes-models/apps/v1.
  const mod = `kubernetes-models/${obj.apiVersion}`;
  let exports: Record<string, unknown>;
  try {
    exports = (await import(mod)) as Record<string, unknown>;
  } catch {
    return [`${id}: apiVersion ${obj.apiVersion} is not in the pinned Kubernetes API`];
  }
  const cls = exports[obj.kind];
  if (typeof cls !== 'function') return [`${id}: kind ${obj.kind} is not in ${obj.apiVersion}`];
  try {
    new (cls as ModelClass)(obj).validate();
    return [];
  } catch (err) {
    return [`${id}: ${(err as Error).message}`];
  }
};
