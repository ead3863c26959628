import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { GatewayError } from './gateway-error.js';

export type RefusalListener = (req: Request, error: GatewayError) => void;

/**
 * Tells whoever listens (the audit log) about every request the gateway answered with a 4xx,
 * from the one exception filter. Lives here, below audit/, so the filter needs no audit import.
 */
@Injectable()
export class RefusalListeners {
  private readonly listeners = new Set<RefusalListener>();

  listen(listener: RefusalListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(req: Request, error: GatewayError): void {
    for (const listener of this.listeners) listener(req, error);
  }
}
