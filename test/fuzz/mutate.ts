// Seeded mutations of valid input files (scenarios, benchmark workloads, cluster configs): the
// kinds of damage a user, an editor or a file system can do to them. Each mutant says which
// mutations made it, so a finding can be reproduced and read.

import { Random } from '../../core/random.js';

export interface Mutant {
  readonly bytes: Buffer;
  /** The mutations applied, in order, such as `delete-line 4`. */
  readonly mutations: readonly string[];
}

/** Values of every type and size a field could wrongly hold. */
const ODD_VALUES: readonly string[] = [
  '-1',
  '0',
  '-0',
  '1.5',
  '1e309',
  '-1e309',
  '99999999999999999999999',
  '9007199254740993',
  '2147483648',
  '0x7fffffff',
  '0o17',
  '1_000',
  '.nan',
  '.inf',
  '-.inf',
  'null',
  '~',
  '',
  'true',
  'false',
  'yes',
  '"a string"',
  "'single'",
  '[]',
  '{}',
  '[1, 2, 3]',
  '{ a: 1 }',
  '!!binary aGVsbG8gd29ybGQ=',
  '!!set { a, b }',
  '!!timestamp 2001-12-14t21:59:43.10-05:00',
  '!!omap [ a: 1 ]',
  '!custom value',
  '!!str 12',
  '!!int "12"',
  '!!float x',
  '*nowhere',
  '&anchor value',
  '"\\e[2J\\e[31m"',
  '"\\u0000"',
  '"\\u009b31m"',
  '|\n  block\n  text',
  '>-\n  folded',
  '"unterminated',
  "'unterminated",
  '[unclosed',
  '{unclosed',
  '- a\n- b',
  '? [a]\n: b',
];

const CONTROL_CHARACTERS: readonly string[] = ['\u0000', '\u0001', '\u0007', '\u0008', '\u000b', '\u000c', '\r', '\u001b[2J', '\u001b]0;title\u0007', '\u007f', '\u009b', '\u0085', '\u2028'];

type Mutation = (text: string, random: Random) => { text: string; label: string } | { bytes: Buffer; label: string };

function lines(text: string): string[] {
  return text.split('\n');
}

/** Lines of the form `  key: value`, with their indexes. */
function valueLines(text: string): { index: number; prefix: string; value: string }[] {
  const found: { index: number; prefix: string; value: string }[] = [];
  lines(text).forEach((line, index) => {
    const match = /^(\s*(?:- )?[\w.-]+:\s)(.+)$/u.exec(line);
    if (match !== null) found.push({ index, prefix: match[1] as string, value: match[2] as string });
  });
  return found;
}

function replaceLine(text: string, index: number, line: string): string {
  const all = lines(text);
  all[index] = line;
  return all.join('\n');
}

function insertAt(text: string, position: number, piece: string): string {
  return `${text.slice(0, position)}${piece}${text.slice(position)}`;
}

function randomBytes(random: Random, length: number): Buffer {
  return Buffer.from(Array.from({ length }, () => random.int(0, 255)));
}

/** Somewhere a value is: a line's value, or a spot in a flow mapping; the text unchanged when there is none. */
function withValue(text: string, random: Random, make: (old: string) => string, label: string): { text: string; label: string } {
  const candidates = valueLines(text);
  if (candidates.length === 0) return { text, label: `${label} (no value)` };
  const target = random.pick(candidates);
  return { text: replaceLine(text, target.index, `${target.prefix}${make(target.value)}`), label: `${label} line ${target.index + 1}` };
}

