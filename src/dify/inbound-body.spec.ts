import { describe, expect, it } from '@jest/globals';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { DIFY_ROUTES } from './dify.routes.js';
import { readJsonBody } from './inbound-body.js';

const route = (name: string) => DIFY_ROUTES.find((r) => r.name === name)!;

function request(body: unknown, contentType: string | undefined = 'application/json'): IncomingMessage {
  const raw = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body));
  const req = Readable.from(raw.length > 0 ? [raw] : []) as unknown as IncomingMessage;
  req.headers = { ...(contentType ? { 'content-type': contentType } : {}), 'content-length': String(raw.length) };
  return req;
}

async function outcome(name: string, body: unknown, contentType?: string): Promise<unknown> {
  try {
    const { json } = await readJsonBody(request(body, contentType), route(name));
    return { accepted: json };
  } catch (error) {
    const { status, code } = error as { status: number; code: string };
    return { status, code };
  }
}

const UUID = '0b0e9d7c-1f2a-4c3b-9d8e-7f6a5b4c3d2e';

describe('readJsonBody: what Dify takes is taken, what it refuses is refused', () => {
  it.each([
    ['chat.create', { inputs: {}, query: 'q', user: 'u', conversation_id: '' }],
    ['chat.create', { inputs: {}, query: 'q', user: 'u', conversation_id: `  ${UUID} ` }],
    ['chat.create', { inputs: {}, query: 'q', user: 'u', auto_generate_name: 'false' }],
    ['conversations.rename', { auto_generate: 'true' }],
    ['conversations.rename', { auto_generate: 1, name: '' }],
    ['conversations.update_variable', { value: null }],
    ['audio.from_text', { text: 'hi', streaming: { any: 'json' } }],
    ['annotations.create', { question: '', answer: '' }],
    ['annotations.reply_toggle', { embedding_provider_name: 'p', embedding_model_name: 'm', score_threshold: '0.5' }],
  ])('takes %s %j', async (name, body) => {
    expect(await outcome(name, body)).toMatchObject({ accepted: expect.any(Object) });
  });

  it.each([
    ['chat.create', { inputs: {}, query: 'q', user: 'u', conversation_id: 'abc' }, 400, 'invalid_param'],
    ['chat.create', { inputs: {}, query: 'q', user: 'u', auto_generate_name: 'maybe' }, 400, 'invalid_param'],
    ['conversations.rename', { name: '   ' }, 400, 'invalid_param'],
    ['conversations.rename', { auto_generate: true, name: 5 }, 400, 'invalid_param'],
    ['conversations.update_variable', {}, 400, 'invalid_param'],
    ['annotations.create', { question: 'q' }, 400, 'invalid_param'],
    ['annotations.reply_toggle', { embedding_provider_name: 'p', embedding_model_name: 'm', score_threshold: 'half' }, 422, 'unprocessable_entity'],
    ['chat.stop', {}, 400, 'invalid_param'],
  ])('refuses %s %j with %i %s', async (name, body, status, code) => {
    expect(await outcome(name, body)).toEqual({ status, code });
  });

  it('turns a numeric user into its string, as Dify str() does', async () => {
    expect(await outcome('chat.create', { inputs: {}, query: 'q', user: 12345 })).toMatchObject({ accepted: { user: '12345' } });
    expect(await outcome('chat.stop', { user: true })).toMatchObject({ accepted: { user: 'True' } });
  });

  it('answers a DELETE without a JSON body with 415, as Dify does, instead of sending {}', async () => {
    expect(await outcome('conversations.delete', undefined, '')).toEqual({ status: 415, code: 'unsupported_media_type' });
  });
});
