import type { Scope } from './scopes.js';

/** The authenticated team behind a request. Holds no secret. */
export interface Caller {
  keyId: string;
  name: string;
  scopes: Scope[];
  apps: string[];
}
