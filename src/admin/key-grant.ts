import type { Caller } from '../auth/caller.js';
import { isScope } from '../auth/scopes.js';
import { GatewayErrors } from '../common/errors/gateway-errors.js';

const ALL_DATASETS = '*';

/** What a key change would hand out: absent parts are not being set. */
export interface Grant {
  scopes?: readonly string[];
  apps?: readonly string[];
  datasets?: readonly string[];
}

/**
 * Vault's rule for tokens, applied to gateway keys: a key may hand out (create a key with, or
 * change a key to) only scopes, apps and knowledge bases it holds itself. The operator at the CLI
 * is not a key and is not bound by it. Returns what is missing; empty when the grant is allowed.
 */
export function missingFromGrant(actor: Pick<Caller, 'scopes' | 'apps' | 'datasets'>, grant: Grant): string[] {
  const missing: string[] = [];
  const scopes = (grant.scopes ?? []).filter((s) => isScope(s) && !(actor.scopes as readonly string[]).includes(s));
  if (scopes.length > 0) missing.push(`scopes ${scopes.join(', ')}`);
  const apps = (grant.apps ?? []).filter((a) => !actor.apps.includes(a));
  if (apps.length > 0) missing.push(`apps ${apps.join(', ')}`);
  if (!actor.datasets.includes(ALL_DATASETS)) {
    const held = new Set(actor.datasets.map((d) => d.toLowerCase()));
    const datasets = (grant.datasets ?? []).filter((d) => !held.has(d.toLowerCase()));
    if (datasets.length > 0) missing.push(datasets.includes(ALL_DATASETS) ? 'every dataset (*)' : `datasets ${datasets.join(', ')}`);
  }
  return missing;
}

/** Throws a 403 naming what the acting key does not hold (names and ids only, never a secret). */
export function requireGrantable(actor: Pick<Caller, 'scopes' | 'apps' | 'datasets'>, grant: Grant): void {
  const missing = missingFromGrant(actor, grant);
  if (missing.length > 0) {
    throw GatewayErrors.forbidden(`This key cannot grant what it does not hold itself: ${missing.join('; ')}.`);
  }
}

/**
 * A key may place a new key in its own namespace or in a brand-new one; an existing namespace of
 * other keys would let it read their teams' conversations.
 */
export function requireNamespaceGrantable(actor: Pick<Caller, 'namespace'>, namespace: string, inUse: boolean): void {
  if (namespace !== actor.namespace && inUse) {
    throw GatewayErrors.forbidden(`The namespace '${namespace}' belongs to other keys: this key may choose only its own namespace or a new one.`);
  }
}
