import { describe, expect, it } from 'vitest';
import { alignNewClassWeights, columnNorms } from './weightAlign.js';

describe('weight aligning', () => {
  it('rescales new-class columns to the mean norm of the old ones and leaves old columns alone', () => {
    const inputs = 4;
    const labels = 5;
    const kernel = new Float32Array(inputs * labels);
    // old classes 0..2 have norm 1, new classes 3..4 have norm 4 and 6 (the bias after training on new data)
    for (let c = 0; c < 3; c++) kernel[c] = 1;
    kernel[1 * labels + 3] = 4;
    kernel[2 * labels + 4] = 6;
    const bias = Float32Array.from([0.1, 0.1, 0.1, 1, 2]);
    const head = { kernel, bias };
    const gamma = alignNewClassWeights(head, inputs, 3);
    expect(gamma).toBeCloseTo(1 / 5, 6);
    const norms = columnNorms(head.kernel, inputs, labels);
    const newMean = ((norms[3] as number) + (norms[4] as number)) / 2;
    expect(newMean).toBeCloseTo(1, 5); // balanced with the old mean norm
    expect([...norms.slice(0, 3)].map((n) => Number(n.toFixed(6)))).toEqual([1, 1, 1]);
    expect(norms[4]! / norms[3]!).toBeCloseTo(1.5, 5); // relative norms among new classes kept
    expect(head.bias[3]).toBeCloseTo(0.2, 6);
    expect(head.bias[0]).toBeCloseTo(0.1, 6);
  });

  it('never scales new classes up (old columns that outgrew them stay as they are)', () => {
    const head = { kernel: Float32Array.from([4, 1, 4, 1]), bias: Float32Array.from([0, 0.5]) };
    expect(alignNewClassWeights(head, 2, 1)).toBe(1);
    expect([...head.kernel]).toEqual([4, 1, 4, 1]);
  });

  it('does nothing when no class was added or nothing is old', () => {
    const head = { kernel: Float32Array.from([1, 2, 3, 4]), bias: Float32Array.from([1, 2]) };
    expect(alignNewClassWeights(head, 2, 2)).toBe(1);
    expect(alignNewClassWeights(head, 2, 0)).toBe(1);
    expect([...head.kernel]).toEqual([1, 2, 3, 4]);
  });
});
