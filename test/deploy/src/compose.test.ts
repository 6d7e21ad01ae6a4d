import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { repoPath } from './repo.js';

const composeFile = repoPath('deploy/compose/compose.yaml');
const composeDir = dirname(composeFile);
const PORTS: Record<string, number> = { serving: 8080, 'feedback-ingest': 8081, aggregator: 8082, 'drift-monitor': 8083, trainer: 8084, 'ab-router': 8085 };

const Build = z.union([z.string(), z.object({ context: z.string().default('.'), dockerfile: z.string().default('Dockerfile'), args: z.record(z.string()).optional() })]);
const Service = z
  .object({
    image: z.string().optional(),
    build: Build.optional(),
    depends_on: z.union([z.array(z.string()), z.record(z.object({ condition: z.string() }))]).optional(),
    volumes: z.array(z.string()).optional(),
    environment: z.record(z.union([z.string(), z.number(), z.null()])).optional(),
    ports: z.array(z.string()).optional(),
  })
  .passthrough();
const Compose = z.object({ services: z.record(Service), volumes: z.record(z.unknown().nullable()).optional() });
type Compose = z.infer<typeof Compose>;

/** A compose file parsed the way Compose does (YAML merge keys on), checked for shape. */
const load = (file: string): Compose => Compose.parse(parse(readFileSync(file, 'utf8'), { merge: true }));

/** `FROM` images of a Dockerfile with its `ARG` defaults substituted; stage names are left out. */
const baseImages = (dockerfile: string): string[] => {
  const text = readFileSync(dockerfile, 'utf8');
  const args = new Map<string, string>();
  for (const m of text.matchAll(/^ARG\s+([A-Z_]+)=(\S+)/gm)) args.set(m[1]!, m[2]!);
  const stages = new Set<string>();
  const images: string[] = [];
  for (const m of text.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)) {
    const image = m[1]!.replace(/\$\{?([A-Z_]+)\}?/g, (_, k: string) => args.get(k) ?? `<unset ${k}>`);
    if (!stages.has(image)) images.push(image);
    if (m[2]) stages.add(m[2]);
  }
  return images;
};
const pinned = (image: string): boolean => /^[^:@\s]+(:[^:@\s]+|@sha256:[0-9a-f]{64}|:[^:@\s]+@sha256:[0-9a-f]{64})$/.test(image) && !image.endsWith(':latest') && !image.includes('<unset');
/** The image Compose runs when the variable is unset: `${MINIO_IMAGE:-minio/minio:...}` gives its default. */
const imageOf = (s: { image?: string | undefined }): string | undefined => s.image?.replace(/^\$\{[A-Z_]+:-(.+)\}$/, '$1');

