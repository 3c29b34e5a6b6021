// Hand-made mutants of the checker: each one a plausible bug, written as exact text replacements in
// the checker's sources, so that `scripts/checker-mutants` can ask whether the suites notice it.
// The checker's unit tests kill every one of them; the question here is whether the suites, run
// as they are on the reference broker, would too. A suite whose verdicts do not change when the
// checker is wrong tests the broker only as far as the checker is right.
//
// Each replacement must match its file exactly once (the tool refuses a mutant that does not), so a
// change to the checker that moves a snippet shows up as a stale mutant instead of a silent no-op.

import type { Anomaly } from '../../spec/vocabulary.js';

/** One exact text replacement in a source file of the package. */
export interface Replacement {
  /** Path of the TypeScript source, from the package root. */
  readonly file: string;
  readonly find: string;
  readonly replace: string;
}

/**
 * How a mutant can be noticed by the suites.
 * - `suite`: it makes some verdict stricter, so a scenario that passes with the real checker must
 *   fail with it, on the reference broker, at the scenario's own seed.
 * - `defect`: it only makes verdicts more permissive, so no scenario that passes can fail with it;
 *   it is noticed when a scenario that catches a reference defect (docs/sensitivity.md) no longer
 *   catches it.
 * - `none`: no scenario written with today's faults notices it, or none reliably, for the reason
 *   given in `why`; only the checker's unit tests do. Listed so that the limit is written down,
 *   and checked to stay true: the tool fails when such a mutant is killed after all.
 */
export type Detection = 'suite' | 'defect' | 'none';

export interface Mutant {
  /** Kebab-case, unique. */
  readonly name: string;
  /** The anomaly whose rule it breaks; `judging` for the comparison of counts with expectations. */
  readonly rule: Anomaly | 'judging';
  /** One sentence: the bug it models. */
  readonly bug: string;
  readonly detection: Detection;
  /**
   * What is meant to notice it, for the quick check: scenario files, and for `defect` mutants the
   * defect to switch on for them. Empty for `none`.
   */
  readonly killers: readonly string[];
  readonly defect?: string;
  /** Why no suite notices it; only for `none`. */
  readonly why?: string;
  readonly replacements: readonly Replacement[];
}

// The checker's sources: the rules and the judging, and the first pass that fills its tables.
const CHECKER = 'harness/conformance/checker.ts';
const TALLY = 'harness/conformance/tally.ts';

