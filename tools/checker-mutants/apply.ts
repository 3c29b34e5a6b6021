// Applies a mutant's replacements to the checker's sources and compiles the result, in memory.
// Both the tool (to refuse a stale mutant before it runs anything) and the module hook (to hand
// the mutated module to Node) go through here, so they can never disagree about what a mutant is.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { MUTANTS, type Mutant } from './mutants.js';

/** How often `find` occurs in `text`, without overlaps. */
function occurrences(text: string, find: string): number {
  let count = 0;
  for (let at = text.indexOf(find); at >= 0; at = text.indexOf(find, at + find.length)) count++;
  return count;
}

export function mutantNamed(name: string): Mutant {
  const mutant = MUTANTS.find((candidate) => candidate.name === name);
  if (mutant === undefined) throw new Error(`checker-mutants: no mutant named ${name}`);
  return mutant;
}

/** The files a mutant changes, each with its mutated TypeScript source. */
export function mutatedSources(mutant: Mutant, root: string): Map<string, string> {
  const sources = new Map<string, string>();
  for (const replacement of mutant.replacements) {
    const source = sources.get(replacement.file) ?? readFileSync(join(root, replacement.file), 'utf8');
    const found = occurrences(source, replacement.find);
    if (found !== 1) {
      throw new Error(
        `checker-mutants: mutant ${mutant.name}: ${replacement.file} holds its snippet ${found} times, not once; ` +
          `the source changed, so the mutant must be written again: ${JSON.stringify(replacement.find)}`,
      );
    }
    sources.set(replacement.file, source.replace(replacement.find, () => replacement.replace));
  }
  return sources;
}

/**
 * A mutated source compiled to the JavaScript Node loads: types are only erased (no type check),
 * which is all tsc does to these files too.
 */
export function compileMutated(source: string, file: string): string {
  const output = ts.transpileModule(source, {
    fileName: file,
    reportDiagnostics: true,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, sourceMap: false },
  });
  const errors = (output.diagnostics ?? []).filter((diagnostic) => diagnostic.category === ts.DiagnosticCategory.Error);
  if (errors.length > 0) {
    const text = errors.map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')).join('; ');
    throw new Error(`checker-mutants: the mutated ${file} does not compile: ${text}`);
  }
  return output.outputText;
}

/**
 * The type errors of each mutated file, checked with the project's compiler options as tsc would
 * (the compile above only erases types). A mutant that does not type-check is no plausible bug:
 * the project's own build would have refused it. One program checks them all, each mutated file
 * under a name of its own beside the real one, so that its imports resolve as the real file's do
 * (to the real versions of the other files).
 */
export function typeErrors(mutants: readonly Mutant[], root: string): Map<string, string[]> {
  const configPath = join(root, 'tsconfig.json');
  const config = ts.getParsedCommandLineOfConfigFile(configPath, { noEmit: true }, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, ' '));
    },
  });
  if (config === undefined) throw new Error(`checker-mutants: cannot read ${configPath}`);
  /** Virtual file name → its source, and → the mutant it belongs to. */
  const virtual = new Map<string, string>();
  const owner = new Map<string, string>();
  mutants.forEach((mutant, index) => {
    for (const [file, source] of mutatedSources(mutant, root)) {
      const name = join(root, file.replace(/\.ts$/, `.mutant-${index}.ts`));
      virtual.set(name, source);
      owner.set(name, mutant.name);
    }
  });
  const host = ts.createCompilerHost(config.options);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => virtual.has(fileName) || fileExists(fileName);
  const readFile = host.readFile.bind(host);
  host.readFile = (fileName) => virtual.get(fileName) ?? readFile(fileName);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    const source = virtual.get(fileName);
    return source === undefined
      ? getSourceFile(fileName, languageVersion, onError, shouldCreate)
      : ts.createSourceFile(fileName, source, languageVersion, true);
  };
  const program = ts.createProgram({ rootNames: [...virtual.keys()], options: config.options, host });
  const errors = new Map<string, string[]>(mutants.map((mutant) => [mutant.name, []]));
  for (const [fileName, name] of owner) {
    const file = program.getSourceFile(fileName);
    if (file === undefined) throw new Error(`checker-mutants: ${fileName} did not enter the program`);
    for (const diagnostic of [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)]) {
      errors.get(name)?.push(ts.flattenDiagnosticMessageText(diagnostic.messageText, ' '));
    }
  }
  return errors;
}
