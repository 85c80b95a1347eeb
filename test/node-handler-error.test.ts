/**
 * A message handler that throws is a bug of ours, not bad input: the connection that carried the
 * message is dropped, the error is reported with its stack (never swallowed), and the node goes
 * on serving everyone else.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { expect } from 'chai';
import { FramedSocket } from '../src/node/framed-socket.js';
import { encodeFrame } from '../src/wire/frame.js';
import { encodeMessage } from '../src/wire/codec.js';
import type { WireMessage } from '../src/wire/messages.js';

const status: WireMessage = { kind: 'status-request', requestId: 7 };

async function pair(handlers: ConstructorParameters<typeof FramedSocket>[1]): Promise<{ server: Server; client: Socket; framed: Promise<FramedSocket> }> {
  let resolve!: (f: FramedSocket) => void;
  const framed = new Promise<FramedSocket>((r) => { resolve = r; });
  const server = createServer((s) => resolve(new FramedSocket(s, handlers)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const client = connect({ host: '127.0.0.1', port });
  await new Promise<void>((r) => client.once('connect', () => r()));
  return { server, client, framed };
}

describe('node: a handler that throws', () => {
  it('drops that connection and reports the error with the message kind; the handler saw the message once', async () => {
    const seen: string[] = [];
    const reported: { err: unknown; kind: string }[] = [];
    const closed: string[] = [];
    const { server, client } = await pair({
      onMessage: (m) => { seen.push(m.kind); throw new TypeError('boom in the handler'); },
      onHandlerError: (err, m) => reported.push({ err, kind: m.kind }),
      onClose: (reason) => closed.push(reason),
    });
    try {
      const gone = new Promise<void>((r) => client.once('close', () => r()));
      // Two frames in one write: the second must not be handled after the first threw.
      client.write(Buffer.concat([encodeFrame(encodeMessage(status)), encodeFrame(encodeMessage(status))]));
      await gone;
      expect(seen).to.deep.equal(['status-request']);
      expect(reported).to.have.length(1);
      expect(reported[0]!.kind).to.equal('status-request');
      expect((reported[0]!.err as Error).message).to.equal('boom in the handler');
      expect(closed).to.have.length(1);
      expect(closed[0]).to.match(/internal error while handling status-request: boom in the handler/);
    } finally {
      client.destroy();
      server.close();
    }
  });

  it('without a reporter the stack goes to stderr, and a reporter that throws changes nothing', async () => {
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => { written.push(String(chunk)); return true; }) as typeof process.stderr.write;
    const { server, client } = await pair({ onMessage: () => { throw new RangeError('no reporter'); } });
    try {
      const gone = new Promise<void>((r) => client.once('close', () => r()));
      client.write(encodeFrame(encodeMessage(status)));
      await gone;
    } finally {
      process.stderr.write = write;
      client.destroy();
      server.close();
    }
    expect(written.join('')).to.match(/internal error while handling status-request from 127\.0\.0\.1:\d+: RangeError: no reporter\n\s+at /);

    const b = await pair({ onMessage: () => { throw new Error('x'); }, onHandlerError: () => { throw new Error('reporter broke'); } });
    try {
      const gone = new Promise<void>((r) => b.client.once('close', () => r()));
      b.client.write(encodeFrame(encodeMessage(status)));
      await gone;
    } finally {
      b.client.destroy();
      b.server.close();
    }
  });
});
