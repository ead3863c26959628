/**
 * The turn-taking of parallel test files (test/support/run-alone.cjs): a file marked `@run-alone`
 * never runs beside another, and the others wait while it runs. Two "files" of one process here.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

type Leave = () => void;
const { enter, runsAlone } = createRequire(import.meta.url)('../support/run-alone.cjs') as {
  enter(testPath: string): Promise<Leave>;
  runsAlone(testPath: string): boolean;
};

describe('run-alone', () => {
  let runDir: string;
  let shared: string;
  let alone: string;
  let inside: string;
  let mention: string;
  const saved = process.env.GW_TEST_RUN_DIR;

  beforeAll(() => {
    runDir = mkdtempSync(path.join(os.tmpdir(), 'gw-run-alone-spec-'));
    const files = mkdtempSync(path.join(os.tmpdir(), 'gw-run-alone-files-'));
    shared = path.join(files, 'shared.spec.ts');
    alone = path.join(files, 'alone.spec.ts');
    inside = path.join(files, 'inside.spec.ts');
    writeFileSync(shared, "/** A suite. */\nimport { it } from '@jest/globals';\n");
    writeFileSync(alone, '/**\n * A timed suite.\n *\n * @run-alone it times answers\n */\n');
    // The tag counts only in the docblock (the file's first comment), not further down.
    writeFileSync(inside, '/** A suite. */\nconst note = `@run-alone`; /* @run-alone */\n');
    // Named in the docblock's prose, not as a tag at the start of a line (as this file's own docblock).
    mention = path.join(files, 'mention.spec.ts');
    writeFileSync(mention, '/**\n * Files marked `@run-alone` are timed.\n */\n');
    process.env.GW_TEST_RUN_DIR = runDir;
  });

  afterAll(() => {
    if (saved === undefined) delete process.env.GW_TEST_RUN_DIR;
    else process.env.GW_TEST_RUN_DIR = saved;
    rmSync(runDir, { recursive: true, force: true });
    rmSync(path.dirname(shared), { recursive: true, force: true });
  });

  it('reads @run-alone from the docblock only', () => {
    expect([shared, alone, inside, mention].map(runsAlone)).toEqual([false, true, false, false]);
    // This file's docblock names the tag without being tagged: it runs beside the others.
    expect(runsAlone(fileURLToPath(import.meta.url))).toBe(false);
  });

  it('lets ordinary files run side by side', async () => {
    const a = await enter(shared);
    const b = await enter(shared);
    a();
    b();
  });

  it('starts a lone file only once every running file has ended, and holds new files back meanwhile', async () => {
    const events: string[] = [];
    const leaveShared = await enter(shared);
    const lone = enter(alone).then((leave) => (events.push('alone starts'), leave));
    await new Promise((r) => setTimeout(r, 300));
    expect(events).toEqual([]); // a file still runs

    const late = enter(shared).then((leave) => (events.push('late file starts'), leave));
    await new Promise((r) => setTimeout(r, 300));
    expect(events).toEqual([]); // the lone file is next: newcomers wait

    events.push('file ends');
    leaveShared();
    const leaveAlone = await lone;
    await new Promise((r) => setTimeout(r, 300));
    expect(events).toEqual(['file ends', 'alone starts']);

    events.push('alone ends');
    leaveAlone();
    (await late)();
    expect(events).toEqual(['file ends', 'alone starts', 'alone ends', 'late file starts']);
  });

  it('does not wait for anything without a run folder (jest started without our global setup)', async () => {
    delete process.env.GW_TEST_RUN_DIR;
    try {
      const leave = await enter(alone);
      leave();
    } finally {
      process.env.GW_TEST_RUN_DIR = runDir;
    }
  });
});
