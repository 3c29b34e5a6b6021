// Why a run ended in error, in words a user can act on: which actor (producer 0, pipeline
// consumer 1) was doing which operation (opening transactional producer pipeline-1) when the
// adapter's error came. The adapter's error says what gave up and on which broker code; the
// runner knows what it had asked for. Both are kept on the error as it travels up.

import { DeadlineError } from '../../core/deadline.js';
import { errorText } from '../history/recorder.js';

const operationOf = new WeakMap<object, string>();
const actorOf = new WeakMap<object, string>();

/** Remembers the innermost operation an error came out of; other values pass unchanged. */
export function noteOperation(error: unknown, what: string): void {
  // A missed deadline already names its operation in its message.
  if (typeof error !== 'object' || error === null || error instanceof DeadlineError || operationOf.has(error)) return;
  operationOf.set(error, what);
}

/** Remembers the first actor an error ended, such as `producer 0`. */
export function noteActor(error: unknown, actor: string): void {
  if (typeof error !== 'object' || error === null || actorOf.has(error)) return;
  actorOf.set(error, actor);
}

/** `pipeline consumer 0: opening transactional producer pipeline-0: InitProducerId gave up after 5000 ms: NOT_COORDINATOR`. */
export function describeFailure(error: unknown): string {
  const message = errorText(error);
  if (typeof error !== 'object' || error === null) return message;
  const what = operationOf.get(error);
  const body = what === undefined ? message : `${what}: ${message}`;
  const actor = actorOf.get(error);
  return actor === undefined || body.startsWith(actor) ? body : `${actor}: ${body}`;
}
