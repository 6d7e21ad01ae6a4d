import { describe, expect, it } from 'vitest';
import { BatchPredictRequest, PredictRequest } from './predictHandlers.js';

describe('predict request schemas', () => {
  it('refuse control characters in text and subjectId, naming the field', () => {
    const nulSubject = PredictRequest.safeParse({ text: 'kettle', subjectId: 'u\u0000' });
    expect(nulSubject.success).toBe(false);
    expect(nulSubject.success ? [] : nulSubject.error.issues[0]?.path).toEqual(['subjectId']);
    expect(PredictRequest.safeParse({ text: 'a\u0000b' }).success).toBe(false);
    expect(BatchPredictRequest.safeParse({ items: [{ text: 'ok', subjectId: 'x\u001b' }] }).success).toBe(false);
  });

  it('keep tab and newline in text', () => {
    expect(PredictRequest.safeParse({ text: 'steel\tkettle\n2 l', subjectId: 'user-1' }).success).toBe(true);
  });
});
