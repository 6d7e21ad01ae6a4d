import { TRAINER_DEFAULT_OPTIONS } from '@flywheel/learning';
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
  it('rejects unknown fields and bad JSON with a message that says what to set', () => {
    expect(() => parseModelOptionsJson.parse('{"news": {"epoch": 5}}')).toThrow(/epoch/);
    expect(() => parseModelOptionsJson.parse('{news')).toThrow(/TRAINER_MODEL_OPTIONS is not JSON/);
    expect(parseModelOptionsJson.parse('')).toEqual({});
  });
});
