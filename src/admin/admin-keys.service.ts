import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { AuditService } from '../audit/audit.service.js';
import type { ApiKeyRecord } from '../auth/api-key.repository.js';
import type { Caller } from '../auth/caller.js';
import { ApiKeyService, keyStatus, type CreatedKey, type CreateKeyInput, type KeyStatus, type UpdateKeyInput } from '../auth/api-key.service.js';
import type { Details } from '../audit/audit-event.js';
import { GatewayError, markAudited } from '../common/gateway-error.js';
import { DifyTargets } from '../config/dify-targets.js';
import { keysConfig } from '../config/config-namespaces.js';
import { requireGrantable, requireNamespaceGrantable } from './key-grant.js';
import { GatewayErrors } from '../common/errors/gateway-errors.js';

/** Who performs an admin action: a key with the `admin` scope, or the operator's CLI. */
export interface AdminActor {
  requestId: string;
  keyId: string | null;
  /** The acting key's name, or `cli`. */
  name: string;
  /**
   * What the acting key holds: it can hand out no more (see key-grant.ts). Absent for the
   * operator's CLI, which is not bound by it.
   */
  holds?: Pick<Caller, 'scopes' | 'apps' | 'datasets' | 'namespace'>;
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
    const apps = input.apps ?? (input.app !== undefined ? [input.app] : []);
    // Apps that are not configured are refused by validation (400), not here.
    const known = this.targets.aliases();
    const granted = { scopes: input.scopes, apps, datasets: input.datasets ?? [], namespace: input.namespace ?? null };
    return this.audited(actor, 'keys.create', null, granted, async () => {
      if (actor.holds) {
        requireGrantable(actor.holds, { ...granted, apps: apps.filter((a) => known.includes(a)) });
        if (input.namespace !== undefined) requireNamespaceGrantable(actor.holds, input.namespace, await this.keys.namespaceInUse(input.namespace));
      }
      const created = await this.keys.create(input, this.targets.aliases());
      return { result: withSecret(created), target: created.id, details: { namespace: created.namespace } };
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
    const granted = {
      ...(changes.scopes ? { scopes: changes.scopes } : {}),
      ...(changes.apps ? { apps: changes.apps } : {}),
      ...(changes.datasets ? { datasets: changes.datasets } : {}),
    };
    return this.audited(actor, 'keys.update', id, granted, async () => {
      if (actor.holds) requireGrantable(actor.holds, { ...granted, apps: granted.apps?.filter((a) => this.targets.aliases().includes(a)) });
      const updated = await this.keys.update(id, changes, this.targets.aliases());
      return { result: presentKey(updated), details: { namespace: updated.namespace } };
    });
  }

  /** A rotation hands the acting key a working secret: it must be a key this key could create in its own namespace. */
  rotate(actor: AdminActor, id: string, graceSeconds?: number): Promise<KeyViewWithSecret> {
    return this.audited(actor, 'keys.rotate', id, {}, async () => {
      if (actor.holds) {
        const current = await this.keys.get(id);
        if (current.revokedAt) throw GatewayErrors.keyRevoked();
        requireGrantable(actor.holds, current);
        if (current.namespace !== actor.holds.namespace) {
          throw GatewayErrors.forbidden(
            `The key is in namespace '${current.namespace}', not this key's own: its new secret would reach another team's data. ` +
              'Rotate it with the CLI, or create a new key.',
          );
        }
      }
      return { result: withSecret(await this.keys.rotate(id, graceSeconds ?? this.cfg.rotationGraceSeconds)) };
    });
  }

  revoke(actor: AdminActor, id: string): Promise<KeyView> {
    return this.audited(actor, 'keys.revoke', id, {}, async () => ({ result: presentKey(await this.keys.revoke(id)) }));
  }

  /** Runs an admin action and records it, refused or done, with what it grants (`details`). */
  private async audited<T>(
    actor: AdminActor,
    action: string,
    target: string | null,
    granted: Details,
    work: () => Promise<{ result: T; target?: string; details?: Details }>,
  ): Promise<T> {
    const base = { requestId: actor.requestId, action, actorKeyId: actor.keyId, actorName: actor.name };
    let done: { result: T; target?: string; details?: Details };
    try {
      done = await work();
    } catch (error) {
      if (error instanceof GatewayError) {
        await this.audit.recordAdminAction({
          ...base,
          target,
          status: error.status,
          outcome: outcomeOf(error),
          errorCode: error.code,
          details: { ...granted, reason: error.message },
        });
        markAudited(error);
      }
      throw error;
    }
    await this.audit.recordAdminAction({
      ...base,
      target: done.target ?? target,
      status: action === 'keys.create' ? 201 : 200,
      outcome: 'success',
      details: { ...granted, ...done.details },
    });
    return done.result;
  }
}

function outcomeOf(error: GatewayError): 'rejected' | 'client_error' {
  return error.status === 401 || error.status === 403 ? 'rejected' : 'client_error';
}
