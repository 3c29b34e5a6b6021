// The command line that reproduces one scenario's result. A failure in CI is only useful when a
// developer can paste one line into a shell and see the same run, so the command names the exact
// file, adapter, seed and defect switches, quoted for a POSIX shell (the shell CI systems use).

export interface ReproduceInput {
  readonly file: string;
  readonly adapter: string;
  readonly seed: number;
  readonly defects: readonly string[];
  /** Options naming the user's cluster (--brokers, --cluster-config), which the run needs again. */
  readonly clusterArgs?: readonly string[];
}

// Characters no POSIX shell treats specially anywhere in a word. Everything else is quoted, which
// also covers globs, variables, spaces, quotes and a leading tilde.
const SHELL_SAFE = /^[A-Za-z0-9_\-.,/:@%+=]+$/;

/** Quotes one argument for a POSIX shell, leaving plain words as they are. */
export function shellQuote(argument: string): string {
  if (SHELL_SAFE.test(argument)) return argument;
  // Inside single quotes nothing is special except the single quote itself, which has to end the
  // quoted part, appear escaped, and start a new quoted part.
  return `'${argument.replaceAll("'", `'\\''`)}'`;
}

/** `npx deliverycheck run <file> --adapter <name> --seed <n>` plus ` --defect <d>` per defect. */
export function reproduceCommand(input: ReproduceInput): string {
  // A file name that starts with a dash would be read as an option, so it gets a `./` in front.
  const file = input.file.startsWith('-') ? `./${input.file}` : input.file;
  const words = ['npx', 'deliverycheck', 'run', shellQuote(file), '--adapter', shellQuote(input.adapter)];
  words.push('--seed', String(input.seed));
  for (const defect of input.defects) words.push('--defect', shellQuote(defect));
  for (const argument of input.clusterArgs ?? []) words.push(shellQuote(argument));
  return words.join(' ');
}
