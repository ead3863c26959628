import type { KeyLimits } from '../config/gateway-config.js';
import type { Scope } from './scopes.js';

/** The authenticated team behind a request. Holds no secret. */
export interface Caller {
  keyId: string;
  name: string;
  scopes: Scope[];
  apps: string[];
  /** Knowledge base ids the key may reach; `*` means every one. */
  datasets: string[];
  /** Prefix of the Dify `user` of this caller's calls (see src/isolation). */
  namespace: string;
  /** The key's limits, defaults already applied; 0 means no limit. */
  limits: KeyLimits;
}
