/** What a gateway key may do. Each /v1 route row names exactly one scope. */
export const SCOPES = [
  'chat',
  'workflow',
  'files',
  'conversations',
  'feedback',
  'audio',
  'app:read',
  'annotations',
  'datasets',
  'datasets:write',
  /** Workspace-wide knowledge endpoints (create a knowledge base, tags, models, pipeline uploads). */
  'datasets:workspace',
  'app:all-users',
  'audit:read',
  'admin',
] as const;

export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** Scopes that open routes of a Dify app (a key holding one needs at least one app). */
export const APP_SCOPES: readonly Scope[] = ['chat', 'workflow', 'files', 'conversations', 'feedback', 'audio', 'app:read', 'annotations', 'app:all-users'];
