import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MetricsService } from '../metrics/metrics.service.js';
import { requestIdOf } from '../common/request-id.middleware.js';
import { ShutdownService } from '../common/shutdown.service.js';
import { GatewayErrors } from '../common/errors/gateway-errors.js';

/** Probes and metrics keep answering while the gateway drains (`/ready` says 503 itself). */
const ALWAYS_SERVED = /^\/(?:live|ready|metrics)(?:[/?]|$)/;

/** While draining (health: the drain is the other half of `/ready` turning 503), every new call is refused at once with 503 and the connection is closed. */
@Injectable()
export class DrainMiddleware implements NestMiddleware {
  constructor(
    private readonly shutdown: ShutdownService,
    private readonly metrics: MetricsService,
  ) {}

  use(req: IncomingMessage, res: ServerResponse, next: () => void): void {
    if (!this.shutdown.draining) {
      next();
      return;
    }
    res.setHeader('connection', 'close');
    // Mounted middleware sees a relative `url`; `originalUrl` (Express) is the path as requested.
    if (ALWAYS_SERVED.test((req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '')) {
      next();
      return;
    }
    this.metrics.reject('unmatched', null, 'shutting_down');
    const { status, code, message, headers } = GatewayErrors.shuttingDown();
    const body = JSON.stringify({ code, message, status, request_id: requestIdOf(req) });
    res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
}
