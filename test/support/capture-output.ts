/**
 * Captures everything the process writes to stdout and stderr (Nest's logger writes there) so
 * tests can assert what never appears in a log line. Output still reaches the terminal when
 * TEST_ECHO_LOGS=1.
 */
export interface CapturedOutput {
  text(): string;
  lines(): string[];
  restore(): void;
}

export function captureOutput(): CapturedOutput {
  const chunks: string[] = [];
  const originals = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
  const echo = process.env.TEST_ECHO_LOGS === '1';
  const hook = (original: typeof process.stdout.write) =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return echo ? (original as (...a: unknown[]) => boolean)(chunk, ...rest) : true;
    }) as typeof process.stdout.write;
  process.stdout.write = hook(originals.out);
  process.stderr.write = hook(originals.err);
  return {
    text: () => chunks.join(''),
    lines: () => chunks.join('').split('\n').filter(Boolean),
    restore: () => {
      process.stdout.write = originals.out;
      process.stderr.write = originals.err;
    },
  };
}
