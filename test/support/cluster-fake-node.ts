/**
 * A stand-in for cli/kvnode.ts as a process, for the cluster manager's tests: the same command
 * line, the same "listening" JSON log line, status-requests answered on the client port, exit
 * 0 on SIGTERM/SIGINT and on stdin EOF with --exit-on-stdin-close. No consensus: by default
 * node 1 claims to lead (ballot 1.0.1, accept phase) and every node names it as elected.
 *
 * Test knobs (environment): FAKE_NODE_FAIL=1 refuses to start (exit 2, message on stderr);
 * FAKE_NODE_IGNORE_SIGTERM=1 ignores SIGTERM; FAKE_NODE_NO_LEADER=1 makes nobody lead.
 *
 *   node --import tsx test/support/cluster-fake-node.ts --config FILE --id N [--fsync on|off] [--exit-on-stdin-close]
 */
import net from 'node:net';
import { loadClusterConfig, nodeById } from '../../src/node/config.js';
import { BOTTOM, type Ballot } from '../../src/replica/ballot.js';
import { decodeMessage, encodeMessage } from '../../src/wire/codec.js';
import { encodeFrame, readFrames } from '../../src/wire/frame.js';
import type { StatusResponse } from '../../src/wire/messages.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const log = (event: string, fields: Record<string, unknown> = {}): void => {
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), node: id, level: 'info', event, ...fields }) + '\n');
};

const id = Number(arg('--id'));
const configFile = arg('--config');
if (!configFile || !Number.isInteger(id)) {
  process.stderr.write('fake node: usage: --config FILE --id N\n');
  process.exit(2);
}
if (process.env.FAKE_NODE_FAIL === '1') {
  process.stderr.write(`fake node ${id}: refusing to start (FAKE_NODE_FAIL)\n`);
  process.exit(2);
}
const config = loadClusterConfig(configFile);
const me = nodeById(config, id);

const LEADER: Ballot = { n: 1, priority: 0, pid: 1 };
const noLeader = process.env.FAKE_NODE_NO_LEADER === '1';
const leads = !noLeader && id === 1;

function status(requestId: number): StatusResponse {
  return {
    kind: 'status-response', requestId, nodeId: id,
    role: leads ? 'leader' : 'follower', phase: leads ? 'accept' : 'none',
    leaderBallot: leads ? LEADER : BOTTOM, electedBallot: noLeader ? BOTTOM : LEADER,
    quorumConnected: true, promised: LEADER, acceptedRnd: LEADER,
    logLength: 0, decidedIdx: 0, appliedIdx: 0, compactedIdx: 0, incarnation: '0123456789abcdef', voter: true, fsync: arg('--fsync') !== 'off',
    peers: config.nodes.filter((n) => n.id !== id).map((n) => ({ id: n.id, connected: true })),
  };
}

const server = net.createServer((socket) => {
  socket.on('error', () => socket.destroy());
  void (async () => {
    try {
      for await (const body of readFrames(socket)) {
        const m = decodeMessage(body);
        if (m.kind === 'status-request') socket.write(encodeFrame(encodeMessage(status(m.requestId))));
      }
    } catch {
      socket.destroy();
    }
  })();
});

const stop = (why: string): void => {
  log('stopping', { why });
  server.close();
  process.exit(0);
};
process.on('SIGTERM', () => {
  if (process.env.FAKE_NODE_IGNORE_SIGTERM === '1') log('ignoring', { signal: 'SIGTERM' });
  else stop('SIGTERM');
});
process.on('SIGINT', () => stop('SIGINT'));
if (process.argv.includes('--exit-on-stdin-close')) {
  process.stdin.on('end', () => stop('standard input closed'));
  process.stdin.resume();
}

server.listen(me.clientPort, me.host, () => log('listening', { peerPort: me.peerPort, clientPort: me.clientPort }));
