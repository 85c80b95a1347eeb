/**
 * A manager process for the parent-death test: starts a cluster of fake nodes, prints
 * `{"pids":[…]}` on one line, then waits to be killed. It registers no cleanup on purpose:
 * after its kill -9, only the nodes' stdin EOF can take them down.
 *
 *   node --import tsx test/support/cluster-parent.ts CONFIG_FILE
 */
import { resolve } from 'node:path';
import { scriptCommand, startCluster } from '../../src/cluster/index.js';
import { projectRoot } from './paths.js';

const cluster = await startCluster({
  configFile: process.argv[2]!,
  nodeCommand: scriptCommand(resolve(projectRoot, 'test', 'support', 'cluster-fake-node.ts')),
});
process.stdout.write(JSON.stringify({ pids: cluster.nodeIds.map((id) => cluster.pid(id)) }) + '\n');
// The nodes' pipes keep this process alive until it is killed.
