import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { difyConfig } from './config-namespaces.js';
import { ConfigValidationError } from './env.schema.js';
import { DATASETS_TARGET_ALIAS, loadGatewayConfig, type DifyAppConfig } from './gateway-config.js';

/** One change found by a reload; never carries a key, only its last four characters. */
export interface DifyTargetChange {
  /** An app alias, or `datasets` for the knowledge API key. */
  alias: string;
  change: 'added' | 'removed' | 'key_changed' | 'base_url_changed';
  /** `…abcd` of the new key (empty when too short to show or removed). */
  keyLast4: string;
}

export type DifyTargetsListener = (changes: DifyTargetChange[]) => void;

/**
 * The Dify apps and the knowledge-API target as they are *now*. Boot reads them from the
 * validated config; then, every `DIFY_KEYS_RELOAD_MS`, the mounted key files and the apps file are
 * read again (Kubernetes swaps a secret's file behind a symlink, so the content is compared, not
 * the inode or mtime). A valid change replaces the table in one assignment: calls already sent
 * keep the app object, and so the key, they started with; every new call gets the new key. An
 * invalid reload (a half-written file, a missing key) changes nothing and is logged.
 */
@Injectable()
export class DifyTargets implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(DifyTargets.name);
  private apps: Record<string, DifyAppConfig>;
  private defaultAlias: string;
  private datasets?: DifyAppConfig;
  private fingerprints: Map<string, { key: string; baseUrl: string; last4: string }>;
  private readonly listeners = new Set<DifyTargetsListener>();
  private timer?: NodeJS.Timeout;
  private lastProblem?: string;

  constructor(
    @Inject(difyConfig.KEY) private readonly cfg: ConfigType<typeof difyConfig>,
    /** Where reloads read the environment; tests pass their own. Only `config/` reads process.env. */
    private readonly readEnv: () => Record<string, string | undefined> = () => process.env,
  ) {
    this.apps = cfg.apps;
    this.defaultAlias = cfg.defaultApp;
    this.datasets = cfg.datasets;
    this.fingerprints = fingerprintsOf(cfg.apps, cfg.datasets);
  }

  onModuleInit(): void {
    if (this.cfg.reloadMs > 0) {
      this.timer = setInterval(() => this.reload(), this.cfg.reloadMs);
      this.timer.unref();
    }
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  app(alias: string): DifyAppConfig | undefined {
    return Object.hasOwn(this.apps, alias) ? this.apps[alias] : undefined;
  }

  aliases(): string[] {
    return Object.keys(this.apps);
  }

  get defaultApp(): string {
    return this.defaultAlias;
  }

  /** The knowledge (dataset) API target; undefined when no dataset key is configured. */
  datasetTarget(): DifyAppConfig | undefined {
    return this.datasets;
  }

  /** Called with the changes of every reload that changed something. Returns an unsubscribe. */
  onChange(listener: DifyTargetsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Reads the key files and the apps file again and applies them when they are valid. Returns
   * what changed (empty when nothing did or the files are invalid).
   */
  reload(): DifyTargetChange[] {
    let next: { apps: Record<string, DifyAppConfig>; defaultApp: string; datasets?: DifyAppConfig };
    try {
      next = loadGatewayConfig(this.readEnv()).dify;
    } catch (error) {
      const problem = error instanceof ConfigValidationError ? error.message : 'unreadable configuration';
      if (problem !== this.lastProblem) {
        this.logger.error(`Dify keys not reloaded, the previous ones stay in use: ${problem}`);
        this.lastProblem = problem;
      }
      return [];
    }
    this.lastProblem = undefined;
    const fingerprints = fingerprintsOf(next.apps, next.datasets);
    const changes = diff(this.fingerprints, fingerprints);
    this.apps = next.apps;
    this.defaultAlias = next.defaultApp;
    this.datasets = next.datasets;
    this.fingerprints = fingerprints;
    if (changes.length === 0) return [];
    for (const c of changes) {
      this.logger.warn(`Dify target '${c.alias}' ${c.change.replace(/_/g, ' ')}${c.keyLast4 ? ` (key …${c.keyLast4})` : ''}; new calls use it`);
    }
    for (const listener of this.listeners) {
      try {
        listener(changes);
      } catch (error) {
        this.logger.error(`a Dify key change listener failed: ${(error as Error).name}`);
      }
    }
    return changes;
  }
}

function fingerprintsOf(apps: Record<string, DifyAppConfig>, datasets: DifyAppConfig | undefined) {
  const out = new Map<string, { key: string; baseUrl: string; last4: string }>();
  const add = (alias: string, target: DifyAppConfig) =>
    out.set(alias, {
      // A hash, so that the table never holds a second plain copy of the key.
      key: createHash('sha256').update(target.apiKey.reveal()).digest('hex'),
      baseUrl: target.baseUrl,
      last4: target.apiKey.last4,
    });
  for (const [alias, app] of Object.entries(apps)) add(alias, app);
  if (datasets) add(DATASETS_TARGET_ALIAS, datasets);
  return out;
}

function diff(
  before: Map<string, { key: string; baseUrl: string; last4: string }>,
  after: Map<string, { key: string; baseUrl: string; last4: string }>,
): DifyTargetChange[] {
  const changes: DifyTargetChange[] = [];
  for (const [alias, now] of after) {
    const was = before.get(alias);
    if (!was) changes.push({ alias, change: 'added', keyLast4: now.last4 });
    else if (was.key !== now.key) changes.push({ alias, change: 'key_changed', keyLast4: now.last4 });
    else if (was.baseUrl !== now.baseUrl) changes.push({ alias, change: 'base_url_changed', keyLast4: now.last4 });
  }
  for (const alias of before.keys()) {
    if (!after.has(alias)) changes.push({ alias, change: 'removed', keyLast4: '' });
  }
  return changes;
}
