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
  'audit:read',
  'admin',
] as const;

export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}
