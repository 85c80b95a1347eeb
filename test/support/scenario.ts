/**
 * Scripted simulator runs for the named scenarios: build a Simulation, let the test script
 * faults at exact virtual times, record when entries are decided, and check the run's history.
 */
import { checkHistory } from '../../src/history/driver.js';
import { parseHistory } from '../../src/history/reader.js';
import type { NodeId } from '../../src/replica/ballot.js';
import type { TimeUs } from '../../src/sim/event-queue.js';
import type { SimOptionsInput } from '../../src/sim/options.js';
import { defaultReplicaFactory } from '../../src/sim/run.js';
import { Simulation, type SimOutcome } from '../../src/sim/simulator.js';

export interface ScenarioResult {
  readonly outcome: SimOutcome;
  readonly verdict: string;
  /** Virtual times at which some node's decided index rose, in order. */
  readonly decidedAt: readonly TimeUs[];
  readonly sim: Simulation;
}

export async function runScenario(
  options: SimOptionsInput,
  script: (sim: Simulation) => void,
): Promise<ScenarioResult> {
  const sim = new Simulation(options, defaultReplicaFactory);
  const best = new Map<NodeId, number>();
  const decidedAt: TimeUs[] = [];
  let globalMax = 0;
  sim.observe((node, status, now) => {
    best.set(node, status.decidedIdx);
    if (status.decidedIdx > globalMax) {
      globalMax = status.decidedIdx;
      decidedAt.push(now);
    }
  });
  script(sim);
  const outcome = sim.run();
  const report = await checkHistory(parseHistory(outcome.historyLines.join('\n')), { timeoutMs: 20_000, workers: 0, explain: false });
  return { outcome, verdict: report.verdict, decidedAt, sim };
}

/**
 * The longest stretch of virtual time within [from, to] in which no new entry was decided
 * anywhere in the cluster, while clients kept asking. `null` if nothing was decided after `from`.
 */
export function downTime(decidedAt: readonly TimeUs[], from: TimeUs, to: TimeUs): TimeUs | null {
  const after = decidedAt.filter((t) => t > from && t <= to);
  if (after.length === 0) return null;
  let longest = after[0]! - from;
  for (let i = 1; i < after.length; i++) longest = Math.max(longest, after[i]! - after[i - 1]!);
  return Math.max(longest, to - after[after.length - 1]!);
}

/** Cuts every link (both directions) between the nodes except the listed undirected pairs. */
export function keepOnlyLinks(sim: Simulation, keep: readonly (readonly [NodeId, NodeId])[]): void {
  const kept = new Set(keep.flatMap(([a, b]) => [`${a}>${b}`, `${b}>${a}`]));
  const cut: [NodeId, NodeId][] = [];
  for (const a of sim.nodes) for (const b of sim.nodes) if (a !== b && !kept.has(`${a}>${b}`)) cut.push([a, b]);
  sim.cutLinks(cut);
}
