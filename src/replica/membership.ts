/**
 * Who may vote: every member's id, the incarnation of the data directory that speaks for it,
 * and whether that incarnation is a voter yet. Part of the replicated state — it starts from
 * the genesis table of the first boot, changes only through decided `join` and `promote`
 * entries, and travels in snapshots — so every replica that applied the same prefix agrees.
 *
 * Why: a node's votes (Promise, Accepted) are promises about what its disk holds. A node whose
 * data directory was deleted or replaced comes back with an empty disk under the same id; if
 * its votes counted, a quorum with it could lack an entry it had acknowledged before, and that
 * entry — decided and acknowledged to a client — would be lost (reference §A.5; issue "node
 * identity"). Each data directory therefore gets a random incarnation when it is created, and a
 * vote counts only when the sender's incarnation is the one recorded here as a voter.
 *
 * Excluding a node's votes is always safe: a decided entry was accepted by a majority of all
 * members, and any majority of the members that still count intersects it on a node that
 * holds it (2q > N). A new incarnation enters as a learner (it follows the log, its votes do
 * not count) and is promoted, by another decided entry, only once it holds the leader's whole
 * log as it was when the leader saw it registered: everything its predecessor could have voted
 * for (leader.ts, `promotionMark`).
 */
import type { NodeId } from './ballot.js';

/** The incarnation of an id that has never joined: the first one that asks is registered. */
export const NO_INCARNATION = '';

export interface Member {
  readonly id: NodeId;
  /** NO_INCARNATION until a data directory joined as this id. */
  readonly incarnation: string;
  readonly voter: boolean;
}

/**
 * Entries that change the membership (src/replica/entry.ts):
 * - `join`: record `incarnation` for `id`. An id that has never joined (a node that was not there
 *   at the first boot) takes it as a voter at once; with `replace` (the operator's
 *   `kvnode --replace`) it takes the place of the incarnation recorded before, as a learner.
 *   Without `replace` a recorded incarnation is never replaced.
 * - `promote`: the learner `incarnation` of `id` becomes a voter (ignored if the id has moved on).
 */
export type MembershipEntry =
  | { readonly kind: 'join'; readonly id: NodeId; readonly incarnation: string; readonly replace: boolean }
  | { readonly kind: 'promote'; readonly id: NodeId; readonly incarnation: string };

export class Membership {
  private readonly byId = new Map<NodeId, { incarnation: string; voter: boolean }>();

  constructor(members: readonly Member[]) {
    this.restore(members);
  }

  /** Does a vote from `id` speaking as `incarnation` count? */
  isVoter(id: NodeId, incarnation: string): boolean {
    const m = this.byId.get(id);
    return m !== undefined && m.voter && m.incarnation !== NO_INCARNATION && m.incarnation === incarnation;
  }

  /** The recorded incarnation of `id` (NO_INCARNATION if it never joined), undefined for a non-member. */
  incarnationOf(id: NodeId): string | undefined {
    return this.byId.get(id)?.incarnation;
  }

  has(id: NodeId): boolean {
    return this.byId.has(id);
  }

  /** Members registered with an incarnation that is not a voter yet. */
  learners(): Member[] {
    return this.list().filter((m) => !m.voter && m.incarnation !== NO_INCARNATION);
  }

  apply(e: MembershipEntry): void {
    const m = this.byId.get(e.id);
    if (!m || e.incarnation === NO_INCARNATION) return;
    if (e.kind === 'join') {
      if (m.incarnation === e.incarnation) return;
      if (m.incarnation === NO_INCARNATION) {
        // The id's first incarnation: nobody ever voted as this id (a vote counts only once its
        // incarnation is recorded here), and a node that never accepted anything is a correct
        // acceptor with an empty memory — it may vote at once.
        this.byId.set(e.id, { incarnation: e.incarnation, voter: true });
      } else if (e.replace) {
        // Its predecessor may have voted for entries this one lacks: a learner until promoted.
        this.byId.set(e.id, { incarnation: e.incarnation, voter: false });
      }
    } else if (m.incarnation === e.incarnation) {
      this.byId.set(e.id, { incarnation: m.incarnation, voter: true });
    }
  }

  /** Sorted by id, so equal memberships give equal snapshots. */
  list(): Member[] {
    return [...this.byId.entries()].sort((a, b) => a[0] - b[0])
      .map(([id, m]) => ({ id, incarnation: m.incarnation, voter: m.voter }));
  }

  restore(members: readonly Member[]): void {
    this.byId.clear();
    for (const m of members) this.byId.set(m.id, { incarnation: m.incarnation, voter: m.voter && m.incarnation !== NO_INCARNATION });
  }
}

/**
 * The genesis membership of a cluster booted with `incarnations` (id → incarnation of the nodes
 * that checked in; the others NO_INCARNATION): those that checked in are voters from the start —
 * every log is empty then, so nobody can lack anything.
 */
export function genesisMembers(ids: readonly NodeId[], incarnations: ReadonlyMap<NodeId, string>): Member[] {
  return [...ids].sort((a, b) => a - b).map((id) => {
    const incarnation = incarnations.get(id) ?? NO_INCARNATION;
    return { id, incarnation, voter: incarnation !== NO_INCARNATION };
  });
}