const MUTATIONS: Readonly<Record<string, Mutation>> = {
  'delete-line': (text, random) => {
    const all = lines(text);
    const index = random.int(0, all.length - 1);
    all.splice(index, 1);
    return { text: all.join('\n'), label: `delete-line ${index + 1}` };
  },
  'duplicate-line': (text, random) => {
    const all = lines(text);
    const index = random.int(0, all.length - 1);
    all.splice(index, 0, all[index] ?? '');
    return { text: all.join('\n'), label: `duplicate-line ${index + 1}` };
  },
  'swap-lines': (text, random) => {
    const all = lines(text);
    const a = random.int(0, all.length - 1);
    const b = random.int(0, all.length - 1);
    [all[a], all[b]] = [all[b] ?? '', all[a] ?? ''];
    return { text: all.join('\n'), label: `swap-lines ${a + 1} ${b + 1}` };
  },
  'odd-value': (text, random) => {
    const value = random.pick(ODD_VALUES);
    return withValue(text, random, () => value, `odd-value ${JSON.stringify(value)}`);
  },
  'swap-values': (text, random) => {
    const candidates = valueLines(text);
    if (candidates.length < 2) return { text, label: 'swap-values (too few)' };
    const a = random.pick(candidates);
    const b = random.pick(candidates);
    let result = replaceLine(text, a.index, `${a.prefix}${b.value}`);
    result = replaceLine(result, b.index, `${b.prefix}${a.value}`);
    return { text: result, label: `swap-values lines ${a.index + 1} ${b.index + 1}` };
  },
  'huge-number': (text, random) => {
    const exponent = random.int(9, 400);
    const value = random.chance(0.5) ? `1e${exponent}` : `${random.chance(0.3) ? '-' : ''}${'9'.repeat(Math.min(exponent, 80))}`;
    return withValue(text, random, () => value, `huge-number ${value.slice(0, 20)}`);
  },
  'deep-nesting': (text, random) => {
    const depth = random.pick([20, 33, 100, 1000, 5000]);
    const flow = random.chance(0.5);
    const value = flow ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{a: '.repeat(depth)}1${'}'.repeat(depth)}`;
    return withValue(text, random, () => value, `deep-nesting ${flow ? 'lists' : 'mappings'} ${depth}`);
  },
  'deep-block-nesting': (text, random) => {
    const depth = random.pick([40, 300]);
    const block = Array.from({ length: depth }, (_, level) => `${' '.repeat(level + 1)}k${level}:`).join('\n');
    return { text: `${text}\nnested:\n${block} 1\n`, label: `deep-block-nesting ${depth}` };
  },
  'random-bytes': (text, random) => {
    const bytes = Buffer.from(text, 'utf8');
    const position = random.int(0, bytes.length);
    const inserted = randomBytes(random, random.int(1, 32));
    return { bytes: Buffer.concat([bytes.subarray(0, position), inserted, bytes.subarray(position)]), label: `random-bytes ${inserted.length} at ${position}` };
  },
  'all-random': (_text, random) => {
    const length = random.int(1, 4000);
    return { bytes: randomBytes(random, length), label: `all-random ${length}` };
  },
  'control-character': (text, random) => {
    const piece = random.pick(CONTROL_CHARACTERS);
    const target = random.pick(valueLines(text).length > 0 ? valueLines(text) : [{ index: 0, prefix: '', value: '' }]);
    const inKey = random.chance(0.5);
    const line = inKey ? `${piece}${target.prefix}${target.value}` : `${target.prefix}${target.value}${piece}`;
    return { text: replaceLine(text, target.index, line), label: `control-character ${JSON.stringify(piece)} in ${inKey ? 'key' : 'value'} line ${target.index + 1}` };
  },
  'quoted-control-key': (text) => ({ text: `${text}\n"\\e[2J\\e[31mkey": 1\n`, label: 'quoted-control-key' }),
  'bom': (text, random) => {
    const middle = random.chance(0.3);
    return middle
      ? { text: insertAt(text, random.int(0, text.length), '\ufeff'), label: 'bom in the middle' }
      : { text: `\ufeff${text}`, label: 'bom' };
  },
  'utf16': (text, random) => {
    const bigEndian = random.chance(0.5);
    const withBom = random.chance(0.5);
    const le = Buffer.from(`${withBom ? '\ufeff' : ''}${text}`, 'utf16le');
    return { bytes: bigEndian ? Buffer.from(le).swap16() : le, label: `utf16${bigEndian ? 'be' : 'le'}${withBom ? ' with bom' : ''}` };
  },
  'invalid-utf8': (text, random) => {
    const bytes = Buffer.from(text, 'utf8');
    const bad = random.pick([[0xc0, 0xaf], [0xff], [0x80], [0xed, 0xa0, 0x80], [0xe9], [0xf4, 0x90, 0x80, 0x80]]);
    const position = random.int(0, bytes.length);
    return { bytes: Buffer.concat([bytes.subarray(0, position), Buffer.from(bad), bytes.subarray(position)]), label: `invalid-utf8 at ${position}` };
  },
  'tabs': (text, random) =>
    random.chance(0.5)
      ? { text: text.replace(/^( +)/gmu, (spaces) => '\t'.repeat(Math.ceil(spaces.length / 2))), label: 'tabs for indentation' }
      : { text: insertAt(text, random.int(0, text.length), '\t'), label: 'tab' },
  'anchor-alias': (text, random) => {
    const candidates = valueLines(text);
    if (candidates.length < 2) return { text, label: 'anchor-alias (too few)' };
    const a = random.pick(candidates);
    const b = random.pick(candidates);
    let result = replaceLine(text, a.index, `${a.prefix}&x ${a.value}`);
    result = replaceLine(result, b.index, `${b.prefix}*x`);
    return { text: result, label: `anchor-alias ${a.index + 1} -> ${b.index + 1}` };
  },
  'alias-bomb': (text) => {
    const rows = ['a0: &a0 [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++) rows.push(`a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(', ')}]`);
    return { text: `${text}\n${rows.join('\n')}\n`, label: 'alias-bomb' };
  },
  'tag': (text, random) => {
    const tag = random.pick(['!!binary', '!!set', '!!omap', '!!pairs', '!!timestamp', '!local', '!<tag:example.com,2000:x>', '!!map', '!!seq', '!!str']);
    return withValue(text, random, (old) => `${tag} ${old}`, `tag ${tag}`);
  },
  'collection-key': (text, random) => {
    const key = random.pick(['[a, b]', '{a: 1}', '*missing', '']);
    return { text: `${text}\n? ${key}\n: 1\n`, label: `collection-key ${key}` };
  },
  'truncate': (text, random) => {
    const at = random.int(0, text.length);
    return { text: text.slice(0, at), label: `truncate at ${at}` };
  },
  'documents': (text) => ({ text: `${text}\n---\n${text}`, label: 'two documents' }),
  'crlf': (text) => ({ text: text.replace(/\n/gu, '\r\n'), label: 'crlf' }),
  'long-value': (text, random) => {
    const value = 'x'.repeat(random.pick([201, 5000, 100_000]));
    return withValue(text, random, () => value, `long-value ${value.length}`);
  },
  'too-large': (text) => ({ text: `${text}\n#${'p'.repeat(1024 * 1024)}\n`, label: 'too-large' }),
  'empty': () => ({ text: '', label: 'empty' }),
  'top-level-scalar': (_text, random) => {
    const value = random.pick(ODD_VALUES);
    return { text: value, label: `top-level ${JSON.stringify(value)}` };
  },
};

/** How often each mutation is drawn; the rare ones are slow or repeat one behaviour. */
const WEIGHTS: Readonly<Record<string, number>> = { 'too-large': 0.2, 'empty': 0.3, 'all-random': 0.5, 'alias-bomb': 0.3, 'deep-block-nesting': 0.5 };

const NAMES = Object.keys(MUTATIONS);
const TOTAL_WEIGHT = NAMES.reduce((sum, name) => sum + (WEIGHTS[name] ?? 1), 0);

function pickMutation(random: Random): string {
  let left = random.next() * TOTAL_WEIGHT;
  for (const name of NAMES) {
    left -= WEIGHTS[name] ?? 1;
    if (left < 0) return name;
  }
  return NAMES[NAMES.length - 1] as string;
}

/** One to three mutations of `base`; text mutations after a byte mutation act on its UTF-8 reading. */
export function mutate(base: string, random: Random): Mutant {
  const count = random.int(1, 3);
  let bytes: Buffer = Buffer.from(base, 'utf8');
  const mutations: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = pickMutation(random);
    const applied = (MUTATIONS[name] as Mutation)(bytes.toString('utf8'), random);
    bytes = 'bytes' in applied ? applied.bytes : Buffer.from(applied.text, 'utf8');
    mutations.push(applied.label);
    // A file already past recognition gains nothing from more mutations.
    if ('bytes' in applied) break;
  }
  return { bytes, mutations };
}

/** A file name that is sometimes awkward itself: spaces, a leading dash, control characters. */
export function mutantFileName(random: Random, index: number, extension: string): string {
  const stem = random.pick(['mutant', 'mutant with spaces', '-dash', 'clear\u001b[2J', 'bell\u0007', 'tab\tname', 'é-unicode']);
  return `${stem}-${index}${extension}`;
}
