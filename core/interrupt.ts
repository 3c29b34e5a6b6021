// Interruption: what SIGINT (Ctrl-C) and SIGTERM do to a command that runs scenarios. The first
// signal asks the work to stop: the runner stops injecting faults, closes its clients, writes the
// history's end line and returns the scenario as `interrupted`; the command then reports what
// finished, stops what its adapter started and exits 130. A second signal exits at once; what a
// broker adapter started still ends, by its exit handler and its watchdog (the Kafka cluster).

/** The exit code of a command stopped by a signal, as shells report SIGINT: 128 + 2. */
export const INTERRUPTED_EXIT_CODE = 130;

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/** The error the runner's operations reject with once the run is interrupted. */
export class InterruptedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InterruptedError';
  }
}

/** The reason an abort signal carries, as one sentence. */
export function interruptionReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return typeof reason === 'string' ? reason : 'interrupted';
}

export interface InterruptWatch {
  readonly signal: AbortSignal;
  /** Removes the signal handlers: the process's default action comes back. */
  dispose(): void;
}

/**
 * Installs the handlers of SIGINT and SIGTERM for one command. `say` prints the one line that
 * tells the user what happens now; `exitNow` ends the process on the second signal.
 */
export function watchInterrupts(say: (line: string) => void, exitNow: (code: number) => void): InterruptWatch {
  const controller = new AbortController();
  const onSignal = (received: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      say(`deliverycheck: ${received} again: exiting at once`);
      exitNow(INTERRUPTED_EXIT_CODE);
      return;
    }
    say(`deliverycheck: ${received}: stopping after closing clients and writing what finished (again to exit at once)`);
    controller.abort(`interrupted by ${received}`);
  };
  for (const name of SIGNALS) process.on(name, onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const name of SIGNALS) process.off(name, onSignal);
    },
  };
}
