import { describe, expect, it } from '@jest/globals';
import { GatewayError } from '../common/gateway-error.js';
import { callInputs } from './call-inputs.js';
import { refusedOutcome, relayedOutcome } from './call-outcome.js';
import { beginCall, callRecord } from './call-record.js';
import { matchCall } from './match.stage.js';

describe('match stage', () => {
  it('finds the row and keeps the raw query string', () => {
    const { match, rawQuery } = matchCall('GET', '/v1/messages?user=a&conversation_id=c');
    expect(match.route.name).toBe('messages.list');
    expect(rawQuery).toBe('user=a&conversation_id=c');
  });

  it('answers 404 for no row and 405 with Allow for the wrong method', () => {
    expect(() => matchCall('GET', '/v1/nothing-here')).toThrow(expect.objectContaining({ status: 404 }));
    let refused: unknown;
    try {
      matchCall('DELETE', '/v1/chat-messages');
    } catch (error) {
      refused = error;
    }
    expect(refused).toMatchObject({ status: 405, code: 'method_not_allowed' });
    expect((refused as GatewayError).headers.allow).toContain('POST');
  });
});

describe('call outcome', () => {
  it('names a relayed answer by how its stream ended', () => {
    expect(relayedOutcome(200, { observation: {} })).toEqual({ outcome: 'success', errorCode: null });
    expect(relayedOutcome(404, { observation: {} })).toEqual({ outcome: 'client_error', errorCode: null });
    expect(relayedOutcome(200, { observation: {}, streamFailure: 'client_closed' })).toEqual({ outcome: 'cancelled', errorCode: 'client_closed' });
    expect(relayedOutcome(200, { observation: {}, streamFailure: 'dify_timeout' })).toEqual({ outcome: 'timeout', errorCode: 'dify_timeout' });
    expect(relayedOutcome(200, { observation: { streamErrorCode: 'quota' } })).toEqual({ outcome: 'stream_error', errorCode: 'quota' });
  });

  it('calls every refusal the gateway made itself rejected, whatever its status', () => {
    expect(refusedOutcome(new GatewayError(503, 'audit_unavailable', 'x'), false)).toBe('rejected');
    expect(refusedOutcome(new GatewayError(429, 'too_many_requests', 'x'), false)).toBe('rejected');
    expect(refusedOutcome(new GatewayError(502, 'dify_unavailable', 'x'), true)).toBe('upstream_error');
    expect(refusedOutcome(new GatewayError(504, 'dify_timeout', 'x'), true)).toBe('timeout');
    expect(refusedOutcome(new GatewayError(400, 'invalid_param', 'x'), true)).toBe('client_error');
    expect(refusedOutcome(new GatewayError(499, 'client_closed', 'x'), true)).toBe('cancelled');
  });
});

describe('call record', () => {
  it("is made once from the stages' facts: the write-ahead without an end, the finished event with it", () => {
    const facts = beginCall({ method: 'POST', headers: {} } as never);
    facts.route = { name: 'chat.create', path: '/chat-messages' };
    facts.appAlias = 'support';
    facts.inputs = callInputs({ user: 'alice', query: 'hi', conversation_id: 'c1' }, '', false);
    const started = callRecord(facts);
    expect(started).toMatchObject({
      route: '/chat-messages',
      appAlias: 'support',
      endUser: 'alice',
      conversationId: 'c1',
      promptText: null,
      status: 0,
      outcome: 'rejected',
    });
    const finished = callRecord(
      facts,
      {
        status: 200,
        outcome: 'success',
        errorCode: null,
        upstreamStatus: 200,
        attempts: 1,
        observation: { messageId: 'm1', totalTokens: 7 },
        workNotDone: false,
        ownEvent: true,
      },
      12,
    );
    expect(finished).toMatchObject({
      callId: started.callId,
      status: 200,
      outcome: 'success',
      messageId: 'm1',
      totalTokens: 7,
      latencyMs: 12,
      conversationId: 'c1',
    });
  });

  it('reads the prompt only when it is stored', () => {
    expect(callInputs({ query: 'q', inputs: { a: 1 } }, 'user=bob', true)).toEqual({ endUser: 'bob', conversationId: null, promptText: 'q\ninputs: {"a":1}' });
    expect(callInputs({ query: 'q', inputs: { a: 1 } }, '', false).promptText).toBeNull();
  });
});
