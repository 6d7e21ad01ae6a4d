import { describe, expect, it } from 'vitest';
import { ConfigError } from '@flywheel/runtime';
import { ServiceRefused, UsageError } from './cliErrors.js';
import { experimentCommand } from './experimentCommand.js';
import { createServiceCall } from './serviceClient.js';

type Seen = { method: string; url: string; headers: Record<string, string>; body: unknown };
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** The ab-router's admin API, faked at the fetch level: records each request, answers with `answer`. */
const abRouter = (answer: (s: Seen) => Response, { adminToken }: { adminToken?: string } = { adminToken: 't'.repeat(16) }) => {
  const seen: Seen[] = [];
  const fetchImpl = (async (url: string | URL | Request, init?: RequestInit) => {
    const s: Seen = { method: init?.method ?? 'GET', url: String(url), headers: (init?.headers ?? {}) as Record<string, string>, body: init?.body === undefined ? undefined : JSON.parse(String(init.body)) };
    seen.push(s);
    return answer(s);
  }) as typeof fetch;
  const lines: string[] = [];
  const deps = { abRouter: createServiceCall({ service: 'ab-router', baseUrl: 'http://abr:8085', adminToken }, fetchImpl), print: (l: string) => void lines.push(l) };
  return { deps, seen, lines };
};

const ID = '3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b';
const stored = { id: ID, model: 'tickets', state: 'running', championVersion: '1.0.0', challengerVersion: '1.0.1', splitBps: 1000, startedAt: '2026-01-02T03:04:05.000Z', decidedAt: null, salt: ID, settings: {} };
const view = {
  ...stored,
  totals: { champion: { n: 300, successes: 180 }, challenger: { n: 300, successes: 270 }, assigned: { champion: 2700, challenger: 300 } },
  srm: { halt: false, pValue: 0.42, observedShares: [0.9, 0.1] },
  preview: { decision: 'promote', reasons: [{ code: 'better', message: 'challenger is better by 30 points' }] },
};

describe('flywheel experiments / experiment over the ab-router admin API', () => {
  it('lists a model\'s experiments with the admin token, filtered by state, as a table', async () => {
    const r = abRouter(() => json(200, { experiments: [view] }));
    await experimentCommand(r.deps, 'experiments', ['tickets'], { state: 'running' });
    expect(r.seen).toHaveLength(1);
    expect(r.seen[0]).toMatchObject({ method: 'GET', url: 'http://abr:8085/admin/experiments?model=tickets&state=running' });
    expect(r.seen[0]!.headers.authorization).toBe(`Bearer ${'t'.repeat(16)}`);
    const out = r.lines.join('\n');
    expect(out).toMatch(/^id\s+model\s+state/);
    expect(out).toContain(ID);
    expect(out).toContain('180/300 (60.0%)');
    expect(out).toContain('270/300 (90.0%)');
    expect(out).toContain('promote');
  });

  it('lists every experiment without a model, and refuses an unknown --state before calling', async () => {
    const r = abRouter(() => json(200, { experiments: [] }));
    await experimentCommand(r.deps, 'experiments', [], {});
    expect(r.seen[0]!.url).toBe('http://abr:8085/admin/experiments');
    expect(r.lines).toEqual(['(none)']);
    await expect(experimentCommand(r.deps, 'experiments', [], { state: 'won' })).rejects.toBeInstanceOf(UsageError);
    expect(r.seen).toHaveLength(1);
  });

  it('promotes and stops with the reason in the body', async () => {
    const r = abRouter((s) => json(200, { ...stored, state: s.url.endsWith('/promote') ? 'promoted' : 'stopped' }));
    await experimentCommand(r.deps, 'experiment', ['promote', ID], { reason: 'challenger clearly better' });
    await experimentCommand(r.deps, 'experiment', ['stop', ID], { reason: 'wrong split' });
    expect(r.seen.map((s) => [s.method, s.url, s.body])).toEqual([
      ['POST', `http://abr:8085/admin/experiments/${ID}/promote`, { reason: 'challenger clearly better' }],
      ['POST', `http://abr:8085/admin/experiments/${ID}/stop`, { reason: 'wrong split' }],
    ]);
    expect(r.lines[0]).toBe(`tickets@1.0.1 promoted (experiment ${ID} is promoted)`);
    expect(r.lines[1]).toContain('is stopped; tickets serves 1.0.0 to everyone');
  });

  it('evaluates and shows one experiment with its statistics', async () => {
    const r = abRouter((s) => json(200, s.method === 'POST' ? { action: 'continue', experiment: view } : view));
    await experimentCommand(r.deps, 'experiment', ['evaluate', ID], {});
    await experimentCommand(r.deps, 'experiment', ['show', ID], {});
    expect(r.seen.map((s) => `${s.method} ${s.url}`)).toEqual([`POST http://abr:8085/admin/experiments/${ID}/evaluate`, `GET http://abr:8085/admin/experiments/${ID}`]);
    expect(r.lines[0]).toBe('evaluated: continue');
    expect(r.lines.join('\n')).toContain('challenger is better by 30 points');
    expect(r.lines.join('\n')).toContain('split check ok');
  });

  it('rolls a model back through the ab-router', async () => {
    const r = abRouter(() => json(200, { version: '1.0.0', from: '1.1.0' }));
    await experimentCommand(r.deps, 'experiment', ['rollback', 'tickets'], { reason: 'support tickets doubled' });
    expect(r.seen[0]).toMatchObject({ method: 'POST', url: 'http://abr:8085/admin/models/tickets/rollback', body: { reason: 'support tickets doubled' } });
    expect(r.lines).toEqual(['tickets: 1.0.0 is champion again; 1.1.0 rolled_back']);
  });

  it('refuses a bad id, a missing reason or an unknown subcommand before calling', async () => {
    const r = abRouter(() => json(200, {}));
    await expect(experimentCommand(r.deps, 'experiment', ['promote', 'not-a-uuid'], { reason: 'x' })).rejects.toThrow(/not an experiment id/);
    await expect(experimentCommand(r.deps, 'experiment', ['stop', ID], {})).rejects.toThrow(/--reason/);
    await expect(experimentCommand(r.deps, 'experiment', ['launch', ID], {})).rejects.toThrow(/unknown experiment command "launch"/);
    await expect(experimentCommand(r.deps, 'experiment', [], {})).rejects.toBeInstanceOf(UsageError);
    expect(r.seen).toHaveLength(0);
  });

  it("passes the ab-router's refusal on, and needs ADMIN_TOKEN", async () => {
    const r = abRouter(() => json(409, { error: { code: 'conflict', message: `experiment ${ID} is promoted, not running` } }));
    const err = await experimentCommand(r.deps, 'experiment', ['stop', ID], { reason: 'late' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceRefused);
    expect((err as Error).message).toContain('is promoted, not running');
    const noToken = abRouter(() => json(200, { experiments: [] }), {});
    await expect(experimentCommand(noToken.deps, 'experiments', [], {})).rejects.toBeInstanceOf(ConfigError);
    expect(noToken.seen).toHaveLength(0);
  });
});
