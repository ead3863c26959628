import { describe, expect, it } from '@jest/globals';
import { SseObserver } from './sse-observer.js';

describe('SseObserver', () => {
  it('reads ids and usage from events split at arbitrary byte boundaries', () => {
    const stream = Buffer.from(
      'data: {"event":"message","conversation_id":"c1","message_id":"m1","task_id":"t1","answer":"h\u00e9"}\n\n' +
        'event: ping\n\n' +
        'data: {"event":"message_end","conversation_id":"c1","message_id":"m1","task_id":"t1","metadata":{"usage":{"total_tokens":12,"total_price":"0.0001","currency":"USD"}}}\n\n',
    );
    const observer = new SseObserver();
    const forwarded: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 7) forwarded.push(observer.push(stream.subarray(i, i + 7)));
    forwarded.push(observer.end());
    expect(Buffer.concat(forwarded).equals(stream)).toBe(true);
    expect(observer.observation).toEqual({
      conversationId: 'c1',
      messageId: 'm1',
      taskId: 't1',
      totalTokens: 12,
      totalPrice: '0.0001',
      currency: 'USD',
      terminal: 'message_end',
    });
  });

  it('records an in-stream error event and workflow run ids', () => {
    const observer = new SseObserver();
    observer.push(Buffer.from('data: {"event":"workflow_started","workflow_run_id":"w1","task_id":"t2","data":{}}\n\ndata: {"event":"error","status":500,"code":"internal_server_error","message":"x"}\n\n'));
    expect(observer.observation).toMatchObject({ workflowRunId: 'w1', taskId: 't2', terminal: 'error', streamErrorCode: 'internal_server_error' });
  });

  it('ignores lines that are not JSON and gives up on absurdly long lines, forwarding every byte', () => {
    const observer = new SseObserver();
    const input = [Buffer.from('data: not json\n\n'), Buffer.alloc(2 * 1024 * 1024, 'a'), Buffer.from('\ndata: {"task_id":"t3"}\n\n')];
    const out = Buffer.concat([...input.map((c) => observer.push(c)), observer.end()]);
    expect(out.equals(Buffer.concat(input))).toBe(true);
    expect(observer.observation).toEqual({});
  });

  it('holds back only a partial line and masks secrets in error events', () => {
    const observer = new SseObserver();
    expect(observer.push(Buffer.from('data: {"event":"message","answer":"app-NOTaKEYjustTEXT12345"}\n\ndata: {"eve')).toString()).toBe(
      'data: {"event":"message","answer":"app-NOTaKEYjustTEXT12345"}\n\n',
    );
    const out = observer.push(Buffer.from('nt":"error","status":400,"code":"completion_request_error","message":"bad key app-SECRETsecret0123456789"}\n\n')).toString();
    expect(out).not.toContain('SECRET');
    expect(JSON.parse(out.slice(6))).toEqual({ event: 'error', status: 400, code: 'completion_request_error', message: 'bad key ***' });
  });
});
