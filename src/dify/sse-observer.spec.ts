import { describe, expect, it } from '@jest/globals';
import { addDecimals, observeJson, SseObserver, type CallObservation } from './sse-observer.js';

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
    observer.push(
      Buffer.from(
        'data: {"event":"workflow_started","workflow_run_id":"w1","task_id":"t2","data":{}}\n\ndata: {"event":"error","status":500,"code":"internal_server_error","message":"x"}\n\n',
      ),
    );
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
    const out = observer
      .push(Buffer.from('nt":"error","status":400,"code":"completion_request_error","message":"bad key app-SECRETsecret0123456789"}\n\n'))
      .toString();
    expect(out).not.toContain('SECRET');
    expect(JSON.parse(out.slice(6))).toEqual({ event: 'error', status: 400, code: 'completion_request_error', message: 'bad key ***' });
  });

  it('sums the node prices of a workflow stream; a chatflow message_end usage replaces the sum', () => {
    const node = (price: string) =>
      `data: {"event":"node_finished","workflow_run_id":"w1","data":{"execution_metadata":{"total_tokens":5,"total_price":"${price}","currency":"USD"}}}\n\n`;
    const workflow = new SseObserver();
    workflow.push(
      Buffer.from(
        node('0.0000120') + node('0.5') + 'data: {"event":"workflow_finished","workflow_run_id":"w1","data":{"total_tokens":33,"outputs":{"text":"hi"}}}\n\n',
      ),
    );
    expect(workflow.observation).toMatchObject({ totalTokens: 33, totalPrice: '0.5000120', currency: 'USD', terminal: 'workflow_finished' });
    const chatflow = new SseObserver();
    chatflow.push(
      Buffer.from(node('0.1') + 'data: {"event":"message_end","metadata":{"usage":{"total_tokens":9,"total_price":"0.0420","currency":"USD"}}}\n\n'),
    );
    expect(chatflow.observation).toMatchObject({ totalTokens: 9, totalPrice: '0.0420' });
  });

  it('collects the answer text only when asked to', () => {
    const events =
      'data: {"event":"message","answer":"Hel"}\n\ndata: {"event":"message","answer":"lo"}\n\n' +
      'data: {"event":"message_end","metadata":{"usage":{"total_tokens":2}}}\n\n';
    const plain = new SseObserver();
    plain.push(Buffer.from(events));
    expect(plain.observation.answerText).toBeUndefined();
    const capturing = new SseObserver({}, { captureAnswer: true });
    capturing.push(Buffer.from(events));
    expect(capturing.observation.answerText).toBe('Hello');
    const workflow = new SseObserver({}, { captureAnswer: true });
    workflow.push(
      Buffer.from(
        'data: {"event":"text_chunk","data":{"text":"a"}}\n\ndata: {"event":"text_chunk","data":{"text":"b"}}\n\ndata: {"event":"workflow_finished","data":{"outputs":{"x":1}}}\n\n',
      ),
    );
    expect(workflow.observation.answerText).toBe('ab');
  });

  it('reads usage and answer from blocking bodies', () => {
    const chat: CallObservation = {};
    observeJson({ answer: 'Hi', conversation_id: 'c', message_id: 'm', metadata: { usage: { total_tokens: 4, total_price: '0.01', currency: 'EUR' } } }, chat, {
      captureAnswer: true,
    });
    expect(chat).toMatchObject({ answerText: 'Hi', totalTokens: 4, totalPrice: '0.01', currency: 'EUR', messageId: 'm' });
    const run: CallObservation = {};
    observeJson({ task_id: 't', workflow_run_id: 'w', data: { total_tokens: 7, outputs: { answer: 'x' } } }, run, { captureAnswer: true });
    expect(run).toMatchObject({ totalTokens: 7, workflowRunId: 'w', answerText: '{"answer":"x"}' });
  });
});

describe('addDecimals', () => {
  it.each([
    ['0', '0.0000120', '0.0000120'],
    ['0.5', '0.25', '0.75'],
    ['1.9', '0.1', '2.0'],
    ['-1', '0.5', '-0.5'],
    ['12', '3', '15'],
  ])('%s + %s = %s', (a, b, sum) => expect(addDecimals(a, b)).toBe(sum));

  it('refuses what is not a plain decimal', () => {
    expect(addDecimals('1e-5', '1')).toBeUndefined();
    expect(addDecimals('1', 'abc')).toBeUndefined();
  });
});
