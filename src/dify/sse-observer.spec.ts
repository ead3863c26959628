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
    for (let i = 0; i < stream.length; i += 7) observer.push(stream.subarray(i, i + 7));
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

  it('ignores lines that are not JSON and gives up on absurdly long lines', () => {
    const observer = new SseObserver();
    observer.push(Buffer.from('data: not json\n\n'));
    observer.push(Buffer.alloc(2 * 1024 * 1024, 'a'));
    observer.push(Buffer.from('\ndata: {"task_id":"t3"}\n\n'));
    expect(observer.observation).toEqual({});
  });
});
