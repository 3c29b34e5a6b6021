// Cleanup when the owning process ends: exit and signal handlers that kill the processes of every
// owned cluster at once. Synchronous, because an 'exit' handler cannot wait. One set of handlers
// serves every broker's clusters, so a process owning a Kafka and a NATS cluster installs them once.

/** Something that can kill its processes synchronously, such as an owned cluster. */
export interface KillableNow {
  killNow(): void;
}

const owned = new Set<KillableNow>();
const HANDLED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function killOwnedNow(): void {
  for (const cluster of owned) cluster.killNow();
  owned.clear();
}

function onSignal(received: NodeJS.Signals): void {
  // A command that handles the signal itself (deliverycheck run stops cleanly on Ctrl-C) stops
  // the cluster with the adapter's dispose(); should it exit at once instead, the exit handler
  // kills the processes, and should even that be skipped (SIGKILL), their watchdogs do.
  if (process.listenerCount(received) > 1) return;
  killOwnedNow();
  uninstallHandlers();
  // Our listener replaced the default action (exit); when nobody else handles the signal, raise
  // it again so the process ends as it would have without us.
  if (process.listenerCount(received) === 0) process.kill(process.pid, received);
}

let handlersInstalled = false;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killOwnedNow);
  for (const name of HANDLED_SIGNALS) process.on(name, onSignal);
}

function uninstallHandlers(): void {
  if (!handlersInstalled) return;
  handlersInstalled = false;
  process.off('exit', killOwnedNow);
  for (const name of HANDLED_SIGNALS) process.off(name, onSignal);
}

/** Marks a cluster as one to end with the process. */
export function endWithProcess(cluster: KillableNow): void {
  owned.add(cluster);
  installHandlers();
}

/** Lets a cluster outlive the process again; the handlers go once no cluster is left to end. */
export function outliveProcess(cluster: KillableNow): void {
  owned.delete(cluster);
  if (owned.size === 0) uninstallHandlers();
}
