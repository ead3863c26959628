import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import type { AdminActor } from '../admin/admin-keys.service.js';

/** The operator as the audit log names them: `cli:<os user>`, with a request id of its own. */
export function cliActor(): AdminActor {
  return { requestId: `cli-${randomUUID()}`, keyId: null, name: `cli:${operatorName()}` };
}

function operatorName(): string {
  try {
    return (
      userInfo()
        .username.replace(/[^A-Za-z0-9._-]/g, '')
        .slice(0, 32) || 'unknown'
    );
  } catch {
    return 'unknown';
  }
}
