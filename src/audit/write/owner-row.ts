/**
 * A row of `dify_resource_owners` (which team's namespace a Dify id belongs to, see
 * src/isolation/resource-owner.ledger.ts), written by the statement of the audit writer's next batch.
 */
export interface OwnerRow {
  appAlias: string;
  kind: string;
  resourceId: string;
  namespace: string;
}

/** Postgres text cannot hold NUL; every other string can. */
export function storableOwner(row: OwnerRow): boolean {
  return [row.appAlias, row.kind, row.resourceId, row.namespace].every((v) => typeof v === 'string' && !v.includes('\u0000'));
}
