/**
 * Fuzz: what comes back from Dify before the caller sees it. The SSE observer forwards every
 * byte of any stream at any chunking (masking only error events, which then hold no canary
 * secret); the error mapper turns any upstream failure into one GatewayError with a sane status
 * and no secret in its message.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { GatewayError } from '../../src/common/gateway-error.js';
import { mapDifyError } from '../../src/dify/dify-error.mapper.js';
import { DifyError, type DifyErrorKind } from '../../src/dify/dify.errors.js';
import { SseObserver } from '../../src/dify/sse-observer.js';
import { jsonValue, runs, trickyText } from './fuzz-support.js';

const CANARY = 'app-CANARYupstreamKEY0123456789';

const event = fc.oneof(
  fc.record(
    {
      event: fc.constantFrom('message', 'agent_message', 'message_end', 'workflow_started', 'node_finished', 'workflow_finished', 'text_chunk', 'ping'),
      task_id: trickyText(10),
      conversation_id: trickyText(10),
      answer: trickyText(30),
      data: jsonValue(3),
      metadata: jsonValue(3),
    },
    { requiredKeys: ['event'] },
  ),
  fc.record({
    event: fc.constant('error'),
    status: fc.integer({ min: 400, max: 599 }),
    code: trickyText(10),
    message: trickyText(30).map((m) => `${m} ${CANARY} Bearer ${CANARY}`),
  }),
  jsonValue(4),
);
/** Lines of an SSE stream: data lines with events, the other fields, comments, junk. */
const line = fc.oneof(
  { weight: 5, arbitrary: event.map((e) => `data: ${JSON.stringify(e)}`) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 2_000 }).map((n) => `data: {"event":"error","message":"${CANARY}","d":${'['.repeat(n)}${']'.repeat(n)}}`) },
  { weight: 1, arbitrary: fc.constantFrom('event: ping', ': keep-alive', 'id: 1', 'retry: 10', '', 'data:', 'data: {', 'data: null') },
  { weight: 1, arbitrary: trickyText(40) },
);

describe('fuzz: SSE observer', () => {
  it('forwards every byte of a stream without error events, at any chunking, and never throws', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), fc.constantFrom('\n', '\r\n', '\n\n'), fc.integer({ min: 1, max: 97 }), (lines, eol, size) => {
        const input = Buffer.from(lines.join(eol) + eol, 'utf8');
        const observer = new SseObserver({}, { captureAnswer: true });
        const out: Buffer[] = [];
        for (let i = 0; i < input.length; i += size) out.push(observer.push(input.subarray(i, i + size)));
        out.push(observer.end());
        const forwarded = Buffer.concat(out).toString('utf8');
        if (!input.includes('"error"')) expect(forwarded).toBe(input.toString('utf8'));
        // A masked error event holds no secret; the gateway's own line structure is unchanged.
        if (input.includes('"event":"error"')) {
          for (const l of forwarded.split('\n'))
            if (l.startsWith('data:') && l.includes('"event":"error"') && l.length < 1024 * 1024) expect(l).not.toContain(CANARY);
        }
        expect(forwarded.split('\n').length).toBe(input.toString('utf8').split('\n').length);
      }),
      runs(600),
    );
  });
});

describe('fuzz: Dify error mapper', () => {
  it('maps any upstream failure to one GatewayError: a 4xx or 5xx status, a code, no secret', () => {
    const kinds: DifyErrorKind[] = ['http', 'network', 'timeout', 'aborted', 'shutdown', 'circuit_open', 'bad_response'];
    const details = fc.record(
      {
        kind: fc.constantFrom(...kinds),
        method: fc.constantFrom('GET', 'POST', 'DELETE'),
        path: fc.constantFrom('/chat-messages', '/workflows/run', '/files/upload'),
        retryClass: fc.constantFrom('idempotent' as const, 'unsafe' as const),
        attempts: fc.integer({ min: 0, max: 10 }),
        durationMs: fc.nat(),
        status: fc.option(fc.oneof(fc.integer({ min: 100, max: 599 }), fc.integer()), { nil: undefined }),
        difyCode: fc.option(fc.oneof(trickyText(20), fc.constant(`leak ${CANARY}`)), { nil: undefined }),
        difyMessage: fc.option(
          fc.oneof(
            trickyText(60),
            trickyText(20).map((m) => `${m} key=${CANARY} Bearer ${CANARY}`),
          ),
          { nil: undefined },
        ),
        networkCode: fc.option(fc.constantFrom('ECONNRESET', 'ECONNREFUSED', 'ENOTFOUND', 'EPIPE'), { nil: undefined }),
        retryAfter: fc.option(fc.oneof(fc.integer().map(String), trickyText(10), fc.constant('999999999999999999999')), { nil: undefined }),
        mayHaveReachedDify: fc.boolean(),
      },
      { requiredKeys: ['kind', 'method', 'path', 'retryClass', 'attempts', 'durationMs', 'mayHaveReachedDify'] },
    );
    fc.assert(
      fc.property(details, (d) => {
        const mapped = mapDifyError(new DifyError(d));
        expect(mapped).toBeInstanceOf(GatewayError);
        expect(mapped.status === 499 || (mapped.status >= 400 && mapped.status <= 599)).toBe(true);
        expect(mapped.code.length).toBeGreaterThan(0);
        expect(mapped.message).not.toContain(CANARY);
        expect(mapped.code).not.toContain(CANARY);
        for (const value of Object.values(mapped.headers)) expect(typeof value).toBe('string');
      }),
      runs(1500),
    );
  });
});
