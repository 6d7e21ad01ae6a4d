const DAY = 86_400_000;

/** The ISO 8601 week of `d` in UTC, e.g. `2026-W49` (weeks start on Monday; week 1 holds the year's first Thursday). */
export const isoWeekOf = (d: Date): string => {
  const day = (d.getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  const thursday = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day + 3));
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY));
  return `${year}-W${String(week).padStart(2, '0')}`;
};

/** Monday 00:00 UTC of the ISO week that holds `d`. */
export const isoWeekStart = (d: Date): Date => {
  const day = (d.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day));
};

/** The last complete ISO week before `now`: its name and [from, to) in UTC. */
export const previousIsoWeek = (now: Date): { week: string; from: Date; to: Date } => {
  const to = isoWeekStart(now);
  const from = new Date(to.getTime() - 7 * DAY);
  return { week: isoWeekOf(from), from, to };
};
