import type { PresentedEvent } from '../read/audit-presenter.js';
import { signBody } from './sink-signature.js';

/** The SD-ID of the signature element (32473: the enterprise number RFC 5612 reserves for examples). */
export const SYSLOG_SD_ID = 'siem@32473';
/** Facility 13 (log audit), severity 6 (informational). */
const PRI = 13 * 8 + 6;
const APP_NAME = 'dify-gateway';

/**
 * One event as an RFC 5424 message. MSG is the event's JSON, exactly as the audit API shows it;
 * the structured data element carries its `seq` and `hash` and an HMAC over `<ts>.<MSG>` (the
 * same signature as an HTTP batch's, per message), so a receiver can check each message and
 * the chain without trusting the gateway.
 */
export function syslogMessage(event: PresentedEvent, key: string, hostname: string, timestamp: string): string {
  const msg = JSON.stringify(event);
  const sig = signBody(key, timestamp, msg);
  const time = typeof event.recorded_at === 'string' ? event.recorded_at : new Date().toISOString();
  const msgId =
    String(event.type)
      .replace(/[^!-~]/g, '')
      .slice(0, 32) || '-';
  const sd = `[${SYSLOG_SD_ID} seq="${event.seq}" hash="${event.hash}" ts="${timestamp}" sig="${sig}"]`;
  return `<${PRI}>1 ${time} ${hostname} ${APP_NAME} ${process.pid} ${msgId} ${sd} ${msg}`;
}

/** Octet-counting framing (RFC 6587 3.4.1, the framing RFC 5425 requires over TLS). */
export function octetFrame(message: string): string {
  return `${Buffer.byteLength(message, 'utf8')} ${message}`;
}

export interface ParsedSyslog {
  params: Record<string, string>;
  msg: string;
}

const LINE = /^<\d{1,3}>1 \S+ \S+ \S+ \S+ \S+ ((?:\[[^\]]*\])+|-) (.*)$/s;
const PARAM = /([!-~]+?)="((?:[^"\\]|\\.)*)"/g;

/** The signature element's parameters and MSG of one message (no framing), or null. */
export function parseSyslogMessage(line: string): ParsedSyslog | null {
  const match = LINE.exec(line);
  if (!match) return null;
  const element = match[1].split('][').find((part) => part.replace(/^\[/, '').startsWith(`${SYSLOG_SD_ID} `));
  const params: Record<string, string> = {};
  if (element) for (const [, name, value] of element.matchAll(PARAM)) params[name.trim()] = value.replace(/\\(.)/g, '$1');
  return { params, msg: match[2] };
}

/** Splits a received byte stream into messages; returns them and the unfinished rest. */
export function splitOctetFrames(buffer: Buffer): { messages: string[]; rest: Buffer } {
  const messages: string[] = [];
  let at = 0;
  for (;;) {
    const space = buffer.indexOf(0x20, at);
    if (space === -1) break;
    const length = Number(buffer.subarray(at, space).toString('ascii'));
    if (!Number.isInteger(length) || length <= 0) throw new Error('bad syslog frame');
    if (buffer.length < space + 1 + length) break;
    messages.push(buffer.subarray(space + 1, space + 1 + length).toString('utf8'));
    at = space + 1 + length;
  }
  return { messages, rest: buffer.subarray(at) };
}
