/** What the registry recorded about a version (the trainer's gate metrics, and what it was trained from). */
export interface VersionFacts {
  version: string;
  metrics: Readonly<Record<string, number>>;
  parentVersion?: string | undefined;
  /** The registry status (champion, challenger, archived, rolled_back, …). */
  status?: string | undefined;
}

/** Gate settings: the largest tolerated drop (absolute) and what a missing metric means. */
export interface ForgettingSettings {
  maxForgetting: number;
  whenMissing: 'allow' | 'refuse';
}

/** The gate's finding, kept in the experiment's decision record. */
export interface ForgettingVerdict {
  pass: boolean;
  /**
   * `same_holdout`: the trainer scored champion and challenger on the same old-class holdout rows
   * (metric `forgetting`, the challenger trained from this champion). `holdout_accuracy`: each
   * version's own `oldAccuracy` (held-out old-class rows of its own run). `missing`: neither recorded.
   */
  basis: 'same_holdout' | 'holdout_accuracy' | 'missing';
  /** Champion's old-class accuracy minus the challenger's (positive = the challenger forgot); absent when missing. */
  drop?: number;
  margin: number;
  reason: string;
}

const finite = (x: number | undefined): x is number => typeof x === 'number' && Number.isFinite(x);
const pts = (x: number): string => `${(x * 100).toFixed(2)} pts`;

/**
 * Forgetting is part of promotion: a challenger whose accuracy on old classes (a holdout it was
 * never trained on) is more than `maxForgetting` below the champion's is not promoted, however
 * much better it is on today's traffic. The best evidence is the trainer's own paired measurement
 * (both versions on the same old-class holdout rows, recorded as `forgetting`), valid when the
 * challenger was trained from the current champion; otherwise each version's `oldAccuracy`. A
 * version with neither (registered by hand, imported, or from before these metrics) is not checked
 * when `whenMissing` is `allow` (the default, so such models keep promoting as before; the decision
 * record says it was unchecked) and refused with `refuse`.
 */
export const forgettingVerdict = (challenger: VersionFacts | undefined, champion: VersionFacts | undefined, s: ForgettingSettings): ForgettingVerdict => {
  const judge = (basis: ForgettingVerdict['basis'], drop: number, how: string): ForgettingVerdict => ({
    pass: drop <= s.maxForgetting,
    basis,
    drop,
    margin: s.maxForgetting,
    reason: drop <= s.maxForgetting
      ? `forgetting gate passed: old-class accuracy ${drop > 0 ? `${pts(drop)} below` : `${pts(-drop)} above or equal to`} the champion's (margin ${pts(s.maxForgetting)}, ${how})`
      : `forgetting gate refused the promotion: the challenger's old-class accuracy is ${pts(drop)} below the champion's, more than the margin ${pts(s.maxForgetting)} (${how})`,
  });
  const paired = challenger?.metrics.forgetting;
  if (challenger && champion && challenger.parentVersion === champion.version && finite(paired)) {
    return judge('same_holdout', paired, `same holdout rows, measured by the trainer against ${champion.version}`);
  }
  const mine = challenger?.metrics.oldAccuracy;
  const theirs = champion?.metrics.oldAccuracy;
  if (finite(mine) && finite(theirs)) {
    return judge('holdout_accuracy', theirs - mine, `each version's old-class holdout accuracy: champion ${pts(theirs)}, challenger ${pts(mine)}`);
  }
  const what = `no old-class holdout metric recorded for ${challenger ? `challenger ${challenger.version}` : 'the challenger'}${champion ? ` against champion ${champion.version}` : ''}`;
  return s.whenMissing === 'allow'
    ? { pass: true, basis: 'missing', margin: s.maxForgetting, reason: `forgetting not checked: ${what} (forgettingWhenMissing=allow)` }
    : { pass: false, basis: 'missing', margin: s.maxForgetting, reason: `forgetting gate refused the promotion: ${what} (forgettingWhenMissing=refuse)` };
};
