import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';

/** What features report for alerts to hear: facts, no decisions (the alerts decide). */
export type GatewaySignal =
  | { kind: 'budget.used'; keyId: string; keyName: string; usedTokens: number; dailyTokens: number; day: string }
  | { kind: 'breaker.state'; app: string; state: 'closed' | 'open' | 'half_open' }
  | { kind: 'audit.verify_failed'; problem: string; seq: number | null };

/**
 * A process-wide event emitter between the features that see a condition (limits, the Dify
 * breaker, the verifier) and the alerts. Emitting never throws and never waits: a listener's
 * failure is its own.
 */
@Injectable()
export class GatewaySignals {
  private readonly emitter = new EventEmitter();

  emit(signal: GatewaySignal): void {
    try {
      this.emitter.emit('signal', signal);
    } catch {
      // a listener's failure must not reach the call path
    }
  }

  on(listener: (signal: GatewaySignal) => void): () => void {
    this.emitter.on('signal', listener);
    return () => this.emitter.off('signal', listener);
  }
}
