/**
 * A priority queue of events by virtual time: a binary min-heap ordered by (time, insertion
 * number). Breaking ties by insertion order makes two events at the same instant run in the
 * order they were scheduled, whatever the heap's shape — without it a run would depend on
 * the heap's internals and a seed would not replay.
 */

/** Virtual time in integer microseconds since the start of the run. */
export type TimeUs = number;

interface Slot<T> {
  readonly time: TimeUs;
  readonly order: number;
  readonly event: T;
}

export class EventQueue<T> {
  private readonly heap: Slot<T>[] = [];
  private inserted = 0;

  get size(): number {
    return this.heap.length;
  }

  push(time: TimeUs, event: T): void {
    if (!Number.isFinite(time)) throw new Error(`event-queue: time must be finite, got ${time}`);
    const heap = this.heap;
    const slot: Slot<T> = { time, order: this.inserted++, event };
    let i = heap.length;
    heap.push(slot);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!before(slot, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = slot;
  }

  /** Time of the earliest event, or undefined when empty. */
  peekTime(): TimeUs | undefined {
    return this.heap[0]?.time;
  }

  /** Removes and returns the earliest event with its time, or undefined when empty. */
  pop(): { time: TimeUs; event: T } | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      const n = heap.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && before(heap[r]!, heap[l]!) ? r : l;
        if (!before(heap[c]!, last)) break;
        heap[i] = heap[c]!;
        i = c;
      }
      heap[i] = last;
    }
    return { time: top.time, event: top.event };
  }

  clear(): void {
    this.heap.length = 0;
  }
}

function before<T>(a: Slot<T>, b: Slot<T>): boolean {
  return a.time < b.time || (a.time === b.time && a.order < b.order);
}