export const MUTANTS: readonly Mutant[] = [
  {
    name: 'lost-ignores-ack-none',
    rule: 'lost',
    bug: 'Counts a message as lost only when it was acknowledged, forgetting that under ack none the send itself is the promise.',
    detection: 'suite',
    killers: ['suites/producer-acks/ack-none-leader-crash-witnesses-loss.yaml'],
    replacements: [
      {
        file: CHECKER,
        find: 'const promised = ackNone ? sent && (flags & FAILED) === 0 : acknowledged;',
        replace: 'const promised = acknowledged;',
      },
    ],
  },
  {
    name: 'unprocessed-if-delivered-counts-as-processed',
    rule: 'unprocessed',
    bug: 'Takes a delivered message for processed, so a batch a consumer polled and never processed leaves nothing unprocessed.',
    detection: 'suite',
    killers: ['suites/consumer-commit/before-process-crash-after-commit-witnesses-unprocessed.yaml'],
    replacements: [
      {
        file: CHECKER,
        find: 'if (stored && !processed && unprocessed.occurs()) {',
        replace: 'if (stored && !processed && (flags & DELIVERED) === 0 && unprocessed.occurs()) {',
      },
    ],
  },
  {
    name: 'duplicated-ignores-processing',
    rule: 'duplicated',
    bug: 'Counts a duplicate only when the log stores a message twice, not when a consumer processes one copy twice.',
    detection: 'suite',
    killers: ['suites/consumer-commit/after-process-crash-after-process-witnesses-duplicates.yaml'],
    replacements: [
      {
        file: CHECKER,
        find: 'if ((flags & (STORED_AGAIN | PROCESSED_AGAIN)) !== 0 && duplicated.occurs()) {',
        replace: 'if ((flags & STORED_AGAIN) !== 0 && duplicated.occurs()) {',
      },
    ],
  },
  {
    name: 'duplicated-per-delivered-copy',
    rule: 'duplicated',
    bug: 'Counts every copy a consumer was handed, so a message delivered twice and processed once is a duplicate.',
    detection: 'suite',
    killers: ['suites/exactly-once/pipeline-survives-consumer-crash.yaml'],
    replacements: [
      {
        file: TALLY,
        find: 'this.flags[message] = (this.flags[message] ?? 0) | DELIVERED;',
        replace:
          'this.flags[message] = (this.flags[message] ?? 0) | DELIVERED | (((this.flags[message] ?? 0) & DELIVERED) !== 0 ? PROCESSED_AGAIN : 0);',
      },
    ],
  },
  {
    name: 'reordered-unless-acknowledged-first',
    rule: 'reordered',
    bug: 'Forgives a later send stored below an earlier one when the later send was acknowledged first, judging order by the acknowledgments the producer saw instead of by the sends it made.',
    detection: 'suite',
    killers: ['suites/controls/leader-crashes-with-sends-in-flight-reorder-a-key.yaml'],
    replacements: [
      {
        file: CHECKER,
        find: 'if (offset === earlierOffset || !reordered.occurs()) return;',
        replace:
          'if (offset === earlierOffset || (tally.ackAt[message] ?? 0) < (tally.ackAt[earlier] ?? 0) || !reordered.occurs()) return;',
      },
    ],
  },
  {
    name: 'reordered-across-producers',
    rule: 'reordered',
    bug: 'Groups sends by key alone, so two producers writing one key are compared with each other, and their interleaving counts as reordering.',
    detection: 'suite',
    killers: ['suites/controls/two-producers-one-key-keep-each-producers-order.yaml'],
    replacements: [
      {
        file: TALLY,
        find: 'const group = this.groupOf(producer, key, seq, message);',
        replace: 'const group = this.groupOf(0, key, seq, message);',
      },
    ],
  },
  {
    name: 'phantom-unless-acknowledged',
    rule: 'phantom',
    bug: 'Takes "sent" to mean acknowledged, so every stored message that no acknowledgment named is a phantom.',
    detection: 'suite',
    killers: ['suites/producer-acks/ack-none-leader-crash-witnesses-loss.yaml'],
    replacements: [
      {
        file: TALLY,
        find: 'if ((flags & SENT) === 0) this.unsentAppearances.set(message, { at, as });',
        replace: 'if ((flags & ACKNOWLEDGED) === 0) this.unsentAppearances.set(message, { at, as });',
      },
      {
        file: CHECKER,
        find: 'const appearance = sent ? undefined : tally.unsentAppearances.get(message);',
        replace: 'const appearance = acknowledged ? undefined : tally.unsentAppearances.get(message);',
      },
    ],
  },
  {
    name: 'aborted-read-forgiven-when-committed-later',
    rule: 'aborted-read',
    bug: 'Forgives the delivery of an aborted record when its message was committed later at another offset, judging the id instead of the place.',
    detection: 'suite',
    killers: ['suites/exactly-once/read-uncommitted-sees-aborted-transactions.yaml'],
    replacements: [
      {
        file: CHECKER,
        find: 'if ((flags & POLLED) !== 0 && abortedDrain !== undefined && abortedRead.occurs()) {',
        replace:
          'if ((flags & POLLED) !== 0 && abortedDrain !== undefined && ((tally.flags[abortedDrain.message] ?? 0) & STORED) === 0 && abortedRead.occurs()) {',
      },
    ],
  },
  {
    name: 'inconsistent-offset-left-to-lost',
    rule: 'inconsistent-offset',
    bug: 'Leaves a place to `lost` when the message first read there is not in the log any more, so a record that consumers read and the log then replaced is reported once, as a loss, and never as an inconsistent offset.',
    detection: 'suite',
    killers: ['suites/controls/single-replica-power-loss-replaces-read-records.yaml'],
    replacements: [
      {
        file: CHECKER,
        find: 'if (conflict !== undefined && inconsistentOffset.occurs()) {',
        replace: 'if (conflict !== undefined && ((tally.flags[firstRead.message] ?? 0) & STORED) !== 0 && inconsistentOffset.occurs()) {',
      },
    ],
  },
  {
    name: 'judging-witnessed-accepts-zero',
    rule: 'judging',
    bug: 'Lets `witnessed` hold with a count of 0, so a negative control that saw nothing passes.',
    detection: 'defect',
    killers: ['suites/controls/commit-then-crash-leaves-messages-unprocessed.yaml'],
    defect: 'duplicate-fetch',
    replacements: [{ file: CHECKER, find: 'return count > 0;', replace: 'return count >= 0;' }],
  },
  {
    name: 'judging-none-accepts-one',
    rule: 'judging',
    bug: 'Lets `none` hold with a count of 1, an off-by-one that forgives a single occurrence.',
    detection: 'defect',
    killers: ['suites/producer-acks/ack-all-min-insync-1-power-loss-witnesses-loss.yaml'],
    defect: 'phantom-on-recovery',
    replacements: [{ file: CHECKER, find: 'return count === 0;', replace: 'return count <= 1;' }],
  },
  {
    name: 'duplicated-ignores-storage',
    rule: 'duplicated',
    bug: 'Counts a duplicate only when a consumer processed a message twice, not when the log stores it twice.',
    detection: 'none',
    killers: [],
    why:
      'A run that completes processes every stored copy, so a message stored twice is also processed twice; only a history in which consumers skipped one copy, which no fault can aim at, tells the two rules apart.',
    replacements: [
      {
        file: CHECKER,
        find: 'if ((flags & (STORED_AGAIN | PROCESSED_AGAIN)) !== 0 && duplicated.occurs()) {',
        replace: 'if ((flags & PROCESSED_AGAIN) !== 0 && duplicated.occurs()) {',
      },
    ],
  },
  {
    name: 'phantom-never-from-deliveries',
    rule: 'phantom',
    bug: 'Looks for phantoms only among stored and processed messages, never among delivered ones.',
    detection: 'none',
    killers: [],
    why:
      'The runner writes every send before making it, so on a broker without defects no message is ever a phantom, and a checker that misses some phantoms cannot be told from one that finds them all.',
    replacements: [
      {
        file: TALLY,
        find: "this.appear(message, at, 'delivered');",
        replace: '// A delivery is not an appearance.',
      },
    ],
  },
  {
    name: 'duplicated-counted-per-copy',
    rule: 'duplicated',
    bug: 'Counts a duplicated message once per extra copy instead of once per id.',
    detection: 'none',
    killers: [],
    why: 'It changes counts, never whether a count is 0, and every expectation a scenario can state is about whether it is 0.',
    replacements: [
      {
        file: CHECKER,
        find: 'if ((flags & (STORED_AGAIN | PROCESSED_AGAIN)) !== 0 && duplicated.occurs()) {',
        replace:
          'if ((flags & (STORED_AGAIN | PROCESSED_AGAIN)) !== 0 && [...(tally.moreStoredAt.get(message) ?? []), ...(tally.moreProcessedAt.get(message) ?? [])].map(() => duplicated.occurs()).every(Boolean)) {',
      },
    ],
  },
  {
    name: 'reordered-ignores-neighbours',
    rule: 'reordered',
    bug: 'Treats a later send stored directly below an earlier one (one offset apart) as in order, an off-by-one that misses the swap of two neighbours.',
    detection: 'none',
    killers: [],
    why:
      'On connections that keep order, a send is overtaken only while it waits to be sent again after a failure, and the sends made meanwhile land between the two, so the overtaken send ends up more than one offset away; only a failure of the last two sends of a key leaves neighbours, and no fault can aim at that moment.',
    replacements: [
      {
        file: CHECKER,
        find: 'if (offset === earlierOffset || !reordered.occurs()) return;',
        replace: 'if (offset >= earlierOffset - 1 || !reordered.occurs()) return;',
      },
    ],
  },
  {
    name: 'lost-unless-delivered',
    rule: 'lost',
    bug: 'Takes a message some consumer received for kept, so an acknowledged message that was read and then vanished from the log is not lost.',
    detection: 'none',
    killers: [],
    why:
      'Every fault that loses acknowledged writes also loses some that no consumer had read yet (the last ones before it), and faults fire only while producers still send, so a loss made only of messages already read cannot be arranged.',
    replacements: [
      {
        file: CHECKER,
        find: 'if (promised && !stored && lost.occurs()) {',
        replace: 'if (promised && !stored && (flags & DELIVERED) === 0 && lost.occurs()) {',
      },
    ],
  },
  {
    name: 'inconsistent-offset-trusts-the-drain',
    rule: 'inconsistent-offset',
    bug: 'Never lets the final drain contradict an earlier read, so only consumers\' reads of a place are compared with each other.',
    detection: 'none',
    killers: [],
    why:
      'A consumer whose position passed the log end after records were lost resets to the new end and reads the records that replace them, so every replaced record that the drain contradicts is contradicted by a poll as well.',
    replacements: [
      {
        file: TALLY,
        find: 'if ((placeFlags & CONFLICTING) === 0 && this.firstReadMessage[place] !== message) {',
        replace: 'if ((placeFlags & CONFLICTING) === 0 && kind !== BY_DRAIN && this.firstReadMessage[place] !== message) {',
      },
    ],
  },
];
