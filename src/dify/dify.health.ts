import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { HealthIndicatorService } from '@nestjs/terminus';
import { difyConfig } from '../config/config-namespaces.js';
import { DifyClient } from './dify.client.js';

const PROBE_TIMEOUT_MS = 3000;

/**
 * Dify's part of /ready: a cheap probe per app, cached so that probes do not hammer Dify, and
 * reported down only after several failed rounds in a row (one slow answer must not pull every
 * pod out of rotation). Down means no configured app answers. With DIFY_READY_REQUIRED=false it
 * only informs.
 */
@Injectable()
export class DifyHealthIndicator {
  private checkedAt = 0;
  private failuresInARow = 0;
  private apps: Record<string, 'up' | 'down'> = {};
  private refreshing?: Promise<void>;

  constructor(
    private readonly health: HealthIndicatorService,
    private readonly client: DifyClient,
    @Inject(difyConfig.KEY) private readonly cfg: ConfigType<typeof difyConfig>,
  ) {}

  async check(key = 'dify') {
    if (Date.now() - this.checkedAt >= this.cfg.readyProbe.cacheMs) {
      this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined));
      await this.refreshing;
    }
    const indicator = this.health.check(key);
    const details = { apps: this.apps, failuresInARow: this.failuresInARow };
    const down = this.failuresInARow >= this.cfg.readyProbe.failuresBeforeDown;
    if (!down || !this.cfg.readyProbe.required) return indicator.up({ ...details, required: this.cfg.readyProbe.required });
    return indicator.down(details);
  }

  private async refresh(): Promise<void> {
    const results = await Promise.all(
      this.client.appAliases().map(async (alias) => {
        const app = this.client.app(alias);
        const ok = app
          ? await this.client.probe(app, PROBE_TIMEOUT_MS).then(
              () => true,
              () => false,
            )
          : false;
        return [alias, ok ? 'up' : 'down'] as const;
      }),
    );
    this.apps = Object.fromEntries(results);
    this.failuresInARow = results.some(([, state]) => state === 'up') ? 0 : this.failuresInARow + 1;
    this.checkedAt = Date.now();
  }
}
