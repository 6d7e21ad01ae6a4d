/** What serving knows of a model (ModelHost.describe), as far as the views below read it. */
export interface ModelDescription {
  model: string;
  ready: boolean;
  champion?: { version: string; labels: readonly string[] } | undefined;
}

/**
 * What a `predict`-only client sees of a model: whether it answers, and the champion's version and
 * labels. Everything else (routing table and salt, challenger, loaded and standby versions, swaps,
 * load failures) would let a caller read or steer the A/B assignment, so only `admin` sees it.
 */
export const clientModelView = (d: ModelDescription) => ({
  model: d.model,
  ready: d.ready,
  champion: d.champion && { version: d.champion.version, labels: d.champion.labels },
});

/** The view of `d` a caller may see: all of it with the `admin` scope, the client view otherwise. */
export const modelViewFor = (d: ModelDescription, admin: boolean): unknown => (admin ? d : clientModelView(d));
