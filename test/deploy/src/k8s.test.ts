import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { K8sObject, validateObject } from './k8sSchema.js';
import { repoPath } from './repo.js';

const KUBECTL = process.env.KUBECTL ?? 'kubectl';
const SERVICES = ['serving', 'feedback-ingest', 'aggregator', 'drift-monitor', 'trainer', 'ab-router'];
const overlays = readdirSync(repoPath('k8s/overlays')).sort();

/** `kubectl kustomize <dir>` parsed into objects; the error says how to get kubectl when it is missing. */
const build = (dir: string): K8sObject[] => {
  let out: string;
  try {
    out = execFileSync(KUBECTL, ['kustomize', dir], { encoding: 'utf8', stdio: 'pipe', maxBuffer: 64 << 20 });
  } catch (err) {
    const e = err as { code?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`${KUBECTL} not found: apt-get install kubernetes-client (or set KUBECTL); scripts/setup.sh installs it`);
    throw new Error(`kubectl kustomize ${dir} failed:\n${e.stderr ?? ''}`);
  }
  return parseAllDocuments(out)
    .map((d) => d.toJS() as unknown)
    .filter((d) => d !== null)
    .map((d) => K8sObject.parse(d));
};

// Loose accessors for the fields the policy checks read; the schema validation covers their types.
type Json = Record<string, any>;
const podSpec = (o: K8sObject): Json => (o as Json).spec.template.spec as Json;
const containers = (o: K8sObject): Json[] => podSpec(o).containers as Json[];
const named = (objs: K8sObject[], kind: string, name: string): K8sObject | undefined =>
  objs.find((o) => o.kind === kind && o.metadata.name === name);

it('there are at least a dev and a prod overlay', () => {
  expect(overlays).toEqual(expect.arrayContaining(['dev', 'prod']));
});

