import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { AuditService } from '../audit/audit.service.js';
import type { ApiKeyRecord } from '../auth/api-key.repository.js';
import { ApiKeyService, keyStatus, type CreatedKey, type CreateKeyInput, type KeyStatus, type UpdateKeyInput } from '../auth/api-key.service.js';
import { GatewayError } from '../common/gateway-error.js';
import { DifyTargets } from '../config/dify-targets.js';
import { keysConfig } from '../config/keys.config.js';

/** Who performs an admin action: a key with the `admin` scope, or the operator's CLI. */
export interface AdminActor {
  requestId: string;
  keyId: string | null;
  /** The acting key's name, or `cli`. */
  name: string;
}

/**
 * A key as the admin API and the CLI show it: the record (which never holds a hash) and its
 * status; the secret only right after create or rotate.
 */
export type KeyView = ApiKeyRecord & { status: KeyStatus };

export type KeyViewWithSecret = KeyView & { key: string };

export function presentKey(record: ApiKeyRecord, now = new Date()): KeyView {
  const graceEnd = record.previousSecretExpiresAt;
  return { ...record, status: keyStatus(record, now), previousSecretExpiresAt: graceEnd && graceEnd > now ? graceEnd : null };
}

function withSecret({ key, ...record }: CreatedKey): KeyViewWithSecret {
  return { ...presentKey(record), key };
}

/**
 * The admin use cases over keys, shared by `/admin/keys` and `npm run cli -- keys`: each change
 * goes through ApiKeyService (checks, invalidation on every replica) and is written to the audit
 * log, refused attempts included.
 */
@Injectable()
export class AdminKeysService {
  constructor(
    private readonly keys: ApiKeyService,
    private readonly audit: AuditService,
    @Inject(DifyTargets) private readonly targets: Pick<DifyTargets, 'aliases'>,
    @Inject(keysConfig.KEY) private readonly cfg: Pick<ConfigType<typeof keysConfig>, 'rotationGraceSeconds'>,
  ) {}

  create(actor: AdminActor, input: CreateKeyInput): Promise<KeyViewWithSecret> {
    return this.audited(actor, 'keys.create', null, async () => {
      const created = await this.keys.create(input, this.targets.aliases());
      return { result: withSecret(created), target: created.id };
    });
  }

  async list(status?: KeyStatus): Promise<KeyView[]> {
    const now = new Date();
    const views = (await this.keys.list()).map((record) => presentKey(record, now));
    return status ? views.filter((v) => v.status === status) : views;
  }

  async get(id: string): Promise<KeyView> {
    return presentKey(await this.keys.get(id));
  }

  update(actor: AdminActor, id: string, changes: UpdateKeyInput): Promise<KeyView> {
    return this.audited(actor, 'keys.update', id, async () => ({
      result: presentKey(await this.keys.update(id, changes, this.targets.aliases())),
    }));
  }

  rotate(actor: AdminActor, id: string, graceSeconds?: number): Promise<KeyViewWithSecret> {
    return this.audited(actor, 'keys.rotate', id, async () => ({
      result: withSecret(await this.keys.rotate(id, graceSeconds ?? this.cfg.rotationGraceSeconds)),
    }));
  }

  revoke(actor: AdminActor, id: string): Promise<KeyView> {
    return this.audited(actor, 'keys.revoke', id, async () => ({ result: presentKey(await this.keys.revoke(id)) }));
  }

  private async audited<T>(actor: AdminActor, action: string, target: string | null, work: () => Promise<{ result: T; target?: string }>): Promise<T> {
    const base = { requestId: actor.requestId, action, actorKeyId: actor.keyId, actorName: actor.name };
    let done: { result: T; target?: string };
    try {
      done = await work();
    } catch (error) {
      if (error instanceof GatewayError) {
        await this.audit.recordAdminAction({ ...base, target, status: error.status, outcome: 'client_error', errorCode: error.code });
      }
      throw error;
    }
    await this.audit.recordAdminAction({ ...base, target: done.target ?? target, status: action === 'keys.create' ? 201 : 200, outcome: 'success' });
    return done.result;
  }
}
