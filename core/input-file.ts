// Reads a file the user named as input (a scenario, a benchmark workload, a cluster config) so
// that no input can hang or exhaust the tool: only regular files are opened (a FIFO would block
// the read forever, a device such as /dev/urandom never ends), at most MAX_INPUT_BYTES are read,
// and the bytes must be UTF-8 text. Each refusal is one error naming the file, and the line and
// column where there is one.

import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { LoadError } from './load-error.js';

/** The largest input file read: far above any real scenario (a few KB), far below harm. */
export const MAX_INPUT_BYTES = 1024 * 1024;

/** At most this many errors are listed per file; a binary file would otherwise give thousands. */
export const MAX_ERRORS_PER_FILE = 20;

/** The text, or an error; `code` is the system's error code when the file could not be read at all. */
export type InputText =
  | { readonly text: string; readonly error?: undefined; readonly code?: undefined }
  | { readonly error: LoadError; readonly code?: string };

function wholeFile(file: string, message: string): LoadError {
  return new LoadError({ file, line: 0, column: 0, field: '', message });
}

function codeOf(error: unknown): string {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.message : String(error);
}

/** What a file that is not a regular file is, in words. */
function kindOf(stats: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (stats.isDirectory()) return 'a folder';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Reads `file` as UTF-8 text. `noun` names what it should be ("scenario file"), for the errors.
 * The file is checked with stat before it is opened, and again on the open descriptor, so a
 * FIFO is never opened for a blocking read and a file swapped in between is still caught.
 */
export async function readInputFile(file: string, noun: string): Promise<InputText> {
  let size: number;
  try {
    const stats = await stat(file);
    if (!stats.isFile()) return { error: wholeFile(file, `is ${kindOf(stats)}, not a regular file; a ${noun} must be a regular file`) };
    size = stats.size;
  } catch (error) {
    const code = codeOf(error);
    return { error: wholeFile(file, code === 'ENOENT' ? 'no such file' : `cannot be read (${code})`), code };
  }
  if (size > MAX_INPUT_BYTES) return { error: tooLarge(file, noun) };
  let bytes: Buffer;
  try {
    // O_NONBLOCK: should the path have become a FIFO since the stat, opening it does not wait for a writer.
    const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) return { error: wholeFile(file, `is ${kindOf(stats)}, not a regular file; a ${noun} must be a regular file`) };
      // Room for the size stat gave and one byte more, grown should the file grow, to one byte
      // past the limit: that byte tells a file that grew too large from one that fits.
      const limit = MAX_INPUT_BYTES + 1;
      let buffer = Buffer.allocUnsafe(Math.min(stats.size + 1, limit));
      let length = 0;
      for (;;) {
        if (length === buffer.length) {
          if (buffer.length === limit) break;
          const grown = Buffer.allocUnsafe(Math.min(buffer.length * 2, limit));
          buffer.copy(grown, 0, 0, length);
          buffer = grown;
        }
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      if (length > MAX_INPUT_BYTES) return { error: tooLarge(file, noun) };
      bytes = buffer.subarray(0, length);
    } finally {
      await handle.close();
    }
  } catch (error) {
    return { error: wholeFile(file, `cannot be read (${codeOf(error)})`), code: codeOf(error) };
  }
  return decodeInput(bytes, file, noun);
}

function tooLarge(file: string, noun: string): LoadError {
  return wholeFile(file, `is larger than 1 MiB (${MAX_INPUT_BYTES} bytes), the most a ${noun} may hold`);
}

/** The bytes as text when they are UTF-8; otherwise an error at the first byte that is not. */
export function decodeInput(bytes: Buffer, file: string, noun: string): InputText {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff) || looksLikeUtf16(bytes)) {
    return { error: wholeFile(file, `is UTF-16 text; only UTF-8 is read, so save the ${noun} as UTF-8`) };
  }
  const nul = bytes.indexOf(0);
  const invalid = firstInvalidUtf8(bytes);
  const offset = nul >= 0 && (invalid < 0 || nul < invalid) ? nul : invalid;
  if (offset < 0) return { text: bytes.toString('utf8') };
  const what =
    offset === nul
      ? `holds a NUL byte; a ${noun} is UTF-8 text, not binary data`
      : `holds a byte 0x${(bytes[offset] ?? 0).toString(16).padStart(2, '0')} that is not UTF-8; only UTF-8 is read`;
  const { line, column } = positionOf(bytes, offset);
  return { error: new LoadError({ file, line, column, field: '', message: what }) };
}

/** UTF-16 without a byte order mark: ASCII text then has a zero in every other byte. */
function looksLikeUtf16(bytes: Buffer): boolean {
  const sample = bytes.subarray(0, Math.min(bytes.length, 64));
  if (sample.length < 4) return false;
  let evenZeros = 0;
  let oddZeros = 0;
  for (let i = 0; i < sample.length; i++) {
    if (sample[i] !== 0) continue;
    if (i % 2 === 0) evenZeros++;
    else oddZeros++;
  }
  const half = sample.length / 2;
  return (evenZeros >= half * 0.75 && oddZeros === 0) || (oddZeros >= half * 0.75 && evenZeros === 0);
}

/** The offset of the first byte that does not begin or continue a valid UTF-8 sequence, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i] as number;
    if (lead < 0x80) {
      i++;
      continue;
    }
    let length: number;
    let min: number;
    if (lead >= 0xc2 && lead <= 0xdf) [length, min] = [2, 0x80];
    else if (lead >= 0xe0 && lead <= 0xef) [length, min] = [3, 0x800];
    else if (lead >= 0xf0 && lead <= 0xf4) [length, min] = [4, 0x10000];
    else return i;
    let codePoint = lead & (0xff >> (length + 1));
    for (let k = 1; k < length; k++) {
      const next = bytes[i + k];
      if (next === undefined || (next & 0xc0) !== 0x80) return i;
      codePoint = (codePoint << 6) | (next & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8 either.
    if (codePoint < min || (codePoint >= 0xd800 && codePoint <= 0xdfff) || codePoint > 0x10ffff) return i;
    i += length;
  }
  return -1;
}

/** The 1-based line and column (in characters) of a byte offset whose line so far is valid UTF-8. */
function positionOf(bytes: Buffer, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: [...bytes.subarray(lineStart, offset).toString('utf8')].length + 1 };
}

/** The first MAX_ERRORS_PER_FILE errors of a file, then one line saying how many more there are. */
export function capErrors(errors: readonly LoadError[], file: string): LoadError[] {
  if (errors.length <= MAX_ERRORS_PER_FILE) return [...errors];
  const more = errors.length - MAX_ERRORS_PER_FILE;
  return [
    ...errors.slice(0, MAX_ERRORS_PER_FILE),
    wholeFile(file, `and ${more} more ${more === 1 ? 'error' : 'errors'} (only the first ${MAX_ERRORS_PER_FILE} of a file are listed)`),
  ];
}
