import { describe, expect, it } from '@jest/globals';
import type { LoggerService } from '@nestjs/common';
import { QuietBootLogger } from './quiet-boot.logger.js';

describe('QuietBootLogger', () => {
  it("moves Nest's boot lines to debug and passes everything else through", () => {
    const seen: string[] = [];
    const inner: LoggerService = {
      log: (m: unknown, ctx?: unknown) => seen.push(`log ${String(ctx)} ${String(m)}`),
      debug: (m: unknown, ctx?: unknown) => seen.push(`debug ${String(ctx)} ${String(m)}`),
      warn: (m: unknown, ctx?: unknown) => seen.push(`warn ${String(ctx)} ${String(m)}`),
      error: (m: unknown) => seen.push(`error ${String(m)}`),
    };
    const logger = new QuietBootLogger(inner);
    logger.log('AppModule dependencies initialized', 'InstanceLoader');
    logger.log('Mapped {/live, GET} route', 'RouterExplorer');
    logger.log('Nest application successfully started', 'NestApplication');
    logger.log('listening on http://127.0.0.1:3000', 'Gateway');
    logger.warn('something', 'InstanceLoader');
    expect(seen).toEqual([
      'debug InstanceLoader AppModule dependencies initialized',
      'debug RouterExplorer Mapped {/live, GET} route',
      'debug NestApplication Nest application successfully started',
      'log Gateway listening on http://127.0.0.1:3000',
      'warn InstanceLoader something',
    ]);
  });
});
