#!/usr/bin/env python3
"""Smoke test of a running kvsh cluster through its client ports, written from protocol.md alone.

  python3 test/third-party/smoke.py --nodes 127.0.0.1:7201,127.0.0.1:7202,127.0.0.1:7203

Checks (one JSON object per line on stdout: {"check", "ok", "detail"}; then a summary object):
  find-leader       status of every node until some node reports itself leader (role leader,
                    leaderBallot not bottom; waits up to --leader-wait s for phase accept)
  status-sane       per-node invariants of the status responses (index order, a voter has an
                    incarnation; fsync off and a non-voter are reported, not failed)
  entry-point       a non-leader node is chosen as the entry point
  put/get/cas-ok/cas-mismatch/get-after-mismatch/delete/get-after-delete/delete-absent/utf8-roundtrip
                    through the entry point, fresh clientId, seqs 1, 2, 3, ...
  dedupe-cas        CAS(key absent -> "v1") at seq n sent three times (entry, another node,
                    entry again): every answer is the same `ok`; a new seq with the same CAS
                    gets mismatch(current "v1"); a get reads "v1"
  dedupe-put        PUT k=p1 at seq n; another client PUTs k=p2; seq n resent: `ok` again, and a
                    get still reads p2 (the resend did not execute again)
  counter           three CAS increments, each sent twice more to other nodes; the value is 3;
                    a stale increment gets mismatch
  log               log requests from the entry point's decidedIdx (taken before any write)
                    decode cleanly, are consistent, and contain this run's commands
Exit status: 0 if every check passed, 1 otherwise, 2 on a usage error.

Retries follow protocol.md "Retrying safely": after `unknown`, a timeout, a lost connection or an
error frame the same (clientId, seq, op) is sent again (new connection and requestId), to the same
node first, then to the others; each attempt has its own socket timeout (--timeout, 2 s).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kvsh_client as kv  # noqa: E402


def ballot_tuple(b):
    return (b["n"], b["priority"], b["pid"])


def ballot_str(b):
    return "(%d,%d,%d)" % ballot_tuple(b)


class Outcome:
    """How one command ended after retries."""

    def __init__(self):
        self.status = "indeterminate"   # result | rejected | indeterminate | error
        self.response = None
        self.result = None
        self.node = None                # address that gave the final answer
        self.attempts = []              # one short string per attempt
        self.error = None
        self.definite = False

    def summary(self):
        d = {"status": self.status, "node": self.node, "attempts": len(self.attempts)}
        if self.result is not None:
            d["result"] = self.result
        if self.response is not None and self.status == "rejected":
            d["reason"] = self.response.get("reason")
        if self.error:
            d["error"] = self.error
        if len(self.attempts) > 1 or self.status != "result":
            d["attemptLog"] = self.attempts[-8:]
        return d


class Smoke:
    def __init__(self, addresses, timeout, leader_wait, op_deadline):
        self.addresses = addresses
        self.clients = {"%s:%d" % a: kv.Client(a[0], a[1], timeout=timeout) for a in addresses}
        self.order = list(self.clients)
        self.timeout = timeout
        self.leader_wait = leader_wait
        self.op_deadline = op_deadline
        self.results = []
        self.run_id = kv.new_client_id(8)
        self.statuses = {}
        self.leader_id = None
        self.leader_addr = None
        self.entry = None
        self.other = None
        self.start_decided = None
        self.logged_commands = []   # (clientId, seq, op) definitely applied by this run

    # ----------------------------------------------------------------- output

    def report(self, name, ok, detail):
        self.results.append((name, bool(ok)))
        print(json.dumps({"check": name, "ok": bool(ok), "detail": detail}, ensure_ascii=False, sort_keys=True),
              flush=True)
        return ok

    def close(self):
        for c in self.clients.values():
            c.close()

    # ----------------------------------------------------------------- commands with retries

    def execute(self, client_id, seq, op, node):
        """Send (client_id, seq, op) until a definite answer or --op-deadline. Starts at `node`,
        moves to the other nodes after repeated transport failures on one node."""
        out = Outcome()
        deadline = time.monotonic() + self.op_deadline
        nodes = [node] + [a for a in self.order if a != node]
        idx = 0
        failures_here = 0
        maybe_sent = False   # an earlier copy may have reached a node
        backoff = 0.1
        while True:
            addr = nodes[idx % len(nodes)]
            if time.monotonic() >= deadline:
                out.status = "indeterminate"
                out.error = "no definite answer within %.0f s (op deadline)" % self.op_deadline
                return out
            client = self.clients[addr]
            try:
                resp = client.request(client_id, seq, op)
            except kv.ConnectFailed as e:
                out.attempts.append("%s: connect failed: %s" % (addr, e))
                failures_here += 1
            except kv.Indeterminate as e:
                out.attempts.append("%s: %s: %s" % (addr, type(e).__name__, e))
                maybe_sent = True
                failures_here += 1
            except (kv.ProtocolError, kv.UnexpectedResult) as e:
                out.attempts.append("%s: %s: %s" % (addr, type(e).__name__, e))
                out.status = "error"
                out.node = addr
                out.error = "%s: %s" % (type(e).__name__, e)
                return out
            except ValueError as e:   # our own encoding refused the command
                out.status = "error"
                out.error = "cannot encode: %s" % e
                return out
            else:
                out.node = addr
                out.response = resp
                if resp["status"] == "unknown":
                    out.attempts.append("%s: unknown (%s)" % (addr, resp["reason"]))
                    maybe_sent = True
                    failures_here = 0
                elif resp["status"] == "rejected":
                    out.attempts.append("%s: rejected (%s)" % (addr, resp["reason"]))
                    out.status = "rejected"
                    out.definite = True
                    return out
                else:
                    out.attempts.append("%s: result %s" % (addr, resp["result"]["kind"]))
                    out.status = "result"
                    out.result = resp["result"]
                    # session-expired is definite only for a first send (protocol.md).
                    out.definite = not (resp["result"]["kind"] == "session-expired" and maybe_sent)
                    return out
            if failures_here >= 3:
                idx += 1
                failures_here = 0
            time.sleep(min(backoff, max(0.0, deadline - time.monotonic())))
            backoff = min(backoff * 2, 1.0)

    def expect(self, name, client_id, seq, op, node, expected, extra=None):
        """Run one command and report whether its result equals `expected`."""
        out = self.execute(client_id, seq, op, node)
        ok = out.status == "result" and out.result == expected
        detail = {"clientId": client_id, "seq": seq, "op": op, "expected": expected}
        detail.update(out.summary())
        if out.status == "result" and out.result.get("kind") == "session-expired":
            detail["note"] = "session-expired (%s)" % ("definite" if out.definite else "indeterminate")
        if out.status == "indeterminate":
            detail["note"] = "indeterminate: the command may or may not have taken effect"
        if extra:
            detail.update(extra)
        if out.status == "result" and out.result.get("kind") != "session-expired":
            self.logged_commands.append((client_id, seq, op))
        self.report(name, ok, detail)
        return out

    # ----------------------------------------------------------------- (a) leader and entry point

    def poll_statuses(self):
        """One status request to every node, in parallel (one Client per node)."""
        def one(addr):
            try:
                return self.clients[addr].status()
            except kv.KvshError as e:
                return "%s: %s" % (type(e).__name__, e)
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(16, len(self.order))) as pool:
            return dict(zip(self.order, pool.map(one, self.order)))

    @staticmethod
    def pick_leader(views):
        """Returns (leader node id, its address or None, how)."""
        leaders = [(addr, st) for addr, st in views.items()
                   if isinstance(st, dict) and st["role"] == "leader" and not kv.is_bottom(st["leaderBallot"])]
        if leaders:
            addr, st = max(leaders, key=lambda x: ballot_tuple(x[1]["leaderBallot"]))
            return st["nodeId"], addr, "reports role leader, phase %s, ballot %s" % (
                st["phase"], ballot_str(st["leaderBallot"]))
        # Leader not reachable at any given address: followers that agree name it.
        named = {}
        for st in views.values():
            if isinstance(st, dict) and not kv.is_bottom(st["electedBallot"]):
                named.setdefault(st["electedBallot"]["pid"], []).append(st["nodeId"])
        answered = sum(1 for st in views.values() if isinstance(st, dict))
        for pid, who in named.items():
            if answered and len(who) * 2 > answered and pid not in [
                    st["nodeId"] for st in views.values() if isinstance(st, dict)]:
                return pid, None, "named by electedBallot.pid of nodes %s (not among --nodes or unreachable)" % who
        return None, None, "no node reports a leader"

    def find_leader(self):
        t0 = time.monotonic()
        deadline = t0 + self.leader_wait
        polls = 0
        while True:
            views = self.poll_statuses()
            polls += 1
            leader_id, leader_addr, how = self.pick_leader(views)
            ready = leader_id is not None and (
                leader_addr is None or views[leader_addr]["phase"] == "accept")
            if ready or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
        self.statuses = views
        summary = {}
        for addr, st in views.items():
            if isinstance(st, dict):
                summary[addr] = {"nodeId": st["nodeId"], "role": st["role"], "phase": st["phase"],
                                 "elected": ballot_str(st["electedBallot"]),
                                 "quorumConnected": st["quorumConnected"],
                                 "logLength": st["logLength"], "decidedIdx": st["decidedIdx"],
                                 "appliedIdx": st["appliedIdx"], "compactedIdx": st["compactedIdx"],
                                 "incarnation": st["incarnation"], "voter": st["voter"],
                                 "fsync": st["fsync"]}
            else:
                summary[addr] = st
        detail = {"leaderId": leader_id, "leaderAddress": leader_addr, "how": how, "polls": polls,
                  "seconds": round(time.monotonic() - t0, 2), "nodes": summary}
        ok = leader_id is not None
        if ok:
            disagree = [addr for addr, st in views.items() if isinstance(st, dict)
                        and st["electedBallot"]["pid"] != leader_id]
            if disagree:
                detail["electedBallotDisagrees"] = disagree
            if leader_addr is not None and views[leader_addr]["phase"] != "accept":
                detail["warning"] = "leader not in phase accept after %.0f s" % self.leader_wait
        self.leader_id, self.leader_addr = leader_id, leader_addr
        return self.report("find-leader", ok, detail)

    def check_statuses(self):
        problems = []
        ids = {}
        for addr, st in self.statuses.items():
            if not isinstance(st, dict):
                continue
            if st["nodeId"] in ids:
                problems.append("%s and %s both report nodeId %d" % (ids[st["nodeId"]], addr, st["nodeId"]))
            ids[st["nodeId"]] = addr
            if st["decidedIdx"] > st["logLength"]:
                problems.append("%s: decidedIdx %d > logLength %d" % (addr, st["decidedIdx"], st["logLength"]))
            if st["appliedIdx"] > st["decidedIdx"]:
                problems.append("%s: appliedIdx %d > decidedIdx %d" % (addr, st["appliedIdx"], st["decidedIdx"]))
            if st["compactedIdx"] > st["appliedIdx"]:
                problems.append("%s: compactedIdx %d > appliedIdx %d" % (addr, st["compactedIdx"], st["appliedIdx"]))
            if st["role"] == "follower" and not kv.is_bottom(st["leaderBallot"]):
                problems.append("%s: follower with leaderBallot %s (should be bottom)" % (
                    addr, ballot_str(st["leaderBallot"])))
            if st["role"] == "leader" and st["leaderBallot"]["pid"] not in (0, st["nodeId"]):
                problems.append("%s: leaderBallot.pid %d is not its nodeId %d" % (
                    addr, st["leaderBallot"]["pid"], st["nodeId"]))
            # protocol.md status-response: voter 1 only for an incarnation the membership
            # records as a voter, so never with the empty incarnation.
            if st["voter"] and st["incarnation"] == "":
                problems.append("%s: voter without an incarnation" % addr)
            if not st["voter"] and st["phase"] != "none":
                problems.append("%s: not a voter (learner, or a data directory the cluster does not know)"
                                " - reported, not a protocol error" % addr)
            if any(p["id"] == st["nodeId"] for p in st["peers"]):
                problems.append("%s: lists itself among its peers" % addr)
            if not st["fsync"]:
                problems.append("%s: fsync off (UNSAFE) - reported, not a protocol error" % addr)
        hard = [p for p in problems if "not a protocol error" not in p]
        answered = [a for a, st in self.statuses.items() if isinstance(st, dict)]
        self.report("status-sane", not hard and answered,
                    {"answered": answered, "problems": problems})

    def choose_entry(self):
        live = [a for a in self.order if isinstance(self.statuses.get(a), dict)]
        non_leaders = [a for a in live if self.statuses[a]["nodeId"] != self.leader_id]
        non_leaders.sort(key=lambda a: not self.statuses[a]["quorumConnected"])
        ok = bool(non_leaders)
        if ok:
            self.entry = non_leaders[0]
        elif live:
            self.entry = live[0]
        else:
            self.entry = self.order[0]
        others = [a for a in live if a != self.entry]
        # "other" node for resends: the leader if reachable, else another live node.
        if self.leader_addr in others:
            self.other = self.leader_addr
        elif others:
            self.other = others[0]
        else:
            self.other = self.entry
        st = self.statuses.get(self.entry)
        self.start_decided = st["decidedIdx"] if isinstance(st, dict) else 0
        self.report("entry-point", ok, {
            "entry": self.entry, "entryNodeId": st["nodeId"] if isinstance(st, dict) else None,
            "leaderId": self.leader_id, "resendNode": self.other,
            "entryDecidedIdxBefore": self.start_decided,
            "note": None if ok else "no reachable non-leader node; using %s" % self.entry})

    # ----------------------------------------------------------------- (a) basic operations

    def basic_ops(self):
        cid = kv.new_client_id()
        k = "smoke-%s-k" % self.run_id
        e = self.entry
        seq = iter(range(1, 1000))
        self.expect("put", cid, next(seq), kv.op_put(k, "v1"), e, {"kind": "ok"})
        self.expect("get", cid, next(seq), kv.op_get(k), e, {"kind": "value", "value": "v1"})
        self.expect("cas-ok", cid, next(seq), kv.op_cas(k, "v1", "v2"), e, {"kind": "ok"})
        self.expect("cas-mismatch", cid, next(seq), kv.op_cas(k, "v1", "v3"), e,
                    {"kind": "mismatch", "current": "v2"})
        self.expect("get-after-mismatch", cid, next(seq), kv.op_get(k), e, {"kind": "value", "value": "v2"})
        self.expect("delete", cid, next(seq), kv.op_delete(k), e, {"kind": "deleted", "existed": True})
        self.expect("get-after-delete", cid, next(seq), kv.op_get(k), e, {"kind": "not-found"})
        self.expect("delete-absent", cid, next(seq), kv.op_delete(k), e, {"kind": "deleted", "existed": False})
        self.expect("cas-absent-mismatch", cid, next(seq), kv.op_cas(k, "v2", "v4"), e,
                    {"kind": "mismatch", "current": None})
        # UTF-8 key, value with a leading U+FEFF (must be kept), and an empty value.
        ku = "smoke-%s-\u00e9\u6f22" % self.run_id
        vu = "\ufeffv\u00e4l\U0001F600"
        self.expect("utf8-put", cid, next(seq), kv.op_put(ku, vu), e, {"kind": "ok"})
        self.expect("utf8-get", cid, next(seq), kv.op_get(ku), e, {"kind": "value", "value": vu})
        self.expect("empty-value-put", cid, next(seq), kv.op_put(ku, ""), e, {"kind": "ok"})
        self.expect("empty-value-get", cid, next(seq), kv.op_get(ku), e, {"kind": "value", "value": ""})
        self.basic_client = cid

    # ----------------------------------------------------------------- (b) applied once

    def resend(self, client_id, seq, op, nodes):
        """Send the same command to each node in turn; return the outcomes."""
        return [(n, self.execute(client_id, seq, op, n)) for n in nodes]

    def dedupe_cas(self):
        cid = kv.new_client_id()
        k = "smoke-%s-once" % self.run_id
        op = kv.op_cas(k, None, "v1")
        sends = self.resend(cid, 1, op, [self.entry, self.other, self.entry])
        answers = [o.result if o.status == "result" else o.status for _, o in sends]
        ok = all(a == {"kind": "ok"} for a in answers)
        self.report("dedupe-cas-resend", ok, {
            "clientId": cid, "seq": 1, "op": op,
            "expected": "every copy answered the same ok (the remembered result)",
            "answers": [{"sentTo": n, **o.summary()} for n, o in sends]})
        if any(o.status == "result" for _, o in sends):
            self.logged_commands.append((cid, 1, op))
        self.expect("dedupe-cas-new-seq", cid, 2, op, self.entry, {"kind": "mismatch", "current": "v1"},
                    {"why": "same CAS under a new seq: the key exists now"})
        self.expect("dedupe-cas-get", cid, 3, kv.op_get(k), self.other, {"kind": "value", "value": "v1"})

    def dedupe_put(self):
        b = kv.new_client_id()
        c = kv.new_client_id()
        k = "smoke-%s-put" % self.run_id
        self.expect("dedupe-put-key-absent", b, 1, kv.op_get(k), self.entry, {"kind": "not-found"})
        put = kv.op_put(k, "p1")
        self.expect("dedupe-put-p1", b, 2, put, self.entry, {"kind": "ok"})
        self.expect("dedupe-put-other-client-p2", c, 1, kv.op_put(k, "p2"), self.other, {"kind": "ok"})
        again = self.execute(b, 2, put, self.other)
        self.report("dedupe-put-resend", again.status == "result" and again.result == {"kind": "ok"},
                    dict({"clientId": b, "seq": 2, "op": put, "sentTo": self.other,
                          "expected": {"kind": "ok"}}, **again.summary()))
        self.expect("dedupe-put-not-reapplied", b, 3, kv.op_get(k), self.entry, {"kind": "value", "value": "p2"},
                    {"why": "the resent put of p1 must not execute again after the other client's p2"})

    def counter(self):
        d = kv.new_client_id()
        k = "smoke-%s-counter" % self.run_id
        self.expect("counter-init", d, 1, kv.op_put(k, "0"), self.entry, {"kind": "ok"})
        seq = 2
        all_ok = True
        answers = []
        for i in range(1, 4):
            op = kv.op_cas(k, str(i - 1), str(i))
            sends = self.resend(d, seq, op, [self.entry, self.other, self.entry])
            got = [o.result if o.status == "result" else o.status for _, o in sends]
            answers.append({"seq": seq, "op": op, "answers": got})
            if any(o.status == "result" for _, o in sends):
                self.logged_commands.append((d, seq, op))
            all_ok = all_ok and all(a == {"kind": "ok"} for a in got)
            seq += 1
        self.report("counter-increments-resent", all_ok, {"clientId": d, "increments": answers})
        self.expect("counter-value", d, seq, kv.op_get(k), self.other, {"kind": "value", "value": "3"},
                    {"why": "3 increments, each sent 3 times, applied once each"})
        seq += 1
        self.expect("counter-stale-increment", d, seq, kv.op_cas(k, "2", "3"), self.entry,
                    {"kind": "mismatch", "current": "3"})

    # ----------------------------------------------------------------- (c) log

    def log_check(self):
        nodes = [self.entry] + [a for a in self.order if a != self.entry]
        last_err = None
        for addr in nodes:
            try:
                return self._log_from(addr)
            except kv.TransportError as e:
                last_err = "%s: %s: %s" % (addr, type(e).__name__, e)
            except (kv.ProtocolError, ValueError) as e:
                return self.report("log", False, {"node": addr, "error": "%s: %s" % (type(e).__name__, e)})
        return self.report("log", False, {"error": "no node answered a log request", "last": last_err})

    def _log_from(self, addr):
        client = self.clients[addr]
        start = self.start_decided if addr == self.entry else 0
        nxt = start
        pages = 0
        scanned = 0
        problems = []
        entries = []           # (index, entry)
        first_from = None
        log_len = None
        while pages < 400 and scanned < 400000:
            resp = client.log(nxt, 1000)
            pages += 1
            log_len = resp["logLength"]
            if resp["decidedIdx"] > resp["logLength"]:
                problems.append("decidedIdx %d > logLength %d" % (resp["decidedIdx"], resp["logLength"]))
            if resp["entries"] and resp["from"] + len(resp["entries"]) > resp["logLength"]:
                problems.append("from %d + %d entries > logLength %d" % (
                    resp["from"], len(resp["entries"]), resp["logLength"]))
            if first_from is None:
                first_from = resp["from"]
            if resp["entries"] and resp["from"] != nxt:
                problems_note = "asked from %d, got from %d" % (nxt, resp["from"])
                if resp["from"] < nxt:
                    problems.append(problems_note + " (before the index asked)")
                elif pages > 1:
                    problems.append(problems_note + " (gap between pages)")
            if not resp["entries"]:
                break
            for i, e in enumerate(resp["entries"]):
                entries.append((resp["from"] + i, e))
            scanned += len(resp["entries"])
            nxt = resp["from"] + len(resp["entries"])
            if nxt >= resp["logLength"]:
                break
        self.report("log-decodes", not problems, {
            "node": addr, "askedFrom": start, "firstFrom": first_from, "pages": pages, "entries": len(entries),
            "logLength": log_len, "problems": problems,
            "sample": [{"index": i, "entry": e} for i, e in entries[-3:]]})
        # This run's definitely answered commands must be in the log (at least once each:
        # duplicates of a resent command may be in the log; applying skips them).
        found = {}
        for i, e in entries:
            if e["kind"] == "command":
                found.setdefault((e["clientId"], e["seq"], json.dumps(e["op"], sort_keys=True)), []).append(i)
        missing = []
        dupes = {}
        for cid, seq, op in self.logged_commands:
            key = (cid, seq, json.dumps(op, sort_keys=True))
            if key not in found:
                missing.append({"clientId": cid, "seq": seq, "op": op})
            elif len(found[key]) > 1:
                dupes["%s/%d" % (cid, seq)] = found[key]
        compacted = first_from is not None and first_from > start
        ok = not missing or compacted
        self.report("log-has-commands", ok, {
            "node": addr, "commands": len(self.logged_commands), "missing": missing[:10],
            "duplicatesInLog": dupes,
            "note": ("log starts at %d > asked %d (compacted?): missing commands tolerated"
                     % (first_from, start)) if compacted and missing else None})

    # ----------------------------------------------------------------- run

    def run(self):
        try:
            if not self.find_leader():
                return
            self.check_statuses()
            self.choose_entry()
            self.basic_ops()
            self.dedupe_cas()
            self.dedupe_put()
            self.counter()
            self.log_check()
        finally:
            self.close()


def parse_nodes(s):
    out = []
    for part in s.split(","):
        if not part.strip():
            continue
        out.append(kv.parse_address(part))
    if not out:
        raise ValueError("--nodes lists no address")
    if len(set(out)) != len(out):
        raise ValueError("--nodes lists an address twice")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description="kvsh cluster smoke test over the client port (protocol.md)")
    ap.add_argument("--nodes", required=True, help="comma-separated host:port of client ports")
    ap.add_argument("--timeout", type=float, default=2.0, help="socket timeout per attempt, s (default 2)")
    ap.add_argument("--leader-wait", type=float, default=20.0, help="how long to wait for a leader, s (default 20)")
    ap.add_argument("--op-deadline", type=float, default=20.0,
                    help="how long one command is retried before it is reported indeterminate, s (default 20)")
    args = ap.parse_args(argv)   # exits 2 on a usage error
    try:
        nodes = parse_nodes(args.nodes)
    except ValueError as e:
        ap.print_usage(sys.stderr)
        print("smoke.py: error: %s" % e, file=sys.stderr)
        return 2
    if args.timeout <= 0 or args.leader_wait < 0 or args.op_deadline <= 0:
        ap.print_usage(sys.stderr)
        print("smoke.py: error: timeouts must be positive", file=sys.stderr)
        return 2
    smoke = Smoke(nodes, args.timeout, args.leader_wait, args.op_deadline)
    t0 = time.monotonic()
    interrupted = False
    try:
        smoke.run()
    except KeyboardInterrupt:
        interrupted = True
    except Exception as e:   # a bug in this script: report it as a failed check, not a traceback only
        import traceback
        smoke.report("smoke-internal-error", False, {"error": "%s: %s" % (type(e).__name__, e),
                                                     "traceback": traceback.format_exc()})
    failed = [n for n, ok in smoke.results if not ok]
    all_ok = bool(smoke.results) and not failed and not interrupted
    print(json.dumps({"summary": True, "ok": all_ok, "checks": len(smoke.results),
                      "passed": len(smoke.results) - len(failed), "failed": failed,
                      "interrupted": interrupted, "seconds": round(time.monotonic() - t0, 2)}), flush=True)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
