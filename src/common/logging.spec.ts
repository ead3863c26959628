import { describe, expect, it } from '@jest/globals';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { maskLogObject } from './logging.js';

describe('maskLogObject', () => {
  it('formats req and res as method, path and status, never walking into them (or a hostile body they hold)', () => {
    const req = new IncomingMessage(new Socket());
    req.method = 'POST';
    req.url = '/admin/keys?token=hunter2';
    let deep: unknown = [];
    for (let i = 0; i < 30_000; i++) deep = [deep];
    Object.assign(req, { body: deep, headers: { authorization: 'Bearer dgw_secretSECRETsecretSECRET0123456789' } });
    const res = new ServerResponse(req);
    res.statusCode = 401;
    const out = maskLogObject({ req, res, durationMs: 3 });
    expect(out).toEqual({ req: { method: 'POST', path: '/admin/keys' }, res: { status: 401 }, durationMs: 3 });
  });

  it('masks errors and plain fields', () => {
    expect(maskLogObject({ err: new Error('key app-LOGGEDdifyKEY0123456789'), apiKey: 'x' })).toEqual({
      err: { type: 'Error', message: 'key ***', stack: expect.any(String) },
      apiKey: '***',
    });
  });
});
