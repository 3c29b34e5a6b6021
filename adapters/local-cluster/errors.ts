// The one error class of the local clusters. Every broker's cluster module throws it, so a caller
// (an adapter, a test, a command) tells "the local cluster failed" apart from a client's error
// without knowing which broker it was.

export class ClusterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterError';
  }
}
