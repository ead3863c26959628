/**
 * Child processes and clean-up for `npm run bench:load`: every process, folder and database the
 * bench makes is registered here and released in reverse order, on success, on error and on
 * Ctrl-C, so a run never leaves anything behind.
 */
import { execFile, spawn, type ChildProcess, type ExecFileOptions, type SpawnOptions } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

type Cleanup = { what: string; run: () => Promise<void> | void };
const cleanups: Cleanup[] = [];
let cleaning: Promise<void> | undefined;

/** True once the clean-up has begun (the bench is stopping: make nothing new). */
export function stopping(): boolean {
  return cleaning !== undefined;
}

/**
 * Registers a clean-up step; returns a function that runs it now (once) instead of at the end.
 * Once the clean-up has begun, the step runs at once and the caller gets an error, so that work
 * still under way when Ctrl-C came cannot leave a new process or database behind.
 */
export function onCleanup(what: string, run: () => Promise<void> | void): () => Promise<void> {
  if (cleaning) {
    void Promise.resolve()
      .then(run)
      .catch(() => undefined);
    throw new Error(`the bench is stopping (${what} not kept)`);
  }
  const entry: Cleanup = { what, run };
  cleanups.push(entry);
  return async () => {
    const i = cleanups.indexOf(entry);
    if (i === -1) return;
    cleanups.splice(i, 1);
    await run();
  };
}

/**
 * Runs every registered step, newest first, one at a time; a failing step is reported and the
 * rest still run. Every caller (end of run, error, signal, deadline) waits for the same run.
 */
export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const { what, run } = cleanups.pop()!;
      try {
        await run();
      } catch (error) {
        console.error(`clean-up of ${what} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  })();
  return cleaning;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
export function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Spawns a process that is stopped by the clean-up (or earlier through the returned `stop`). */
export function spawnTracked(what: string, command: string, args: string[], options: SpawnOptions): { child: ChildProcess; stop: () => Promise<void> } {
  const child = spawn(command, args, { cwd: ROOT, ...options });
  const stop = onCleanup(what, () => stopProcess(child));
  return { child, stop };
}

/** execFile that the clean-up kills when the bench stops early; resolves with stdout. */
export function runTracked(command: string, args: string[], options: ExecFileOptions): Promise<string> {
  let child: ChildProcess | undefined;
  const release = onCleanup(command, () => {
    if (child) return stopProcess(child, 2000);
  });
  return new Promise<string>((resolve, reject) => {
    child = execFile(command, args, { cwd: ROOT, encoding: 'utf8', ...options }, (error, stdout) => {
      void release();
      if (error) reject(error);
      else resolve(String(stdout));
    });
  });
}

/**
 * Starts one of the bench's own TypeScript servers (`bench/load/*.ts`) in its own process, so
 * that it shares no event loop with the load or the bench; waits for the `{"port":N}` line it
 * prints once listening.
 */
export async function startHelperServer(what: string, script: string, args: string[] = []): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const { child, stop } = spawnTracked(what, process.execPath, ['--import', 'tsx', fileURLToPath(new URL(script, import.meta.url)), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start within 30 s`)), 30_000);
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const match = /\{"port":(\d+)\}/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
  });
  child.stdout!.resume();
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop };
}

/** Resident set size of a process now, in MB (Linux /proc), or undefined when unreadable. */
export function rssMb(pid: number): number | undefined {
  return statusField(pid, 'VmRSS');
}

/** Peak RSS since the last `resetPeakRss` (or since start), in MB. */
export function peakRssMb(pid: number): number | undefined {
  return statusField(pid, 'VmHWM');
}

/** Resets the kernel's peak-RSS mark (`echo 5 > /proc/PID/clear_refs`); false when not allowed. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

function statusField(pid: number, field: string): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `url` until it answers 2xx or `timeoutMs` passes. */
export async function waitForOk(url: string, timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!alive()) throw new Error(`process behind ${url} exited`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await sleep(100);
  }
}
