// The ids of the messages a run sends: `p<producer>-<seq>`, the producer's index and the
// message's place in its sequence (spec/history.md). Runner, benchmark and checker read the two
// numbers back from the id, so they are written once here.

/** The id of producer `producer`'s message number `seq`. */
export function messageId(producer: number, seq: number): string {
  return `p${producer}-${seq}`;
}

const MESSAGE_ID = /^p(0|[1-9]\d*)-(0|[1-9]\d*)$/u;

/**
 * The producer and sequence of an id in the canonical spelling messageId() writes; undefined for
 * any other id (one that is not ours, or `p01-5`, which is not `p1-5`).
 */
export function parseMessageId(id: string): { readonly producer: number; readonly seq: number } | undefined {
  const match = MESSAGE_ID.exec(id);
  if (match === null) return undefined;
  return { producer: Number(match[1]), seq: Number(match[2]) };
}
