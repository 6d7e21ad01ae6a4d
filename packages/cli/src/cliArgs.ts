import { parseArgs } from 'node:util';
import { ModelName, ModelVersion } from '@flywheel/contracts';
import { UsageError } from './cliErrors.js';
import type { ColumnFormat } from './tableRows.js';

export const USAGE = `flywheel <command> [options]

registry (POSTGRES_URL; bootstrap, import and export also S3_*):
  bootstrap --model NAME --data FILE [--format csv|jsonl] [--text-column C] [--label-column C]
            [--no-header] [--label-depth N] [--epochs N] [--reason TEXT]
                                  train a base on a CSV/JSONL file and register it as champion;
                                  with --encoder DIR [--hybrid] it is import --encoder (below)
  import --model NAME --classifier DIR [--version X.Y.Z] [--reason TEXT]
                                  register your own ONNX text classifier (model.onnx with a logits output,
                                  tokenizer.json, labels in config.json id2label or labels.txt) as champion,
                                  served as it is (default version: the next major, 1.0.0 first);
                                  with --encoder DIR (the encoder it was fine-tuned from: model.onnx for feature
                                  extraction + tokenizer.json) the trainer can retrain it: its first challenger
                                  is distilled from it onto that frozen encoder
  import --model NAME --encoder DIR --data FILE [--format csv|jsonl] [column flags as bootstrap] [--epochs N]
         [--hybrid [--ngram-buckets N]]
                                  train a model on your frozen encoder (stored once, content-hashed) and
                                  register it as champion; retrains embed only rows not seen before;
                                  --hybrid adds a hashed n-gram bag (default 1024 buckets) beside the encoder's
                                  embedding, so words the encoder never saw still have features to learn
  models                          list models with champion and challenger
  versions MODEL                  list versions with status and metrics
  history MODEL                   show every status move (who, why, metrics)
  promote MODEL VERSION --reason TEXT
  rollback MODEL --reason TEXT    the previous champion comes back; the current one is rolled_back (promote brings it back)
  export MODEL[@VERSION] DIR      a folder that classifies with onnxruntime alone (default: the champion):
                                  model.onnx with the adapter merged, labels, featurizer spec + featurize.mjs, README
  export MODEL VERSION --out DIR  copy a version's verified artifacts (and its base) to a folder

api keys (POSTGRES_URL; a key is shown once, stored hashed, and taken up by every service within seconds):
  keys create NAME --scopes predict,feedback,admin [--trust trusted|standard]
                                  issue a key to a new client (trust default: standard; scopes are explicit,
                                  admin does not imply predict); prints the key as the last line
  keys list                       clients with scopes, trust, key id, created and revoked
  keys revoke NAME                withdraw the client's key (the name may then be issued a new one)

services (over HTTP):
  predict MODEL TEXT              label, confidence, version and variant for one text (SERVING_URL)
  predict MODEL --in FILE --out OUT.csv [--text-column C] [--format csv|jsonl] [--no-header]
                                  predict every row, 256 per request; OUT.csv: text,label,confidence,modelVersion
  info MODEL                      champion (and how it was trained: new base or adapter, and why), challenger,
                                  labels, metrics, running experiment and pending retraining
                                  (POSTGRES_URL; ABROUTER_URL + ADMIN_TOKEN, FEEDBACK_URL when set)
  retrain MODEL --reason TEXT     ask feedback-ingest to retrain now (FEEDBACK_URL, ADMIN_TOKEN)
  labels list MODEL               labels proposed for MODEL (corrections naming a label its champion does
                                  not know), with reporters; proposals are not trainable (FEEDBACK_URL, ADMIN_TOKEN)
  labels accept MODEL LABEL       accept a proposed label: its items become trainable and count toward retraining
  experiments [MODEL] [--state running|promoted|rejected|halted|stopped]
                                  A/B experiments with arm totals and the test's current call
                                  (ABROUTER_URL, ADMIN_TOKEN; so are the experiment commands below)
  experiment show|evaluate ID     one experiment's statistics; evaluate decides now if the test allows
  experiment promote|stop ID --reason TEXT
                                  promote the challenger now, or end the test with the champion kept
  experiment rollback MODEL --reason TEXT
                                  roll the champion back through the ab-router (ends a running
                                  experiment, re-publishes routing)
  report MODEL [--since 7d] [--out DIR]
                                  the model's report over the look-back (accuracy, drift windows, experiments,
                                  promotions and rollbacks, confused label pairs, labels waiting), stored by the
                                  drift-monitor in the object store; --out also writes its page and JSON twin
                                  to DIR (DRIFT_URL, ADMIN_TOKEN)
  watch DIR --model NAME [--once] [--format csv|jsonl] [--text-column C] [--label-column C]
            [--no-header] [--label-depth N]
                                  send each labelled CSV/JSONL file dropped into DIR to feedback-ingest
                                  (FEEDBACK_URL), then move it to DIR/done/ (or DIR/failed/ with a
                                  <name>.reason.txt); --once handles what is there and exits

global: --env-file FILE (e.g. .flywheel/platform.env), --actor NAME, --no-publish (skip model-updates events), -h/--help
env: POSTGRES_URL, S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET, KAFKA_BROKERS (for events), TOPIC_PREFIX,
     SERVING_URL, FEEDBACK_URL, ABROUTER_URL, DRIFT_URL, ADMIN_TOKEN (admin routes), API_KEY (sent as X-Api-Key)
exit: 0 ok, 1 refused (unknown model, a service said no, bad input file), 2 usage or configuration error,
      3 a store or service is down (retry later)`;

