/**
 * Reading Dify SSE from the client side, for tests: works on a fetch body or the Node Readable that
 * `dify-client` returns as `response.data` when streaming.
 */

export interface ReceivedSseEvent {
  /** The SSE `event:` field (only `ping` in Dify streams), or the `event` inside the JSON data. */
  event: string;
  /** The parsed `data:` JSON, absent for pings. */
  data?: Record<string, unknown>;
}

/** Splits SSE text into frames; returns the complete frames and the unfinished rest. */
export function parseSseFrames(buffer: string): { events: ReceivedSseEvent[]; rest: string } {
  const events: ReceivedSseEvent[] = [];
  const frames = buffer.split('\n\n');
  const rest = frames.pop() ?? '';
  for (const frame of frames) {
    let sseEvent: string | undefined;
    let data: string | undefined;
    for (const line of frame.split('\n')) {
      if (line.startsWith('event:')) sseEvent = line.slice(6).trim();
      else if (line.startsWith('data:')) data = (data === undefined ? '' : `${data}\n`) + line.slice(5).trimStart();
    }
    if (data !== undefined) {
      const parsed = JSON.parse(data) as Record<string, unknown>;
      events.push({ event: String(parsed.event ?? sseEvent ?? 'message'), data: parsed });
    } else if (sseEvent !== undefined) {
      events.push({ event: sseEvent });
    }
  }
  return { events, rest };
}

/** Reads a whole stream; `onEvent` sees each event as it arrives. Rejects if the stream errors. */
export async function readSseEvents(body: AsyncIterable<Uint8Array | string>, onEvent?: (event: ReceivedSseEvent) => void): Promise<ReceivedSseEvent[]> {
  const decoder = new TextDecoder();
  const all: ReceivedSseEvent[] = [];
  let buffer = '';
  for await (const chunk of body) {
    buffer += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    const { events, rest } = parseSseFrames(buffer);
    buffer = rest;
    for (const event of events) {
      all.push(event);
      onEvent?.(event);
    }
  }
  return all;
}
