// What every actor of a run shares, in the conformance runner (harness/conformance/runner.ts) and in the
// benchmark driver (bench/driver.ts) alike: the open session, the history, the deadline of each
// adapter call, the first fatal error, the clients to close at the end, and the hooks through
// which the runner and the driver each add what they alone do (fault triggers and crashes; timing).
//
// Actors are plain async loops over the adapter contract, the same for every adapter; on the
// reference broker their awaits are settled by the simulation, which is why the same seed gives
// the same history.

import type {
  BenchProducerOptions,
  Consumer,
  ConsumerOptions,
  DeliveredRecord,
  Producer,
  Session,
  TransactionalProducerOptions,
} from '../../adapters/contract.js';
import type { CommitMode, CrashPoint } from '../../spec/vocabulary.js';
import { DeadlineError, withDeadline } from '../../core/deadline.js';
import { noteActor, noteOperation } from './failure.js';
import type { HistoryRecorder } from '../history/recorder.js';
import { InterruptedError } from '../../core/interrupt.js';

/** Errors that end the whole run rather than one operation: a missed deadline, an interruption. */
export function isFatal(error: unknown): boolean {
  return error instanceof DeadlineError || error instanceof InterruptedError;
}

/** How the actors of one run open their clients and poll. */
export interface ActorSettings {
  readonly group: string;
  readonly commit: CommitMode;
  /** Deadline of each adapter call, in real milliseconds. */
  readonly operationTimeoutMs: number;
  readonly pollTimeoutMs: number;
  readonly consumer: (index: number) => ConsumerOptions;
  /** The transactional producer of pipeline `index`, writing the output topic. */
  readonly pipelineProducer: (index: number) => TransactionalProducerOptions;
  /** The benchmark extras to ask for where the session has them (adapters/contract.ts); absent in a conformance run. */
  readonly benchExtras?: BenchProducerOptions;
}

/**
 * What the runner or the driver adds to the shared loops. Every hook is called right after the
 * history line it is about was recorded; none may await, so a hook never moves an actor.
 */
export interface ActorHooks {
  /** Whether consumer `index` must crash at this point, because a fault waits for it there. */
  readonly crashAt?: (index: number, point: CrashPoint) => boolean;
  /** A batch's process lines were recorded. */
  readonly processed?: (index: number, records: readonly DeliveredRecord[]) => void;
  /**
   * An acknowledgment went through (on a pipeline: the transaction holding it committed); it
   * began at `startMs` on the session's clock.
   */
  readonly acknowledged?: (index: number, startMs: number, records: readonly DeliveredRecord[]) => void;
  /** An acknowledgment (or a pipeline's transaction) failed; its commit-error line was recorded. */
  readonly ackFailed?: (index: number) => void;
}

export class ActorContext {
  private sessionOpen: Session | undefined;
  /** The first fatal error of any actor; once set, every actor unwinds. */
  aborted: unknown;
  /** Set when consumers are to leave: at the drain, or when the run ends early. */
  stopConsumers = false;
  private readonly openClients = new Set<Producer | Consumer>();
  /** Each consumer's current client and whether it has polled once, for the group's readiness. */
  readonly members: (Consumer | undefined)[] = [];
  readonly polledOnce: boolean[] = [];
  /** Sequence numbers of the output messages of every pipeline of the run. */
  outputSeq = 0;

  constructor(
    readonly recorder: HistoryRecorder,
    readonly settings: ActorSettings,
    readonly hooks: ActorHooks = {},
  ) {}

  /** Rejects when the run is interrupted; undefined when nothing can interrupt it. */
  interruption: Promise<never> | undefined;

  get session(): Session {
    if (this.sessionOpen === undefined) throw new Error('no session is open');
    return this.sessionOpen;
  }

  set session(session: Session) {
    this.sessionOpen = session;
  }

  get hasSession(): boolean {
    return this.sessionOpen !== undefined;
  }

  /** Whether consumers go on polling. */
  get consuming(): boolean {
    return !this.stopConsumers && this.aborted === undefined;
  }

  /**
   * Runs an adapter operation under its deadline; once the run is interrupted, it gives up at
   * once, so that nothing waits for a broker after Ctrl-C.
   */
  op<T>(operation: Promise<T>, what: string, timeoutMs = this.settings.operationTimeoutMs): Promise<T> {
    const bounded = withDeadline(operation, timeoutMs, what);
    const raced = this.interruption === undefined ? bounded : Promise.race([bounded, this.interruption]);
    return raced.catch((error: unknown) => {
      // Should the error end the run, its reason names the operation (harness/actors/failure.ts).
      noteOperation(error, what);
      throw error;
    });
  }

  /** A fatal error in an actor (such as a missed deadline) ends the whole run as an error. */
  abort(error: unknown, actor: string): void {
    noteActor(error, actor);
    this.aborted ??= error;
  }

  /** Waits for a promise, but gives up as soon as any actor hit a fatal error. */
  async untilAborted<T>(promise: Promise<T>): Promise<T> {
    const value = await promise;
    if (this.aborted !== undefined) throw this.aborted;
    return value;
  }

  /** Remembers a client to close when the run ends. */
  track<T extends Producer | Consumer>(client: T): T {
    this.openClients.add(client);
    return client;
  }

  /** Forgets a client closed or crashed by its actor. */
  untrack(client: Producer | Consumer): void {
    this.openClients.delete(client);
  }

  /** Closes or crashes a client and forgets it; a failure to close is not the run's failure. */
  async drop(client: Producer | Consumer, how: 'close' | 'crash'): Promise<void> {
    this.openClients.delete(client);
    await this.op(how === 'close' ? client.close() : client.crash(), `${how === 'close' ? 'closing' : 'crashing'} a client`).catch(
      (error: unknown) => {
        if (isFatal(error)) throw error;
      },
    );
  }

  /**
   * Closes every client still open, whatever state the run ended in. Not op(): closing must go on
   * after an interruption, under its deadline only.
   */
  async closeClients(): Promise<void> {
    this.stopConsumers = true;
    for (const client of this.openClients) {
      await withDeadline(client.close(), this.settings.operationTimeoutMs, 'closing a client').catch(() => undefined);
    }
    this.openClients.clear();
  }
}
