/**
 * Local cluster management: kvnode processes on this machine, for the CLI (`npm run cluster`),
 * the operator shell and real-process tests.
 */
export { createCluster, startCluster, LocalCluster, type NodeInfo, type StartClusterOptions } from './local-cluster.js';
export { stopAllOnExit, type ExitCleanupOptions, type Stoppable } from './exit-cleanup.js';
export {
  findLeader, describePolls, pollForLeader, type ElectedLeader, type NodePoll, type WaitForLeaderOptions,
} from './leader.js';
export {
  describeExit, isLive, parseLogRecord, type ClusterEvent, type ClusterListener, type NodeExit, type NodeLogRecord,
  type NodeState, type OutputLine,
} from './events.js';
export { kvnodeCommand, kvnodeScript, scriptCommand, type NodeCommand, type NodeLaunch, type SpawnSpec } from './node-command.js';
export {
  EFFECTIVE_CONFIG_FILE, nodeDataDir, nodeLogFile, removeNodeData, resolveClusterFiles, writeEffectiveConfig, type ClusterFiles,
  type ClusterSource,
} from './cluster-files.js';
export { NetworkFaults, MAX_DELAY_MS } from './network-faults.js';
export { LinkRelay, type LinkFault, type LinkFaultSource, type LinkRelayOptions, type LinkRelayStats } from './link-relay.js';
export { ClusterRelays } from './cluster-relays.js';
export { DEFAULT_TEST_TIMING, freePorts, writeTestConfig, type TestConfig, type TestConfigOptions } from './ports.js';
export { formatEvent, formatNodeTable } from './format.js';
