import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadClusterConfig } from '../../harness/cli/connection.js';
import { firstInvalidUtf8, MAX_ERRORS_PER_FILE, MAX_INPUT_BYTES } from '../../core/input-file.js';
import { loadScenarios, loadScenarioText } from '../../harness/conformance/loader.js';
import { loadWorkloads } from '../../bench/workload.js';

// The smallest valid scenario (9 lines, `name` on line 2); each test changes one thing in it.
const BASE = readFileSync(fileURLToPath(new URL('../fixtures/scenarios/valid/minimal.yml', import.meta.url)), 'utf8');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'input-file-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function load(name: string, content: string | Buffer): Promise<string[]> {
  const file = join(dir, name);
  await writeFile(file, content);
  const result = await loadScenarios([file]);
  return result.errors.map((error) => error.format().replace(dir, 'DIR'));
}

describe('reading input files', () => {
  it('accepts the base scenario, so the refusals below are about what each test changed', async () => {
    expect(await load('ok.yaml', BASE)).toEqual([]);
  });

  it('refuses a FIFO at once instead of waiting for a writer (scenarios, workloads, cluster configs)', async () => {
    const fifo = join(dir, 'f.yaml');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    const scenarios = await loadScenarios([fifo]);
    const workloads = await loadWorkloads([fifo]);
    const config = await loadClusterConfig(fifo, {});
    expect(Date.now() - started).toBeLessThan(2000);
    expect(scenarios.errors.map(String)).toEqual([`${fifo}: is a FIFO, not a regular file; a scenario file must be a regular file`]);
    expect(workloads.errors.map(String)).toEqual([`${fifo}: is a FIFO, not a regular file; a workload file must be a regular file`]);
    expect(config.errors?.map(String)).toEqual([`${fifo}: is a FIFO, not a regular file; a cluster config must be a regular file`]);
  });

  it('refuses a link to a device such as /dev/urandom without reading it', async () => {
    const link = join(dir, 'u.yaml');
    await symlink('/dev/urandom', link);
    const result = await loadScenarios([link]);
    expect(result.errors.map(String)).toEqual([`${link}: is a character device, not a regular file; a scenario file must be a regular file`]);
  });

  it('refuses a file larger than 1 MiB, and accepts one just under it', async () => {
    expect(await load('big.yaml', `${BASE}#${'x'.repeat(MAX_INPUT_BYTES)}\n`)).toEqual([
      'DIR/big.yaml: is larger than 1 MiB (1048576 bytes), the most a scenario file may hold',
    ]);
    const padding = MAX_INPUT_BYTES - Buffer.byteLength(BASE) - 2;
    expect(await load('fits.yaml', `${BASE}#${'x'.repeat(padding)}\n`)).toEqual([]);
  });

  it('says a UTF-16 file is UTF-16, with or without a byte order mark', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(BASE, 'utf16le')]);
    expect(await load('bom.yaml', utf16)).toEqual(['DIR/bom.yaml: is UTF-16 text; only UTF-8 is read, so save the scenario file as UTF-8']);
    expect(await load('le.yaml', Buffer.from(BASE, 'utf16le'))).toEqual([
      'DIR/le.yaml: is UTF-16 text; only UTF-8 is read, so save the scenario file as UTF-8',
    ]);
  });

  it('refuses invalid UTF-8 at its line and column instead of reading U+FFFD', async () => {
    const bytes = Buffer.concat([Buffer.from('name: "caf'), Buffer.from([0xe9]), Buffer.from(`"\n${BASE.split('\n').slice(2).join('\n')}`)]);
    expect(await load('latin1.yaml', bytes)).toEqual(['DIR/latin1.yaml:1:11: holds a byte 0xe9 that is not UTF-8; only UTF-8 is read']);
    // The column counts characters, not bytes: "é" before the bad byte is one column.
    const later = Buffer.concat([Buffer.from('a: 1\nb: "é'), Buffer.from([0xff])]);
    expect(await load('later.yaml', later)).toEqual(['DIR/later.yaml:2:6: holds a byte 0xff that is not UTF-8; only UTF-8 is read']);
  });

  it('refuses a NUL byte as binary data', async () => {
    expect(await load('nul.yaml', Buffer.from('name: a\u0000b\n'))).toEqual([
      'DIR/nul.yaml:1:8: holds a NUL byte; a scenario file is UTF-8 text, not binary data',
    ]);
  });

  it('finds the invalid sequences UTF-8 forbids: overlong forms, surrogates, truncated and stray bytes', () => {
    expect(firstInvalidUtf8(Buffer.from('plain ascii é € 😀'))).toBe(-1);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xc0, 0xaf]))).toBe(1);
    expect(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80]))).toBe(0);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0x62, 0xe2, 0x82]))).toBe(2);
    expect(firstInvalidUtf8(Buffer.from([0x80]))).toBe(0);
    expect(firstInvalidUtf8(Buffer.from([0xf4, 0x90, 0x80, 0x80]))).toBe(0);
  });

  it(`lists at most ${MAX_ERRORS_PER_FILE} errors of a file, then how many more`, async () => {
    const unknown = Array.from({ length: 30 }, (_, index) => `unknown${index}: 1`).join('\n');
    const lines = await load('many.yaml', `${BASE}${unknown}\n`);
    expect(lines).toHaveLength(MAX_ERRORS_PER_FILE + 1);
    expect(lines.at(-1)).toBe(`DIR/many.yaml: and 10 more errors (only the first ${MAX_ERRORS_PER_FILE} of a file are listed)`);
  });
});

