/**
 * Replaces (or adds) one top-level string member of a JSON object *in its bytes*: every other
 * byte of the caller's body reaches Dify unchanged (number formats, escapes, key order, unknown
 * fields). The input must already be known to be a valid JSON object (`JSON.parse` accepted it).
 * JSON's structural characters are ASCII, so scanning bytes is safe inside UTF-8 text.
 */
export function setTopLevelMember(raw: Buffer, name: string, value: string): Buffer {
  const members = topLevelMembers(raw);
  const encoded = Buffer.from(JSON.stringify(value), 'utf8');
  const targets = members.filter((m) => m.key === name);
  if (targets.length === 0) {
    // After the opening brace, so it does not depend on where the object ends.
    const open = raw.indexOf(0x7b); // {
    const member = Buffer.from(`${JSON.stringify(name)}:${encoded.toString('utf8')}${members.length > 0 ? ',' : ''}`, 'utf8');
    return Buffer.concat([raw.subarray(0, open + 1), member, raw.subarray(open + 1)]);
  }
  // JSON.parse keeps the last duplicate, other parsers the first: every one is replaced.
  const parts: Buffer[] = [];
  let at = 0;
  for (const m of targets) {
    parts.push(raw.subarray(at, m.valueStart), encoded);
    at = m.valueEnd;
  }
  parts.push(raw.subarray(at));
  return Buffer.concat(parts);
}

interface Member {
  key: string;
  valueStart: number;
  valueEnd: number;
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

function topLevelMembers(raw: Buffer): Member[] {
  let i = skipWs(raw, 0);
  if (raw[i] !== 0x7b) throw new Error('not a JSON object');
  i++;
  const members: Member[] = [];
  for (;;) {
    i = skipWs(raw, i);
    if (raw[i] === 0x7d) return members; // }
    const keyStart = i;
    const keyEnd = skipString(raw, i);
    const key = JSON.parse(raw.subarray(keyStart, keyEnd).toString('utf8')) as string;
    i = skipWs(raw, keyEnd);
    if (raw[i] !== 0x3a) throw new Error('malformed JSON object'); // :
    const valueStart = skipWs(raw, i + 1);
    const valueEnd = skipValue(raw, valueStart);
    members.push({ key, valueStart, valueEnd });
    i = skipWs(raw, valueEnd);
    if (raw[i] === 0x2c)
      i++; // ,
    else if (raw[i] === 0x7d) return members;
    else throw new Error('malformed JSON object');
  }
}

function skipWs(raw: Buffer, i: number): number {
  while (i < raw.length && WS.has(raw[i])) i++;
  return i;
}

/** `i` is at an opening quote; returns the index after the closing one. */
function skipString(raw: Buffer, i: number): number {
  if (raw[i] !== 0x22) throw new Error('malformed JSON string');
  for (i++; i < raw.length; i++) {
    if (raw[i] === 0x5c)
      i++; // backslash: skip the escaped character
    else if (raw[i] === 0x22) return i + 1;
  }
  throw new Error('unterminated JSON string');
}

function skipValue(raw: Buffer, i: number): number {
  const c = raw[i];
  if (c === 0x22) return skipString(raw, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (; i < raw.length; i++) {
      const b = raw[i];
      if (b === 0x22) i = skipString(raw, i) - 1;
      else if (b === 0x7b || b === 0x5b) depth++;
      else if (b === 0x7d || b === 0x5d) {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    throw new Error('unterminated JSON value');
  }
  // number, true, false, null
  while (i < raw.length && !WS.has(raw[i]) && raw[i] !== 0x2c && raw[i] !== 0x7d && raw[i] !== 0x5d) i++;
  return i;
}
