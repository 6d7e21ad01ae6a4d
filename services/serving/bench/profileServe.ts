/**
 * bench:serve:profile — serving alone under load, for `node --cpu-prof`: batch 1 (50 connections),
 * then batch 32 (16 connections), PROFILE_SECONDS each. No ceilings; bench:serve is the measure.
 * Usage: bash scripts/bench.sh --cpu-prof --cpu-prof-dir=/tmp/prof services/serving/bench/profileServe.ts
 */
import { connectPlatform, load, productExamples, publishModel, referenceModel, round, serveModel } from './common.js';

const SECONDS = Number(process.env.PROFILE_SECONDS ?? 8);
const data = await productExamples();
const texts = data.examples.filter((_, i) => i % 37 === 0).slice(0, 512).map((e) => e.text);
const { state } = await referenceModel(data.examples);
const p = await connectPlatform('bench-serve-profile');
const model = `bench-serve-profile-${p.run}`;
await publishModel(p, model, state, ['1.0.0']);
const serving = await serveModel(p, model);
const url = `http://127.0.0.1:${serving.port}/v1/models/${model}`;
const one = { text: texts[0], subjectId: 'user-42' };
const batch32 = { items: texts.slice(0, 32).map((text, i) => ({ text, subjectId: `user-${i}` })) };
const b1 = await load(`${url}/predict`, one, { connections: 50, seconds: SECONDS });
const b32 = await load(`${url}/predict:batch`, batch32, { connections: 16, seconds: SECONDS });
await serving.predictions.drain(10_000);
await serving.close();
await p.close();
console.log(JSON.stringify({ bench: 'serve-profile', seconds: SECONDS, batch1: { rps: round(b1.requestsPerSecond, 0), p99Ms: b1.p99Ms }, batch32: { rowsPerSecond: round(b32.requestsPerSecond * 32, 0), p99Ms: b32.p99Ms } }));
process.exit(0);
