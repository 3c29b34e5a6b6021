// Every broker operation gets a deadline in real time, so a hung broker ends a scenario as an
// error with the operation named, never as a hung run.

export class DeadlineError extends Error {
  constructor(readonly what: string, readonly timeoutMs: number) {
    super(`${what} did not finish within ${timeoutMs} ms`);
    this.name = 'DeadlineError';
  }
}

export function withDeadline<T>(operation: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(what, timeoutMs)), timeoutMs);
  });
  return Promise.race([operation, expired]).finally(() => clearTimeout(timer));
}
