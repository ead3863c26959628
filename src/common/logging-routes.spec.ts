import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { All, Controller, Global, type INestApplication, Module, Req } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { appConfig } from '../config/config-namespaces.js';
import { gatewayLoggerModule } from './logging.js';

/** Says whether pino-http's middleware ran for the request (it leaves `req.log` behind). */
@Controller()
class ProbeController {
  @All(['v1', 'v1/*path', 'admin/*path', 'v10'])
  probe(@Req() req: IncomingMessage & { log?: unknown }): { pinoHttp: boolean } {
    return { pinoHttp: req.log !== undefined };
  }
}

@Global()
@Module({ providers: [{ provide: appConfig.KEY, useValue: { logLevel: 'fatal', logJson: true } }], exports: [appConfig.KEY] })
class FakeAppConfigModule {}

describe('gatewayLoggerModule routes', () => {
  let app: INestApplication;
  let origin: string;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [FakeAppConfigModule, gatewayLoggerModule()], controllers: [ProbeController] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    origin = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(() => app.close());

  const pinoHttpRan = async (path: string, method = 'GET') => ((await (await fetch(origin + path, { method })).json()) as { pinoHttp: boolean }).pinoHttp;

  it('skips pino-http for every /v1 call (the call pipeline logs those itself)', async () => {
    expect(await pinoHttpRan('/v1')).toBe(false);
    expect(await pinoHttpRan('/v1/chat-messages', 'POST')).toBe(false);
    expect(await pinoHttpRan('/v1/files/upload/x', 'PUT')).toBe(false);
  });

  it('still runs it everywhere else, /v10 included', async () => {
    expect(await pinoHttpRan('/admin/keys')).toBe(true);
    expect(await pinoHttpRan('/v10')).toBe(true);
  });
});
