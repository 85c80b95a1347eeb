#!/usr/bin/env python3
"""A fake kvsh cluster (client ports only) to exercise smoke.py without real nodes.

NOT an implementation of kvsh: one shared in-memory log, map and session table behind a lock,
served on N client ports; node 1 claims to be leader. It follows protocol.md's client-port
bytes and the session rules (remembered result for a retry of the last seq, session-expired
for seq > 1 from an unknown clientId, no answer for an older seq).

  python3 fake_cluster.py --ports 7301,7302,7303 [--unknown-rate 0.3] [--drop-rate 0.2]
                          [--bug-reapply] [--bug-drop-bom] [--leader-after 3]

Fault knobs: --unknown-rate answers `unknown` (after applying) with that probability;
--drop-rate applies but does not answer (the client times out); --bug-reapply executes a
retried seq again (smoke.py must catch it); --bug-drop-bom strips a leading U+FEFF from
values; --leader-after reports no leader for that many seconds.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvsh_client as kv  # noqa: E402


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.map = {}
        self.sessions = {}     # clientId -> (last seq, result)
        self.log = []
        self.args = args
        self.t0 = time.monotonic()

    def apply(self, cid, seq, op):
        """Returns the result dict, or None for "no result" (older seq)."""
        with self.lock:
            self.log.append({"kind": "command", "clientId": cid, "seq": seq, "op": op})
            s = self.sessions.get(cid)
            if s is not None and not self.args.bug_reapply:
                if seq == s[0]:
                    return s[1]
                if seq < s[0]:
                    return None
            if s is None and seq > 1:
                return {"kind": "session-expired"}
            r = self.execute(op)
            self.sessions[cid] = (seq, r)
            return r

    def execute(self, op):
        k = op["key"]
        if op["op"] == "get":
            return {"kind": "value", "value": self.map[k]} if k in self.map else {"kind": "not-found"}
        if op["op"] == "put":
            v = op["value"]
            if self.args.bug_drop_bom and v.startswith("\ufeff"):
                v = v[1:]
            self.map[k] = v
            return {"kind": "ok"}
        if op["op"] == "cas":
            cur = self.map.get(k)
            if cur != op["expected"]:
                return {"kind": "mismatch", "current": cur}
            self.map[k] = op["value"]
            return {"kind": "ok"}
        existed = k in self.map
        self.map.pop(k, None)
        return {"kind": "deleted", "existed": existed}


def serve_conn(conn, node_id, ids, state):
    fr = kv.FrameReader()
    conn.settimeout(None)
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            try:
                bodies = fr.feed(data)
            except kv.ProtocolError as e:
                if e.code:
                    conn.sendall(kv.frame(kv.encode_message({"type": "error", "code": e.code, "message": str(e)})))
                return
            for body in bodies:
                try:
                    m = kv.decode_message(body)
                except kv.ProtocolError as e:
                    conn.sendall(kv.frame(kv.encode_message({"type": "error", "code": e.code, "message": str(e)})))
                    return
                if m["type"] not in kv.CLIENT_TO_NODE:
                    conn.sendall(kv.frame(kv.encode_message(
                        {"type": "error", "code": 5, "message": "%s on the client port" % m["type"]})))
                    return
                resp = handle(m, node_id, ids, state)
                if resp is not None:
                    conn.sendall(kv.frame(kv.encode_message(resp)))
    except OSError:
        pass
    finally:
        conn.close()


def handle(m, node_id, ids, state):
    rid = m["requestId"]
    args = state.args
    if m["type"] == "status-request":
        has_leader = time.monotonic() - state.t0 >= args.leader_after
        lb = {"n": 3, "priority": 0, "pid": 1}
        bottom = dict(kv.BOTTOM)
        with state.lock:
            n = len(state.log)
        return {"type": "status-response", "requestId": rid, "nodeId": node_id,
                "role": "leader" if (node_id == 1 and has_leader) else "follower",
                "phase": "accept" if has_leader else "none",
                "leaderBallot": lb if (node_id == 1 and has_leader) else bottom,
                "electedBallot": lb if has_leader else bottom, "quorumConnected": True,
                "promised": lb, "acceptedRnd": lb, "logLength": n, "decidedIdx": n, "appliedIdx": n,
                "compactedIdx": 0, "incarnation": "%016x" % node_id, "voter": True, "fsync": True, "peers": [{"id": i, "connected": True} for i in ids if i != node_id]}
    if m["type"] == "log-request":
        with state.lock:
            n = len(state.log)
            frm = min(m["from"], n)
            ents = state.log[frm:frm + min(m["count"], 500)]
        return {"type": "log-response", "requestId": rid, "from": frm, "decidedIdx": n, "logLength": n,
                "entries": ents}
    r = state.apply(m["clientId"], m["seq"], m["op"])
    if r is None:
        return {"type": "client-response", "requestId": rid, "status": "unknown", "reason": "older seq"}
    roll = random.random()
    if roll < args.drop_rate:
        return None
    if roll < args.drop_rate + args.unknown_rate:
        return {"type": "client-response", "requestId": rid, "status": "unknown", "reason": "fake timeout"}
    return {"type": "client-response", "requestId": rid, "status": "result", "result": r}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ports", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--unknown-rate", type=float, default=0.0)
    ap.add_argument("--drop-rate", type=float, default=0.0)
    ap.add_argument("--leader-after", type=float, default=0.0)
    ap.add_argument("--bug-reapply", action="store_true")
    ap.add_argument("--bug-drop-bom", action="store_true")
    args = ap.parse_args()
    ports = [int(p) for p in args.ports.split(",")]
    ids = list(range(1, len(ports) + 1))
    state = State(args)
    for node_id, port in zip(ids, ports):
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((args.host, port))
        srv.listen(64)

        def loop(srv=srv, node_id=node_id):
            while True:
                c, _ = srv.accept()
                threading.Thread(target=serve_conn, args=(c, node_id, ids, state), daemon=True).start()
        threading.Thread(target=loop, daemon=True).start()
    print("fake cluster on %s" % ports, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
