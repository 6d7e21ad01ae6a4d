import { ModelVersion } from '@flywheel/contracts';

/** What changed since the previous version; decides which part of the version goes up. */
export interface VersionChange {
  labelsAdded: boolean;
  newBase: boolean;
}

/** [major, minor, patch] of a MAJOR.MINOR.PATCH string. */
export const parseSemver = (v: string): [number, number, number] => {
  const ok = ModelVersion.parse(v);
  const [a, b, c] = ok.split('.').map(Number);
  return [a ?? 0, b ?? 0, c ?? 0];
};

/** Orders versions numerically (1.10.0 after 1.9.0). */
export const compareSemver = (a: string, b: string): number => {
  const x = parseSemver(a);
  const y = parseSemver(b);
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
};

/**
 * The version after `latest`: major for a new base, minor when labels were added, patch for a
 * plain retrain. No previous version → 1.0.0.
 */
export const bumpVersion = (latest: string | undefined, change: VersionChange): ModelVersion => {
  if (latest === undefined) return ModelVersion.parse('1.0.0');
  const [major, minor, patch] = parseSemver(latest);
  if (change.newBase) return ModelVersion.parse(`${major + 1}.0.0`);
  if (change.labelsAdded) return ModelVersion.parse(`${major}.${minor + 1}.0`);
  return ModelVersion.parse(`${major}.${minor}.${patch + 1}`);
};