describe.each(overlays)('k8s/overlays/%s', (overlay) => {
  let objs: K8sObject[] = [];
  beforeAll(() => {
    objs = build(repoPath('k8s/overlays', overlay));
  });
  const workloads = (): K8sObject[] => objs.filter((o) => o.kind === 'Deployment' || o.kind === 'Job');

  it('builds with kubectl kustomize and validates against the Kubernetes schemas', async () => {
    expect(objs.length).toBeGreaterThan(20);
    const problems = (await Promise.all(objs.map(validateObject))).flat();
    expect(problems).toEqual([]);
  });

  it('puts everything in one namespace', () => {
    const namespaces = new Set(objs.map((o) => (o.metadata as Json).namespace as string | undefined));
    expect(namespaces.size).toBe(1);
    expect([...namespaces][0]).toBeTruthy();
  });

  it('has a Deployment and a Service per service, with readiness and liveness probes and scrape annotations', () => {
    for (const s of SERVICES) {
      const d = named(objs, 'Deployment', s);
      expect(d, `Deployment ${s}`).toBeDefined();
      expect(named(objs, 'Service', s), `Service ${s}`).toBeDefined();
      const c = containers(d!)[0]!;
      expect(c.readinessProbe?.httpGet?.path, s).toBe('/readyz');
      expect(c.livenessProbe?.httpGet?.path, s).toBe('/healthz');
      const ann = (d as Json).spec.template.metadata.annotations as Record<string, string>;
      expect(ann['prometheus.io/scrape'], s).toBe('true');
      expect(ann['prometheus.io/port'], s).toBe(String(c.ports[0].containerPort));
    }
  });

  it('runs every workload as non-root, read-only, with requests and limits', () => {
    const bad: string[] = [];
    for (const w of workloads()) {
      const id = `${w.kind}/${w.metadata.name}`;
      if (podSpec(w).securityContext?.runAsNonRoot !== true) bad.push(`${id}: pod securityContext.runAsNonRoot`);
      for (const c of containers(w)) {
        if (c.securityContext?.readOnlyRootFilesystem !== true) bad.push(`${id}/${c.name}: readOnlyRootFilesystem`);
        if (c.securityContext?.allowPrivilegeEscalation !== false) bad.push(`${id}/${c.name}: allowPrivilegeEscalation`);
        for (const k of ['requests', 'limits']) for (const r of ['cpu', 'memory']) if (!c.resources?.[k]?.[r]) bad.push(`${id}/${c.name}: resources.${k}.${r}`);
        if (/:latest$|^[^:]+$/.test(c.image as string)) bad.push(`${id}/${c.name}: image ${c.image} is not pinned to a tag`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('keeps no Secret in git and takes credentials from the flywheel-secrets Secret', () => {
    expect(objs.filter((o) => o.kind === 'Secret')).toEqual([]);
    const refs = containers(named(objs, 'Deployment', 'feedback-ingest')!)[0]!.envFrom as Json[];
    expect(refs.some((r) => r.secretRef?.name === 'flywheel-secrets')).toBe(true);
    // The ConfigMap a workload names exists (kustomize appends a content hash to generated names).
    const configMaps = new Set(objs.filter((o) => o.kind === 'ConfigMap').map((o) => o.metadata.name));
    const cmRef = refs.find((r) => r.configMapRef)?.configMapRef?.name as string;
    expect(configMaps.has(cmRef)).toBe(true);
  });

  it('autoscales serving and feedback-ingest and protects them with disruption budgets', () => {
    for (const s of ['serving', 'feedback-ingest']) {
      const hpa = named(objs, 'HorizontalPodAutoscaler', s) as Json | undefined;
      expect(hpa?.spec.scaleTargetRef.name, s).toBe(s);
      expect(hpa?.spec.minReplicas).toBeGreaterThanOrEqual(1);
      expect(named(objs, 'PodDisruptionBudget', s), `PDB ${s}`).toBeDefined();
    }
  });

  it('has setup Jobs for topics, buckets and migrations', () => {
    const jobs = objs.filter((o) => o.kind === 'Job').map((o) => o.metadata.name);
    expect(jobs).toEqual(expect.arrayContaining(['kafka-topics', 's3-buckets', 'migrate-feedback-ingest', 'migrate-trainer', 'migrate-ab-router']));
  });

  it('denies ingress by default and runs the redis exporter for the memory alert', () => {
    const np = named(objs, 'NetworkPolicy', 'default-deny-ingress') as Json | undefined;
    expect(np?.spec.podSelector).toEqual({});
    expect(np?.spec.policyTypes).toEqual(['Ingress']);
    expect(named(objs, 'Deployment', 'redis-exporter')).toBeDefined();
  });

  it(overlay === 'dev' ? 'runs the trainer on CPU' : 'gives the trainer a GPU, with toleration and node selector', () => {
    const t = named(objs, 'Deployment', 'trainer')!;
    const c = containers(t)[0]!;
    if (overlay === 'dev') {
      expect(c.resources.limits['nvidia.com/gpu']).toBeUndefined();
      return;
    }
    expect(c.resources.limits['nvidia.com/gpu']).toBe('1');
    expect(podSpec(t).tolerations).toEqual(expect.arrayContaining([expect.objectContaining({ key: 'nvidia.com/gpu' })]));
    expect(podSpec(t).nodeSelector).toBeDefined();
  });
});

describe('the schema validation itself', () => {
  it('rejects a wrongly typed field and a missing required one', async () => {
    const base = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' } };
    const template = { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i:1' }] } };
    expect(await validateObject(K8sObject.parse({ ...base, spec: { selector: { matchLabels: { a: 'b' } }, template } }))).toEqual([]);
    expect((await validateObject(K8sObject.parse({ ...base, spec: { replicas: 'two', selector: {}, template } }))).join()).toMatch(/replicas/);
    expect((await validateObject(K8sObject.parse({ ...base, spec: { template } }))).join()).toMatch(/selector/);
    expect((await validateObject(K8sObject.parse({ ...base, apiVersion: 'apps/v1beta9' }))).join()).toMatch(/not in the pinned/);
  });
});
