// The error a user sees for bad input: one line that names the file, the place in it and the
// field, so an editor or a CI log can jump straight to the mistake (DESIGN.md, "Principles").

import { oneLine } from './one-line.js';

export interface LoadErrorInit {
  /** The path as the user gave it (a relative path stays relative). */
  readonly file: string;
  /** 1-based; 0 when the error is about the whole path, such as a file that does not exist. */
  readonly line: number;
  /** 1-based; 0 when `line` is 0. */
  readonly column: number;
  /** Dotted path of the field, such as `producer.ack` or `faults[1].do`; empty for the whole file. */
  readonly field: string;
  /** A full sentence that already names the field, so it reads well on its own. */
  readonly message: string;
}

export class LoadError implements LoadErrorInit {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly field: string;
  readonly message: string;

  constructor(init: LoadErrorInit) {
    this.file = init.file;
    this.line = init.line;
    this.column = init.column;
    this.field = init.field;
    this.message = init.message;
  }

  /** `file:line:column: message`, or `file: message` when the error has no position. */
  format(): string {
    // File names, keys and values come from the user's input and may hold control characters
    // (a key "\e[2J" would clear the terminal), so they are escaped, and the error stays one line.
    const where = this.line > 0 ? `${this.file}:${this.line}:${this.column}` : this.file;
    return oneLine(`${where}: ${this.message}`);
  }

  toString(): string {
    return this.format();
  }
}
