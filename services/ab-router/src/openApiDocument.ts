import { extendZodWithOpenApi, OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { ModelName } from '@flywheel/contracts';
import { IdParam, ListQuery, ReasonBody, RollbackBody, StartBody } from './adminRoutes.js';
import type { EvaluationOutcome } from './evaluation.js';
import { ExperimentSettings } from './experimentSettings.js';
import type { ExperimentView as ExperimentViewType } from './experimentView.js';
import { ExperimentState, type Experiment as ExperimentType } from './PgExperimentStore.js';

/*
 * Requests are documented from the schemas the admin routes parse with. Answers are built in code
 * (experimentView, evaluation), so their schemas live here; the type checks below fail the build
 * when a documented answer loses or gains a field the code returns.
 */
const Arm = z.object({ n: z.number().int(), successes: z.number().int() });
const Experiment = z.object({
  id: z.string().uuid(),
  model: z.string(),
  championVersion: z.string(),
  challengerVersion: z.string(),
  splitBps: z.number().int().describe('Share of subjects routed to the challenger, in basis points (1000 = 10 %).'),
  salt: z.string(),
  settings: ExperimentSettings,
  state: ExperimentState,
  startedAt: z.string().datetime(),
  decidedAt: z.string().datetime().nullable(),
  decision: z.unknown().describe('The decision that ended the experiment (the stats verdict and reason), null while running.'),
  phase: z.enum(['shadow', 'ab']).describe('`shadow`: the challenger scores the same requests off the request path (paired test); `ab`: traffic is split.'),
});
const SampleRatioCheck = z.object({
  test: z.literal('srm_chi_square'), chiSquare: z.number(), df: z.number().int(), pValue: z.number(),
  observedShares: z.array(z.number()), expectedShares: z.array(z.number()), halt: z.boolean(),
});
const ExperimentView = Experiment.extend({
  totals: z.object({ champion: Arm, challenger: Arm, assigned: z.object({ champion: z.number().int(), challenger: z.number().int() }) }),
  srm: SampleRatioCheck,
  shadow: z.object({
    totals: z.object({ scored: z.number().int(), agreed: z.number().int(), bothRight: z.number().int(), championOnly: z.number().int(), challengerOnly: z.number().int(), bothWrong: z.number().int(), undecidable: z.number().int() }),
    agreementRate: z.number().nullable().describe('Share of shadow-scored requests where both gave the same label (known before any outcome).'),
    preview: z.object({ decision: z.enum(['promote', 'reject', 'continue']), reasons: z.array(z.object({ code: z.string() }).passthrough()) }).passthrough()
      .describe('What the paired test (sequential McNemar on the disagreements) would decide now.'),
  }).nullable().describe('The shadow test, for experiments whose policy starts in shadow; null otherwise.'),
  preview: z.object({
    decision: z.enum(['promote', 'reject', 'continue']),
    reasons: z.array(z.object({ code: z.string() }).passthrough()),
    method: z.enum(['sequential', 'fixed']),
    pValue: z.number(),
  }).passthrough().describe('What the decision rule would decide now (also champion/challenger summaries, effect and SRM).'),
});
const EvaluationOutcomeDoc = z.object({ experiment: ExperimentView, action: z.enum(['continue', 'promoted', 'rejected', 'halted', 'skipped']) });
const NotStarted = z.object({ started: z.literal(false), reason: z.string() });
const Rollback = z.object({ version: z.string().describe('The champion now.'), from: z.string().describe('The champion before.') });
const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), issues: z.array(z.unknown()).optional(), details: z.unknown().optional() }),
});
const Health = z.object({ status: z.literal('ok'), service: z.string() });
const Readiness = z.object({ status: z.enum(['ready', 'not ready']), checks: z.record(z.string()), details: z.record(z.unknown()).optional() });

// Compile-time: every field the code returns is documented, and nothing more (dates are JSON strings).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const documented: [
  Same<keyof z.infer<typeof Experiment>, keyof ExperimentType>,
  Same<keyof z.infer<typeof ExperimentView>, keyof ExperimentViewType>,
  Same<keyof z.infer<typeof EvaluationOutcomeDoc>, keyof EvaluationOutcome>,
] = [true, true, true];
void documented;

const json = <S extends z.ZodTypeAny>(schema: S, description: string) => ({ description, content: { 'application/json': { schema } } });
const admin = {
  401: json(ErrorBody, 'No valid key (Authorization: Bearer <key> or X-Api-Key).'),
  403: json(ErrorBody, 'The key lacks the `admin` scope.'),
};
const invalid = { 400: json(ErrorBody, 'The request failed validation; `error.issues` lists every zod issue.') };
const unknownExperiment = { 404: json(ErrorBody, 'No experiment with this id.') };
const body = <S extends z.ZodTypeAny>(schema: S) => ({ body: { required: true, content: { 'application/json': { schema } } } });

