import { describe, expect, it } from '@jest/globals';
import { ShutdownService } from './shutdown.service.js';

describe('ShutdownService', () => {
  it('lets any number of calls listen to the drain deadline (no MaxListenersExceededWarning), and cuts them at its end', async () => {
    const shutdown = new ShutdownService();
    const signals = new Set<AbortSignal>();
    const calls = Array.from({ length: 64 }, () =>
      shutdown.track((signal) => {
        signals.add(signal);
        return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      }),
    );
    expect(shutdown.inFlightCount).toBe(64);
    // Read as Node stores it: `events.getMaxListeners` takes no AbortSignal on Node 20.
    const maxListeners = (signal: AbortSignal) => {
      const key = Object.getOwnPropertySymbols(signal).find((s) => s.description === 'events.maxEventTargetListeners');
      return key === undefined ? undefined : (signal as unknown as Record<symbol, unknown>)[key];
    };
    expect([...signals].map(maxListeners)).toEqual([0]); // 0: unlimited
    const drained = await shutdown.drain(10);
    await Promise.all(calls);
    expect(drained).toMatchObject({ finished: 0, cut: 64 });
    expect(shutdown.inFlightCount).toBe(0);
  });

  it('counts a call as in flight until it settles, rejected or not', async () => {
    const shutdown = new ShutdownService();
    let fail!: (error: Error) => void;
    const failing = shutdown.track(() => new Promise<void>((_resolve, reject) => (fail = reject)));
    const passing = shutdown.track(async () => 'ok');
    expect(shutdown.inFlightCount).toBe(2);
    await passing;
    expect(shutdown.inFlightCount).toBe(1);
    const drained = shutdown.drain(5_000);
    fail(new Error('upstream gone'));
    await expect(failing).rejects.toThrow('upstream gone');
    expect(await drained).toMatchObject({ finished: 1, cut: 0 });
    expect(() =>
      shutdown.track(() => {
        throw new Error('sync');
      }),
    ).toThrow('sync');
    expect(shutdown.inFlightCount).toBe(0);
  });
});
