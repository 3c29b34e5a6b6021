// What the checker says about each anomaly it finds: the count, the first MAX_WITNESSES witnesses,
// and each witness's ids, places, lines and sentence. Kept apart from the derivations in
// checker.ts so that the checker and the plain reference implementation its tests compare it with
// (test/unit/checker-reference.ts) word every witness the same way, and a difference between them
// can only be a difference in what they found.

import type { AckEvent } from '../../spec/history.js';
import { MAX_WITNESSES, type Witness } from '../../spec/result.js';

/** What the checker found for one anomaly: the exact count and up to MAX_WITNESSES witnesses. */
export interface AnomalyFinding {
  count: number;
  witnesses: Witness[];
}

/** A place in the log together with the history line that showed it. */
export interface PlacedLine {
  readonly partition: number;
  readonly offset: number;
  readonly line: number;
}

/** How a message first showed itself, for the witness of a phantom. */
export type Appearance = 'delivered' | 'stored' | 'processed';

/** The kind of event that read a place of the log. */
export type ReadKind = 'poll' | 'process' | 'drain';

/** One read of a place: the id it returned and the line that returned it. */
export interface ReadLine {
  readonly id: string;
  readonly line: number;
}

/** Counts every occurrence but keeps only the first MAX_WITNESSES witnesses. */
export class FindingBuilder {
  count = 0;
  readonly witnesses: Witness[] = [];

  /**
   * Counts one occurrence and says whether its witness is still wanted: a caller builds the
   * witness only then, so a huge count costs no more than its count.
   */
  occurs(): boolean {
    this.count += 1;
    return this.witnesses.length < MAX_WITNESSES;
  }

  keep(witness: Witness): void {
    this.witnesses.push(witness);
  }

  finish(): AnomalyFinding {
    return { count: this.count, witnesses: this.witnesses };
  }
}

interface WitnessParts {
  readonly ids: readonly string[];
  readonly lines: readonly (number | undefined)[];
  readonly note: string;
  readonly places?: readonly { readonly partition: number; readonly offset: number }[];
}

/**
 * Builds a witness with its lines ascending and unique. `partition` is set when all places share
 * one partition; otherwise the note names each place, since one field cannot.
 */
function witness(parts: WitnessParts): Witness {
  const lines = [...new Set(parts.lines.filter((line): line is number => line !== undefined))].sort(
    (a, b) => a - b,
  );
  const result: { -readonly [K in keyof Witness]: Witness[K] } = { ids: parts.ids, lines, note: parts.note };
  if (parts.places !== undefined && parts.places.length > 0) {
    const partitions = new Set(parts.places.map((place) => place.partition));
    const [only] = partitions;
    if (partitions.size === 1 && only !== undefined) result.partition = only;
    result.offsets = parts.places.map((place) => place.offset);
  }
  return result;
}

function describePlaces(places: readonly PlacedLine[]): string {
  return places.map((place) => `partition ${place.partition} offset ${place.offset}`).join(', ');
}

/** Lost under ack mode none: sent without an error, and the final drain did not find it. */
export function lostUnacknowledgedWitness(id: string, sendLine: number | undefined): Witness {
  return witness({
    ids: [id],
    lines: [sendLine],
    note:
      `${id} was sent under ack mode none, where the send is the only promise, ` +
      'and the final drain did not find it.',
  });
}

/** Lost: acknowledged by `ack` (its first acknowledgment), and the final drain did not find it. */
export function lostWitness(id: string, sendLine: number | undefined, ack: AckEvent): Witness {
  return witness({
    ids: [id],
    lines: [sendLine, ack.i],
    places: [ack],
    note:
      `${id} was acknowledged at partition ${ack.partition} offset ${ack.offset} ` +
      'and the final drain did not find it.',
  });
}

/** Unprocessed: stored at these places and never processed. */
export function unprocessedWitness(id: string, stored: readonly PlacedLine[]): Witness {
  return witness({
    ids: [id],
    lines: stored.map((place) => place.line),
    places: stored,
    note: `${id} is stored at ${describePlaces(stored)} and no consumer processed it.`,
  });
}

/** Duplicated: stored at more than one place, processed more than once, or both. */
export function duplicatedWitness(id: string, stored: readonly PlacedLine[], processed: readonly PlacedLine[]): Witness {
  const storedTwice = stored.length > 1;
  const processedTwice = processed.length > 1;
  const storedPart = `stored at ${stored.length} places (${describePlaces(stored)})`;
  const processedPart = `processed ${processed.length} times`;
  const note =
    storedTwice && processedTwice
      ? `${id} is both ${storedPart} and ${processedPart}.`
      : storedTwice
        ? `${id} is ${storedPart}.`
        : `${id} was ${processedPart} (${describePlaces(processed)}).`;
  return witness({
    ids: [id],
    lines: [
      ...(storedTwice ? stored.map((place) => place.line) : []),
      ...(processedTwice ? processed.map((place) => place.line) : []),
    ],
    places: storedTwice ? stored : processed,
    note,
  });
}

/** Phantom: first seen at `line` as `as`, never sent. */
export function phantomWitness(id: string, line: number, as: Appearance): Witness {
  return witness({
    ids: [id],
    lines: [line],
    note: `${id} was ${as} at line ${line} but no producer ever sent it.`,
  });
}

/** One acknowledged send of a producer's key, for the witness of a reordering. */
export interface OrderedSend {
  readonly id: string;
  readonly seq: number;
  readonly sendLine: number;
  readonly ackLine: number;
  /** The lowest place where the drain found it. */
  readonly place: PlacedLine;
}

/** Reordered: `later` was sent after `earlier` with the same producer and key, yet sits below it. */
export function reorderedWitness(producer: number, key: string, earlier: OrderedSend, later: OrderedSend): Witness {
  return witness({
    ids: [earlier.id, later.id],
    lines: [earlier.sendLine, earlier.ackLine, earlier.place.line, later.sendLine, later.ackLine, later.place.line],
    places: [earlier.place, later.place],
    note:
      `Producer ${producer} sent ${earlier.id} (seq ${earlier.seq}) before ${later.id} (seq ${later.seq}) ` +
      `with key ${JSON.stringify(key)}, both were acknowledged, yet ${later.id} is stored at offset ` +
      `${later.place.offset}, below ${earlier.id}'s offset ${earlier.place.offset} in partition ${later.place.partition}.`,
  });
}

/** Aborted read: the first poll of a place that the drain shows holds an aborted transaction's record. */
export function abortedReadWitness(partition: number, offset: number, poll: ReadLine, abortedDrain: ReadLine): Witness {
  return witness({
    ids: poll.id === abortedDrain.id ? [poll.id] : [poll.id, abortedDrain.id],
    lines: [poll.line, abortedDrain.line],
    places: [{ partition, offset }],
    note:
      `A poll delivered ${poll.id} at partition ${partition} offset ${offset}, ` +
      'which the final drain shows belongs to an aborted transaction.',
  });
}

/** Inconsistent offset: the first read of a place and the first read that returned another id. */
export function inconsistentOffsetWitness(
  partition: number,
  offset: number,
  first: ReadLine & { readonly kind: ReadKind },
  conflict: ReadLine & { readonly kind: ReadKind },
): Witness {
  return witness({
    ids: [first.id, conflict.id],
    lines: [first.line, conflict.line],
    places: [{ partition, offset }],
    note:
      `Partition ${partition} offset ${offset} was read as ${first.id} by a ${first.kind} ` +
      `and as ${conflict.id} by a ${conflict.kind}.`,
  });
}