/** The OpenAPI 3.1 document of the ab-router's admin API, built from the zod schemas its routes parse with. */
export const openApiDocument = (): object => {
  // Parameters need zod's .openapi(); this patches zod's prototype, so only the generator does it.
  extendZodWithOpenApi(z);
  const r = new OpenAPIRegistry();
  r.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'A key with the `admin` scope (flywheel keys create), or ADMIN_TOKEN.' });
  const security = [{ bearer: [] }];
  r.registerPath({
    method: 'get', path: '/admin/experiments', summary: 'Experiments with live statistics, newest first', security,
    request: { query: ListQuery },
    responses: { 200: json(z.object({ experiments: z.array(ExperimentView) }), 'Arm totals, the SRM check and what the test would decide now.'), ...invalid, ...admin },
  });
  r.registerPath({
    method: 'post', path: '/admin/experiments', summary: "Start an experiment of a registered challenger against the model's champion", security,
    request: body(StartBody),
    responses: {
      201: json(ExperimentView, "Started (a running experiment of the model is stopped, superseded), or this challenger's earlier experiment."),
      200: json(NotStarted, 'Not started: no champion to test against (the challenger was promoted directly), or it is already champion.'),
      ...invalid, ...admin,
    },
  });
  r.registerPath({
    method: 'get', path: '/admin/experiments/{id}', summary: 'One experiment with live statistics', security,
    request: { params: IdParam },
    responses: { 200: json(ExperimentView, 'The experiment.'), ...invalid, ...admin, ...unknownExperiment },
  });
  r.registerPath({
    method: 'post', path: '/admin/experiments/{id}/stop', summary: 'Stop a running experiment; the champion keeps all traffic', security,
    request: { params: IdParam, ...body(ReasonBody) },
    responses: { 200: json(Experiment, 'Stopped.'), ...invalid, ...admin, ...unknownExperiment, 409: json(ErrorBody, 'The experiment is not running.') },
  });
  r.registerPath({
    method: 'post', path: '/admin/experiments/{id}/evaluate', summary: 'Run the decision rule now', security,
    request: { params: IdParam },
    responses: { 200: json(EvaluationOutcomeDoc, 'What the rule decided and did (continue, promoted, rejected, halted on SRM, or skipped when not running).'), ...invalid, ...admin, ...unknownExperiment },
  });
  r.registerPath({
    method: 'post', path: '/admin/experiments/{id}/promote', summary: 'Promote the challenger now, whatever the statistics say', security,
    request: { params: IdParam, ...body(ReasonBody) },
    responses: { 200: json(Experiment, 'Promoted: registry, model-updates and routing follow.'), ...invalid, ...admin, ...unknownExperiment, 409: json(ErrorBody, 'The experiment is not running.') },
  });
  r.registerPath({
    method: 'post', path: '/admin/models/{model}/rollback', summary: "Roll a model's champion back to the previous one", security,
    request: { params: z.object({ model: ModelName }), ...body(RollbackBody) },
    responses: {
      200: json(Rollback, 'Rolled back.'), ...invalid, ...admin,
      404: json(ErrorBody, 'The model has no champion, or no earlier champion to go back to.'),
      409: json(ErrorBody, 'expectedChampion is not the champion any more.'),
    },
  });
  r.registerPath({ method: 'get', path: '/healthz', summary: 'Liveness (no key)', responses: { 200: json(Health, 'The process answers.') } });
  r.registerPath({
    method: 'get', path: '/readyz', summary: 'Readiness (no key)',
    responses: { 200: json(Readiness, 'PostgreSQL, Redis and Kafka answer.'), 503: json(Readiness, 'A dependency is not ready yet.') },
  });
  r.registerPath({ method: 'get', path: '/openapi.json', summary: 'This document (no key)', responses: { 200: { description: 'OpenAPI 3.1.' } } });
  return new OpenApiGeneratorV31(r.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'Flywheel ab-router admin API', version: '1.0.0', description: 'A/B experiments between a champion and a challenger: start, watch, stop, decide, and roll a champion back.' },
  });
};

/** The file content of openapi.json, stable so a test can compare it. */
export const renderOpenApi = (): string => `${JSON.stringify(openApiDocument(), null, 2)}\n`;