describe('the shape of a YAML input', () => {
  it('names the field of a nesting too deep for the parser (1 000 brackets) instead of a stack overflow', () => {
    const text = BASE.replace('name: only required fields', `name: ${'['.repeat(1000)}${']'.repeat(1000)}`);
    const errors = loadScenarioText(text, 'deep.yaml').errors.map(String);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^deep\.yaml:2:\d+: name: lists or mappings nest too deeply to be read \(a file may nest at most 32 levels\)$/u);
  });

  it('refuses a nesting deeper than 32 levels at the place it goes too deep, naming the field', () => {
    const text = BASE.replace('name: only required fields', `name: ${'['.repeat(40)}${']'.repeat(40)}`);
    const errors = loadScenarioText(text, 'deep.yaml').errors.map(String);
    expect(errors).toEqual([`deep.yaml:2:38: name${'[0]'.repeat(18)}… nests lists or mappings more than 32 levels deep`]);
    // 30 levels are fine as YAML; the schema then says what is wrong with the value.
    const shallow = BASE.replace('name: only required fields', `name: ${'['.repeat(30)}${']'.repeat(30)}`);
    expect(loadScenarioText(shallow, 'ok.yaml').errors.map(String)).toEqual([
      'ok.yaml:2:7: name must be a string of 1 to 200 characters (got a list of 1 entry)',
    ]);
  });

  it('refuses a list used as a key at its line, and the YAML library prints no warning', () => {
    const warn = vi.spyOn(process, 'emitWarning');
    try {
      const errors = loadScenarioText(`${BASE}? [a, b]\n: 1\n`, 'key.yaml').errors.map(String);
      expect(errors).toEqual(['key.yaml:10:3: a key in the top level is a list; keys must be plain names']);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });

  it('refuses an empty key at its line instead of naming an empty field', () => {
    expect(loadScenarioText(`${BASE}? \n: 1\n`, 'empty.yaml').errors.map(String)).toEqual([
      'empty.yaml:10:3: a key in the top level is empty; keys must be plain names',
    ]);
  });

  it('refuses a !!binary value in one line instead of one error per byte', () => {
    const errors = loadScenarioText(BASE.replace('name: only required fields', 'name: !!binary aGVsbG8gd29ybGQ='), 'bin.yaml').errors.map(String);
    expect(errors).toEqual(['bin.yaml:2:16: name has the tag !!binary; only plain values, lists and mappings are read']);
  });

  it('escapes control characters of keys and file names in errors, so they cannot drive the terminal', () => {
    const errors = loadScenarioText(`${BASE}"\\e[2J": 1\n`, 'a\u001b[31m.yaml').errors.map(String);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^a\\x1b\[31m\.yaml:10:1: \\x1b\[2J is not a known field/u);
    expect(errors[0]).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/u);
  });

  it('escapes line separators, bidirectional overrides and invisible characters too, which would split, reorder or disguise a line', () => {
    const errors = loadScenarioText(`${BASE}"a\\u2028b\\u202ec\\ufeffd": 1\n`, 'sep.yaml').errors.map(String);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^sep\.yaml:10:1: a\\u2028b\\u202ec\\ufeffd is not a known field/u);
  });

  it('says an empty rates list needs at least one entry', async () => {
    const file = join(dir, 'w.yaml');
    await writeFile(file, 'rates: []\n');
    const errors = (await loadWorkloads([file])).errors.map(String);
    expect(errors).toContain(`${file}:1:8: rates must be a list of 1 to 50 entries (got an empty list)`);
  });
});
