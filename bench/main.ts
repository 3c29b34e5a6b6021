// Runs `deliverycheck bench` on its own (`npm run bench -- ARGS`), with the process's streams,
// until the lead wires benchCommand into the deliverycheck command line.

import { benchCommand } from '../harness/cli/bench-command.js';

process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

process.exitCode = await benchCommand(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  isTTY: process.stdout.isTTY === true,
  stderrIsTTY: process.stderr.isTTY === true,
  columns: process.stderr.columns,
});