describe('deploy/compose/compose.yaml', () => {
  const files = ['compose.yaml', ...readdirSync(composeDir).filter((f) => /^compose\..+\.ya?ml$/.test(f))];

  it.each(files)('%s parses and references only Dockerfiles, contexts and files that exist', (f) => {
    const c = load(resolve(composeDir, f));
    const problems: string[] = [];
    for (const [name, s] of Object.entries(c.services)) {
      if (s.build !== undefined) {
        const b = typeof s.build === 'string' ? { context: s.build, dockerfile: 'Dockerfile' } : s.build;
        const ctx = resolve(composeDir, b.context);
        if (!existsSync(ctx)) problems.push(`${name}: build context ${b.context} does not exist`);
        if (!existsSync(resolve(ctx, b.dockerfile))) problems.push(`${name}: Dockerfile ${b.dockerfile} does not exist`);
        const svc = b.args?.SERVICE;
        if (svc !== undefined && !existsSync(repoPath('services', svc))) problems.push(`${name}: SERVICE=${svc} is not a folder under services/`);
      }
      for (const v of s.volumes ?? []) {
        const host = v.split(':')[0]!;
        if ((host.startsWith('.') || host.startsWith('/')) && !existsSync(resolve(composeDir, host))) problems.push(`${name}: volume source ${host} does not exist`);
      }
    }
    expect(problems).toEqual([]);
  });

  const c = load(composeFile);

  it('uses pinned images; our own images are built from a Dockerfile here', () => {
    const problems: string[] = [];
    for (const [name, s] of Object.entries(c.services)) {
      if (!s.image) problems.push(`${name}: no image`);
      else if (s.image.startsWith('flywheel/')) {
        if (!s.build) problems.push(`${name}: ${s.image} has no build, so it could only be pulled from a registry`);
      } else if (!pinned(imageOf(s) ?? '')) problems.push(`${name}: ${s.image} is not pinned to a version`);
    }
    expect(problems).toEqual([]);
  });

  it('runs the platform, the six services and the one-shot setup jobs', () => {
    const names = Object.keys(c.services);
    expect(names).toEqual(
      expect.arrayContaining(['kafka', 'kafka-init', 'postgres', 'redis', 'redis-exporter', 'minio', 'minio-init', 'prometheus', 'grafana', ...Object.keys(PORTS)]),
    );
    expect(c.services.kafka?.image).toMatch(/^apache\/kafka:/);
    expect(c.services.kafka?.environment?.KAFKA_PROCESS_ROLES).toBe('broker,controller'); // KRaft, no ZooKeeper
    expect(imageOf(c.services.minio ?? {})).toMatch(/^minio\/minio:/);
    for (const [svc, port] of Object.entries(PORTS)) {
      const s = c.services[svc]!;
      expect(String(s.environment?.PORT), svc).toBe(String(port));
      expect(s.ports?.some((p) => p.endsWith(`:${port}`)), `${svc} publishes ${port}`).toBe(true);
      for (const v of ['KAFKA_BROKERS', 'POSTGRES_URL', 'REDIS_URL']) expect(s.environment?.[v], `${svc} ${v}`).toBeTruthy();
    }
  });

  it('runs permissively licensed images where a drop-in exists, and pins MinIO (AGPL) by digest', () => {
    expect(c.services.redis?.image).toMatch(/^valkey\/valkey:/); // BSD-3-Clause, same protocol as Redis
    for (const name of ['minio', 'minio-init']) expect(imageOf(c.services[name] ?? {}), name).toMatch(/@sha256:[0-9a-f]{64}$/);
  });

  it('depends only on services that exist, and waits for setup jobs to complete', () => {
    const problems: string[] = [];
    for (const [name, s] of Object.entries(c.services)) {
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const d of deps) if (!c.services[d]) problems.push(`${name} depends on unknown ${d}`);
    }
    expect(problems).toEqual([]);
    const deps = c.services['feedback-ingest']!.depends_on as Record<string, { condition: string }>;
    expect(deps['kafka-init']?.condition).toBe('service_completed_successfully');
    expect(deps['migrate-feedback-ingest']?.condition).toBe('service_completed_successfully');
  });

  it('Prometheus scrapes every service at its compose address', () => {
    const prom = z
      .object({ scrape_configs: z.array(z.object({ job_name: z.string(), static_configs: z.array(z.object({ targets: z.array(z.string()) })).optional() })) })
      .parse(parse(readFileSync(repoPath('deploy/prometheus/prometheus.yml'), 'utf8')));
    const targets = new Map(prom.scrape_configs.map((j) => [j.job_name, j.static_configs?.flatMap((s) => s.targets) ?? []]));
    for (const [svc, port] of Object.entries(PORTS)) expect(targets.get(`flywheel-${svc}`), svc).toEqual([`${svc}:${port}`]);
    expect(targets.get('redis')).toEqual(['redis-exporter:9121']);
  });
});

describe('deploy/docker', () => {
  const dockerfiles = readdirSync(repoPath('deploy/docker')).filter((f) => f.endsWith('.Dockerfile'));

  it('has the service image and the trainer and serving GPU images', () => {
    expect(dockerfiles.sort()).toEqual(['service.Dockerfile', 'serving-gpu.Dockerfile', 'trainer-gpu.Dockerfile']);
  });

  it.each(dockerfiles)('%s: pinned bases, multi-stage, non-root, health check, its own .dockerignore', (f) => {
    const file = repoPath('deploy/docker', f);
    const text = readFileSync(file, 'utf8');
    expect(baseImages(file).filter((i) => !pinned(i))).toEqual([]);
    expect(text.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    const finalStage = text.slice(text.lastIndexOf('\nFROM '));
    expect(finalStage).toMatch(/^USER\s+(?!0\b|root\b)\S+/m);
    expect(finalStage).toMatch(/^HEALTHCHECK /m);
    expect(finalStage).toMatch(/^CMD \["node", "dist\/main.js"\]/m);
    expect(existsSync(`${file}.dockerignore`)).toBe(true);
  });

  it('the trainer GPU image is CUDA-based and adds tfjs-node-gpu', () => {
    const text = readFileSync(repoPath('deploy/docker/trainer-gpu.Dockerfile'), 'utf8');
    expect(baseImages(repoPath('deploy/docker/trainer-gpu.Dockerfile')).some((i) => i.startsWith('nvidia/cuda:'))).toBe(true);
    expect(text).toContain('@tensorflow/tfjs-node-gpu@');
  });

  it('the serving GPU image is CUDA 12-based, installs onnxruntime\'s CUDA provider and asks for it', () => {
    const file = repoPath('deploy/docker/serving-gpu.Dockerfile');
    const text = readFileSync(file, 'utf8');
    expect(baseImages(file).some((i) => /^nvidia\/cuda:12\./.test(i))).toBe(true);
    expect(text).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12 pnpm install/);
    expect(text).toMatch(/^ENV .*ONNX_EXECUTION_PROVIDERS=cuda,cpu/m);
  });
});
