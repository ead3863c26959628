import { describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { SseAnswerRewrite, stripNamespace } from './answer-rewrite.js';
import { formTokensIn } from './form-tokens.js';
import { UserNamespace } from './user-namespace.js';

const ns = new UserNamespace('team-a');

describe('stripNamespace', () => {
  it('removes the caller’s namespace from user fields at any depth, and nothing else', () => {
    const answer = {
      data: [{ created_by_end_user: { session_id: 'team-a:alice', id: 'x' } }, { created_by_end_user: { session_id: 'team-b:bob' } }],
      external_user_id: 'team-a:DEFAULT-USER',
      answer: 'team-a:alice said hi',
      inputs: { user: 'team-a:literal' },
    };
    expect(stripNamespace(answer, ns)).toBe(true);
    expect(answer).toEqual({
      data: [{ created_by_end_user: { session_id: 'alice', id: 'x' } }, { created_by_end_user: { session_id: 'team-b:bob' } }],
      external_user_id: 'DEFAULT-USER',
      answer: 'team-a:alice said hi',
      inputs: { user: 'literal' },
    });
    expect(stripNamespace({ id: 1 }, ns)).toBe(false);
  });
});

describe('UserNamespace', () => {
  it('wraps, unwraps and owns', () => {
    expect(ns.wrap('alice')).toBe('team-a:alice');
    expect(ns.wrap(undefined)).toBe('team-a:DEFAULT-USER');
    expect(ns.wrap('')).toBe('team-a:DEFAULT-USER');
    expect(ns.unwrap('team-a:a:b')).toBe('a:b');
    expect(ns.unwrap('team-ab:c')).toBeUndefined();
    expect(ns.maxUserLength).toBe(248);
    expect(() => ns.wrap('x'.repeat(249))).toThrow('at most 248 characters');
    expect(() => new UserNamespace('a:b')).toThrow();
  });
});

describe('SseAnswerRewrite', () => {
  const frames = [
    'data: {"event": "workflow_started", "task_id": "t1", "workflow_run_id": "r1"}\n\n',
    'event: ping\n\n',
    'data: {"event": "workflow_finished", "data": {"created_by": {"id": "e1", "user": "team-a:alice"}}}\n\n',
    'data: {"event": "text_chunk", "data": {"text": "plain"}}\n\n',
  ];

  it('strips namespaced users from events, leaves other lines byte for byte, whatever the chunking', async () => {
    const input = frames.join('');
    for (const size of [1, 7, 64, input.length]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < input.length; i += size) chunks.push(Buffer.from(input.slice(i, i + size)));
      const out = await text(Readable.from(chunks).pipe(new SseAnswerRewrite(ns)));
      expect(out).toBe(frames[0] + frames[1] + 'data: {"event":"workflow_finished","data":{"created_by":{"id":"e1","user":"alice"}}}\n\n' + frames[3]);
    }
  });

  it('hands events to onEvent until it wants no more, before passing them on', async () => {
    const seen: unknown[] = [];
    const rewrite = new SseAnswerRewrite(ns, async (event) => {
      await new Promise((r) => setTimeout(r, 5));
      seen.push(event.event);
      return false;
    });
    const out = await text(Readable.from([frames.join('')]).pipe(rewrite));
    expect(seen).toEqual(['workflow_started']);
    expect(out).toContain('"user":"alice"');
  });

  it('keeps multi-byte characters split across chunks', async () => {
    const frame = Buffer.from('data: {"event":"message","answer":"日本"}\n\n');
    const out = await text(Readable.from([frame.subarray(0, 40), frame.subarray(40)]).pipe(new SseAnswerRewrite(ns)));
    expect(out).toBe(frame.toString('utf8'));
  });
});

describe('SseAnswerRewrite watching form tokens', () => {
  it('hands every event that mentions a form token to the watcher, late ones included, before passing it on', async () => {
    const seen: string[] = [];
    const filler = Array.from({ length: 50 }, (_, i) => `data: {"event":"text_chunk","data":{"text":"${i}"}}\n\n`).join('');
    const late = 'data: {"event":"human_input_required","data":{"form_token":"Tok123","node_id":"n"}}\n\n';
    const rewrite = new SseAnswerRewrite(new UserNamespace('team-a'), undefined, {
      needle: '"form_token"',
      onEvent: async (event) => {
        seen.push(...formTokensIn(event));
      },
    });
    let out = '';
    rewrite.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('Tok123')) expect(seen).toEqual(['Tok123']);
      out += chunk.toString();
    });
    await new Promise<void>((resolve, reject) => Readable.from([filler, late]).pipe(rewrite).on('finish', resolve).on('error', reject));
    expect(seen).toEqual(['Tok123']);
    expect(out).toBe(filler + late);
  });
});
