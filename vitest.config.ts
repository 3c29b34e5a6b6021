import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit-e2e',
          include: ['test/unit/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          // End-to-end tests start the CLI as a child process; give them room on a 2-core machine.
          testTimeout: 120_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'netns',
          include: ['test/netns/**/*.test.ts'],
          // These tests build network namespaces, veths and bridges on the machine itself (as root)
          // and time connections across cuts; one file at a time keeps their timing honest. They
          // take seconds, so they run beside the unit tests rather than after the clusters.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'kafka',
          include: ['test/kafka/**/*.test.ts'],
          // Each Kafka file starts its own cluster of JVMs and injects faults on a timer. Run one
          // file at a time, after the rest, so that two clusters never share the two cores and a
          // fault's timing means what the scenario says.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 600_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'nats',
          include: ['test/nats/**/*.test.ts'],
          // Each NATS file starts its own servers and kills stream leaders; like the Kafka files,
          // one at a time and after them, so no two clusters share the two cores.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
