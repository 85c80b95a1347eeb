/**
 * Assertions of the replica's own invariants. A failed one means a bug in this code (or a
 * corrupted disk), never bad input from a peer: the replica stops loudly instead of continuing
 * in a state that can lose acknowledged writes. The simulator reports it as a violation.
 */
export class ReplicaInvariantError extends Error {
  constructor(message: string) {
    super(`replica invariant violated: ${message}`);
    this.name = 'ReplicaInvariantError';
  }
}

export function invariant(condition: unknown, message: () => string): asserts condition {
  if (!condition) throw new ReplicaInvariantError(message());
}
