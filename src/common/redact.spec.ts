import { describe, expect, it } from '@jest/globals';
import { MASK, redact, redactText } from './redact.js';

describe('redact', () => {
  it('masks sensitive keys at any depth, case-insensitively, and keeps token counts', () => {
    const out = redact({ headers: { Authorization: 'Bearer x', 'X-Api-Key': 'k', cookie: 'c' }, usage: { total_tokens: 3 }, nested: [{ password: 'p', form_token: 'f' }] });
    expect(out).toEqual({ headers: { Authorization: MASK, 'X-Api-Key': MASK, cookie: MASK }, usage: { total_tokens: 3 }, nested: [{ password: MASK, form_token: MASK }] });
  });

  it('masks secret-looking values inside free text', () => {
    const text = 'key app-ABCDEFGHijklmnop12345678 and dgw_abcdefghijklmnopqrstuvwxyz0123456789 via Bearer abc.def and postgresql://u:pw@h/db';
    const out = redactText(text);
    expect(out).not.toMatch(/app-ABCD|dgw_abc|abc\.def|:pw@/);
    expect(out).toContain('postgresql://***@h/db');
  });

  it('survives cycles and errors', () => {
    const a: Record<string, unknown> = { name: 'x' };
    a.self = a;
    expect(redact(a)).toEqual({ name: 'x', self: '[Circular]' });
    expect(redact(new Error('bad dgw_abcdefghijklmnopqrstuvwxyz0123456789'))).toEqual({ name: 'Error', message: `bad ${MASK}` });
  });
});
