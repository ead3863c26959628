import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { csvCell, writeChunk } from './audit-export.js';

describe('csvCell', () => {
  it.each([
    [null, ''],
    [42, '42'],
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['=SUM(A1)', "'=SUM(A1)"],
    ['+1', "'+1"],
    ['-cmd', "'-cmd"],
    ['@x', "'@x"],
    [{ a: 1 }, '"{""a"":1}"'],
  ])('%p -> %p', (value, cell) => expect(csvCell(value)).toBe(cell));
});

describe('writeChunk', () => {
  it('waits for the buffer to drain, without leaving listeners behind', async () => {
    const out = new Writable({ highWaterMark: 8, write: (_chunk, _enc, done) => setImmediate(done) });
    for (let i = 0; i < 50; i++) expect(await writeChunk(out, 'x'.repeat(64))).toBe(true);
    expect(out.listenerCount('drain')).toBe(0);
    expect(out.listenerCount('close')).toBe(0);
  });

  it('says false once the client is gone', async () => {
    const out = new Writable({ highWaterMark: 8, write: () => undefined });
    const pending = writeChunk(out, 'x'.repeat(64));
    out.destroy();
    expect(await pending).toBe(false);
    expect(await writeChunk(out, 'more')).toBe(false);
  });
});
