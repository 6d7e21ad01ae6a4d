/**
 * The minimum of a unimodal function on [lo, hi] by golden-section search (40 steps narrow the
 * interval by a factor of about 2·10⁻⁹): the one-parameter fits of calibration (log T) and of bias
 * correction (the new classes' shift) are both convex or unimodal in their parameter.
 */
export function goldenSectionMin(f: (x: number) => number, lo: number, hi: number, steps = 40): number {
  const g = (Math.sqrt(5) - 1) / 2;
  let a = lo;
  let b = hi;
  let x1 = b - g * (b - a);
  let x2 = a + g * (b - a);
  let f1 = f(x1);
  let f2 = f(x2);
  for (let i = 0; i < steps; i++) {
    if (f1 < f2) {
      b = x2;
      x2 = x1;
      f2 = f1;
      x1 = b - g * (b - a);
      f1 = f(x1);
    } else {
      a = x1;
      x1 = x2;
      f1 = f2;
      x2 = a + g * (b - a);
      f2 = f(x2);
    }
  }
  return (a + b) / 2;
}
