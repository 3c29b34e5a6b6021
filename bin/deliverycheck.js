#!/usr/bin/env node
// The installed command: a shim over the compiled CLI, which holds all the logic so tests can run
// it in-process. It sets the exit code rather than calling process.exit, so the process ends only
// when nothing is left running and every byte of output has been flushed.
import { main } from '../dist/harness/cli/cli.js';

// A reader that goes away early (`deliverycheck run | head`) is not an error of the run; without
// this handler the broken pipe would crash the process with a stack trace.
process.stdout.on('error', (error) => {
  if (error.code !== 'EPIPE') throw error;
});

process.exitCode = await main(process.argv.slice(2));
