import { describe, expect, it } from '@jest/globals';
import { maskErrorEvent, SseEventSplitter } from './sse-events.js';

describe('SseEventSplitter', () => {
  it('returns whole events, whatever the chunk boundaries', () => {
    const stream = 'data: {"event":"message","answer":"h\u00e9"}\n\nevent: ping\n\ndata: {"event":"message_end"}\r\n\r\ndata: {"tail"';
    const bytes = Buffer.from(stream);
    const splitter = new SseEventSplitter();
    const events: string[] = [];
    for (let i = 0; i < bytes.length; i += 5) events.push(...splitter.push(bytes.subarray(i, i + 5)).map((b) => b.toString()));
    expect(events).toEqual(['data: {"event":"message","answer":"h\u00e9"}\n\n', 'event: ping\n\n', 'data: {"event":"message_end"}\r\n\r\n']);
    expect(splitter.flush().toString()).toBe('data: {"tail"');
  });
});

describe('maskErrorEvent', () => {
  it('masks the message of an error event and leaves other events byte for byte', () => {
    const error = Buffer.from('data: {"event":"error","status":400,"code":"invalid_param","message":"bad user bob@example.com"}\n\n');
    expect(JSON.parse(maskErrorEvent(error).toString().slice(6))).toEqual({ event: 'error', status: 400, code: 'invalid_param', message: 'bad user [email]' });
    const message = Buffer.from('data: {"event": "message", "answer": "mail bob@example.com", "error": null}\n\n');
    expect(maskErrorEvent(message)).toBe(message);
  });
});
