import { ENCODER_TRAINER_DEFAULT_OPTIONS, TRAINER_DEFAULT_OPTIONS } from '@flywheel/learning';
import { describe, expect, it } from 'vitest';
import { optionsForModel, parseModelOptionsJson } from './modelOptions.js';

describe('per-model training options', () => {
  it('parses TRAINER_MODEL_OPTIONS and applies a model override over the trainer default', () => {
    const perModel = parseModelOptionsJson.parse('{"news": {"mode": "lora", "rank": 8, "epochs": 5, "learningRate": 0.001}}');
    const news = optionsForModel('news', {}, perModel);
    expect(news.mode).toBe('lora');
    expect(news.lora).toEqual({ rank: 8, alpha: 16 });
    expect(news.epochs).toBe(5);
    expect(news.learningRate).toEqual({ continued: 0.001 });
    expect(news.strategy).toEqual(TRAINER_DEFAULT_OPTIONS.strategy);
    expect(optionsForModel('other', {}, perModel)).toEqual(TRAINER_DEFAULT_OPTIONS);
  });
  it('sets how small updates learn a new class: steps per epoch and the new-class share of the prior', () => {
    const perModel = parseModelOptionsJson.parse('{"tickets": {"minStepsPerEpoch": 40, "strategy": {"replay": {"capacity": 4000, "ratio": 0.5, "rebalance": true, "newClassMinShare": 1}}}}');
    const tickets = optionsForModel('tickets', {}, perModel);
    expect(tickets.minStepsPerEpoch).toBe(40);
    expect(tickets.strategy?.replay?.newClassMinShare).toBe(1);
    expect(TRAINER_DEFAULT_OPTIONS.minStepsPerEpoch, 'the default takes enough steps for a few corrections').toBe(20);
    expect(() => parseModelOptionsJson.parse('{"tickets": {"minStepsPerEpoch": 0}}')).toThrow(/minStepsPerEpoch/);
  });
  it('a strategy named in an override keeps the trainer default\'s fields it leaves out; one not named is off', () => {
    const perModel = parseModelOptionsJson.parse('{"shop": {"strategy": {"replay": {"capacity": 8000}, "distillation": {"temperature": 3}}}}');
    const { strategy } = optionsForModel('shop', {}, perModel);
    expect(strategy?.replay).toEqual({ ...TRAINER_DEFAULT_OPTIONS.strategy?.replay, capacity: 8000 });
    expect(strategy?.replay?.newClassMinShare, 'the few-shot floor stays on').toBe(TRAINER_DEFAULT_OPTIONS.strategy?.replay?.newClassMinShare);
    expect(strategy?.distillation).toEqual({ ...TRAINER_DEFAULT_OPTIONS.strategy?.distillation, temperature: 3 });
    expect(strategy?.weightAlign, 'weight aligning was not named: off').toBeUndefined();
    expect(optionsForModel('off', {}, parseModelOptionsJson.parse('{"off": {"strategy": {}}}')).strategy).toEqual({});
  });
  it('an encoder-base model starts from the encoder default, and its overrides fill in from it', () => {
    expect(optionsForModel('enc', {}, {}, 'encoder')).toEqual(ENCODER_TRAINER_DEFAULT_OPTIONS);
    expect(ENCODER_TRAINER_DEFAULT_OPTIONS.epochs).not.toBe(TRAINER_DEFAULT_OPTIONS.epochs);
    const enc = optionsForModel('enc', {}, parseModelOptionsJson.parse('{"enc": {"strategy": {"replay": {"capacity": 8000}}}}'), 'encoder');
    expect(enc.strategy?.replay).toEqual({ ...ENCODER_TRAINER_DEFAULT_OPTIONS.strategy?.replay, capacity: 8000 });
    expect(enc.learningRate).toEqual(ENCODER_TRAINER_DEFAULT_OPTIONS.learningRate);
  });
  it('sets bias correction and the embedding rate', () => {
    const perModel = parseModelOptionsJson.parse('{"intents": {"embeddingLearningRate": 0.1, "strategy": {"replay": {}, "biasCorrection": false}}}');
    const intents = optionsForModel('intents', {}, perModel);
    expect(intents.embeddingLearningRate).toBe(0.1);
    expect(intents.strategy?.biasCorrection).toBe(false);
    expect(() => parseModelOptionsJson.parse('{"intents": {"strategy": {"biasCorrection": "yes"}}}')).toThrow(/biasCorrection/);
    expect(() => parseModelOptionsJson.parse('{"intents": {"embeddingLearningRate": 0}}')).toThrow(/embeddingLearningRate/);
  });
  it('sets how an update that adds no label trains: an adapter with its embedding rows, or a new base', () => {
    expect(TRAINER_DEFAULT_OPTIONS.sameLabels?.mode).toBe('lora');
    const perModel = parseModelOptionsJson.parse('{"a": {"sameLabels": {"embeddingDeltaRows": 4096}}, "b": {"sameLabels": {"mode": "full"}}}');
    // Fields left out keep the default's (its replay share among them).
    expect(optionsForModel('a', {}, perModel).sameLabels).toEqual({ mode: 'lora', embeddingDelta: { maxRows: 4096 }, replayRatio: 0.5 });
    expect(optionsForModel('b', {}, perModel).sameLabels).toEqual({ mode: 'full', replayRatio: 0.5 });
    const share = parseModelOptionsJson.parse('{"c": {"sameLabels": {"replayRatio": 0.3}}}');
    expect(optionsForModel('c', {}, share).sameLabels).toEqual({ mode: 'lora', embeddingDelta: { maxRows: 16_384 }, replayRatio: 0.3 });
    expect(() => parseModelOptionsJson.parse('{"a": {"sameLabels": {"replayRatio": 1}}}')).toThrow(/replayRatio/);
    // The share's old place is refused by name, not dropped.
    expect(() => parseModelOptionsJson.parse('{"a": {"strategy": {"replay": {"sameLabelsRatio": 0.5}}}}')).toThrow(/sameLabelsRatio/);
    expect(() => parseModelOptionsJson.parse('{"a": {"sameLabels": {"mode": "adapter"}}}')).toThrow(/mode/);
    expect(() => parseModelOptionsJson.parse('{"a": {"sameLabels": {"embeddingDeltaRows": -1}}}')).toThrow(/embeddingDeltaRows/);
  });
  it('rejects unknown fields and bad JSON with a message that says what to set', () => {
    expect(() => parseModelOptionsJson.parse('{"news": {"epoch": 5}}')).toThrow(/epoch/);
    expect(() => parseModelOptionsJson.parse('{news')).toThrow(/TRAINER_MODEL_OPTIONS is not JSON/);
    expect(parseModelOptionsJson.parse('')).toEqual({});
  });
});
