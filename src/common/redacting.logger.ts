import { ConsoleLogger, type ConsoleLoggerOptions } from '@nestjs/common';
import { redact } from './redact.js';

/**
 * Nest's console logger with every message and context passed through the masking helper
 * first, so that no log line can carry a key, whatever a caller of the logger hands it.
 */
export class RedactingLogger extends ConsoleLogger {
  constructor(context: string, options: ConsoleLoggerOptions) {
    super(context, options);
  }

  protected override printMessages(...args: Parameters<ConsoleLogger['printMessages']>): void {
    const [messages, context, logLevel, stream, errorStack, params] = args;
    super.printMessages(
      messages.map((m) => redact(m)),
      context,
      logLevel,
      stream,
      errorStack === undefined ? undefined : redact(errorStack),
      params && redact(params),
    );
  }

  protected override printStackTrace(stack: string): void {
    super.printStackTrace(redact(stack));
  }
}