const OPTIONS = {
  'env-file': { type: 'string' }, actor: { type: 'string' }, 'no-publish': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  model: { type: 'string' }, data: { type: 'string' }, format: { type: 'string' }, 'text-column': { type: 'string' }, 'label-column': { type: 'string' },
  'no-header': { type: 'boolean' }, 'label-depth': { type: 'string' }, epochs: { type: 'string' }, reason: { type: 'string' }, out: { type: 'string' },
  in: { type: 'string' }, once: { type: 'boolean' },
  state: { type: 'string' }, since: { type: 'string' },
  scopes: { type: 'string' }, trust: { type: 'string' },
  classifier: { type: 'string' }, encoder: { type: 'string' }, version: { type: 'string' }, hybrid: { type: 'boolean' }, 'ngram-buckets': { type: 'string' },
} as const;

export type CliOptions = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

export interface ParsedCli {
  command: string | undefined;
  args: string[];
  o: CliOptions;
}

/** Parses argv (without node and the script); an unknown or malformed flag is a UsageError. */
export const parseCli = (argv: string[]): ParsedCli => {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
    const [command, ...args] = positionals;
    return { command, args, o: values };
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
};

/** A required argument or flag. */
export const need = (v: string | undefined, what: string): string => {
  if (v === undefined || v === '') throw new UsageError(`missing ${what}`);
  return v;
};

/** A model name from the command line; a malformed one is a usage error, not a lookup. */
export const modelArg = (v: string | undefined, what = 'MODEL'): ModelName => {
  const r = ModelName.safeParse(need(v, what));
  if (!r.success) throw new UsageError(`"${v}" is not a valid model name: ${r.error.issues[0]?.message ?? 'bad name'}`);
  return r.data;
};

/** A whole number ≥ 1 given as a flag. */
export const positiveInt = (v: string | undefined, flag: string): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`${flag} must be a whole number ≥ 1, not "${v}"`);
  return Number(v);
};

/** csv or jsonl: the --format flag, else the file extension. */
export const formatOf = (file: string, flag: string | undefined): 'csv' | 'jsonl' => {
  const f = flag ?? (/\.(jsonl|ndjson)$/i.test(file) ? 'jsonl' : 'csv');
  if (f !== 'csv' && f !== 'jsonl') throw new UsageError(`--format must be csv or jsonl, not "${f}"`);
  return f;
};

const column = (v: string | undefined, fallback: string): string | number => (v === undefined ? fallback : /^\d+$/.test(v) ? Number(v) : v);

/** The column flags shared by bootstrap, predict --in and watch; `file` decides the format when --format is absent. */
export const columnFormat = (o: CliOptions, file: string): ColumnFormat => {
  const depth = positiveInt(o['label-depth'], '--label-depth');
  return {
    format: formatOf(file, o.format),
    header: !o['no-header'],
    textColumn: column(o['text-column'], 'text'),
    labelColumn: column(o['label-column'], 'label'),
    ...(depth === undefined ? {} : { labelDepth: depth }),
  };
};

/** A version like 1.2.0 from the command line. */
export const versionArg = (v: string | undefined): ModelVersion => {
  const r = ModelVersion.safeParse(need(v, 'VERSION'));
  if (!r.success) throw new UsageError(`"${v}" is not a version (expected MAJOR.MINOR.PATCH, e.g. 1.0.0)`);
  return r.data;
};
