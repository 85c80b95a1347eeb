#!/usr/bin/env python3
"""Check kvsh_client's codec against every hex example in protocol.md.

The examples are parsed from ../../protocol.md (relative to this file) at run time:
  * the vector tables of the "Examples" section (name | hex frame body),
  * the "Full frame" block (length prefix + body),
  * the annotated hex blocks (hex, then a comment), compared with the vector of the same name,
  * the inline hex fragments (`...00 02`, `02 | 00000002 c3a9 | 00000000`, `017f ... 3561`, ...),
  * the length-prefix examples of "Framing" (32 -> `20`, ...).
Each vector is decoded and compared with the meaning the document gives it (its name, its
annotation, the prose), encoded back from that meaning, and round-tripped. Every hex
fragment found in the Examples section must be claimed by some check, otherwise the test
fails ("unchecked example"). Extra negative checks: truncation, trailing bytes, bad codes.

Prints one line per check; exits 0 if all pass, 1 otherwise (2 on a usage error).
Usage: python3 self_test.py [--protocol PATH]
"""

from __future__ import annotations

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import kvsh_client as kv  # noqa: E402

PROTOCOL = os.path.normpath(os.path.join(HERE, "..", "..", "protocol.md"))

results = []


def check(name, ok, detail=""):
    results.append((name, bool(ok), detail))
    print("%s  %s%s" % ("PASS" if ok else "FAIL", name, ("  -- " + str(detail)) if detail and not ok else ""))
    return ok


def expect_raise(name, exc_type, fn, *args):
    try:
        fn(*args)
    except exc_type as e:
        return check(name, True, str(e))
    except Exception as e:  # wrong exception type
        return check(name, False, "raised %s: %s (wanted %s)" % (type(e).__name__, e, exc_type.__name__))
    return check(name, False, "did not raise %s" % exc_type.__name__)


# --------------------------------------------------------------------------- expected meanings
# What the document says each vector is: from the vector's name, the annotated blocks and the
# prose of the Examples section. Where the document only gives the hex (most peer vectors, and
# "cas if absent"'s value), the meaning was worked out by hand from the layout tables.

B = lambda n, p, pid: {"n": n, "priority": p, "pid": pid}  # noqa: E731
CMD_C1_3_PUT = {"kind": "command", "clientId": "c1", "seq": 3, "op": {"op": "put", "key": "k", "value": "v1"}}
LOCALHOST = "127.0.0.1"
# Incarnations named in the Examples' prose ("3b9c4f2a81d0e657", "1f0e2d3c4b5a6978", and node
# 2's "2a7e1c9d04b3f865" in the status-response block; the heartbeat-reply, also from node 2,
# carries the same one, read off its hex).
INC3 = "3b9c4f2a81d0e657"
INC1 = "1f0e2d3c4b5a6978"
INC2 = "2a7e1c9d04b3f865"

EXPECTED = {
    # client port
    "client-request get": {"type": "client-request", "requestId": 1, "clientId": "c1", "seq": 1,
                           "op": {"op": "get", "key": "k"}},
    "client-request put": {"type": "client-request", "requestId": 2, "clientId": "c1", "seq": 2,
                           "op": {"op": "put", "key": "k", "value": "v1"}},
    "client-request cas": {"type": "client-request", "requestId": 3, "clientId": "c1", "seq": 3,
                           "op": {"op": "cas", "key": "k", "expected": "v1", "value": "v2"}},
    "client-request cas if absent": {"type": "client-request", "requestId": 4, "clientId": "c1", "seq": 4,
                                     "op": {"op": "cas", "key": "k", "expected": None, "value": "v0"}},
    "client-request delete": {"type": "client-request", "requestId": 5, "clientId": "c1", "seq": 5,
                              "op": {"op": "delete", "key": "k"}},
    "client-request utf-8 key": {"type": "client-request", "requestId": 6, "clientId": "c1", "seq": 6,
                                 "op": {"op": "put", "key": "\u00e9", "value": ""}},
    "client-response value": {"type": "client-response", "requestId": 1, "status": "result",
                              "result": {"kind": "value", "value": "v1"}},
    "client-response not-found": {"type": "client-response", "requestId": 1, "status": "result",
                                  "result": {"kind": "not-found"}},
    "client-response ok": {"type": "client-response", "requestId": 2, "status": "result",
                           "result": {"kind": "ok"}},
    "client-response mismatch": {"type": "client-response", "requestId": 3, "status": "result",
                                 "result": {"kind": "mismatch", "current": "v9"}},
    "client-response mismatch absent": {"type": "client-response", "requestId": 3, "status": "result",
                                        "result": {"kind": "mismatch", "current": None}},
    "client-response deleted": {"type": "client-response", "requestId": 5, "status": "result",
                                "result": {"kind": "deleted", "existed": True}},
    "client-response session-expired": {"type": "client-response", "requestId": 7, "status": "result",
                                        "result": {"kind": "session-expired"}},
    "client-response unknown": {"type": "client-response", "requestId": 8, "status": "unknown",
                                "reason": "timeout"},
    "client-response rejected": {"type": "client-response", "requestId": 9, "status": "rejected",
                                 "reason": "key too long"},
    "status-request": {"type": "status-request", "requestId": 10},
    "status-response": {
        "type": "status-response", "requestId": 10, "nodeId": 2, "role": "follower", "phase": "accept",
        "leaderBallot": B(0, 0, 0), "electedBallot": B(3, 0, 1), "quorumConnected": True,
        "promised": B(3, 0, 1), "acceptedRnd": B(3, 0, 1), "logLength": 42, "decidedIdx": 41,
        "appliedIdx": 41, "compactedIdx": 32, "incarnation": INC2, "voter": True, "fsync": True,
        "peers": [{"id": 1, "connected": True}, {"id": 3, "connected": False}]},
    "log-request": {"type": "log-request", "requestId": 11, "from": 40, "count": 2},
    "log-response": {"type": "log-response", "requestId": 11, "from": 40, "decidedIdx": 41, "logLength": 42,
                     "entries": [CMD_C1_3_PUT, {"kind": "expire-sessions", "idleBefore": 7}]},
    "error": {"type": "error", "code": 2, "name": "unknown-type", "message": "unknown message type 0x5a"},
    # peer port
    "peer-hello (node 3, \"local\")": {"type": "peer-hello", "nodeId": 3, "clusterId": "local"},
    "check-in (3, 127.0.0.1, 7103, 7203)": {"type": "check-in", "node": {
        "id": 3, "host": LOCALHOST, "peerPort": 7103, "clientPort": 7203}, "incarnation": INC3},
    # "boot": its annotated block (node 3 checked in as INC3, node 1 had not).
    "boot (\"local\", nodes 1 and 3)": {"type": "boot", "clusterId": "local", "nodes": [
        {"id": 1, "host": LOCALHOST, "peerPort": 7101, "clientPort": 7201},
        {"id": 3, "host": LOCALHOST, "peerPort": 7103, "clientPort": 7203}], "members": [
        {"id": 1, "incarnation": "", "voter": False}, {"id": 3, "incarnation": INC3, "voter": True}]},
    "boot-ready (3)": {"type": "boot-ready", "nodeId": 3},
    # Peer authentication's example: the nonces are in the names; the MACs are computed from the
    # section's MAC input (secret, cluster "local", node 1 dials node 3), see check_auth_example.
    "auth-challenge (dialer nonce 00…1f)": {"type": "auth-challenge", "nonce": bytes(range(0x00, 0x20))},
    "auth-challenge (acceptor nonce 20…3f)": {"type": "auth-challenge", "nonce": bytes(range(0x20, 0x40))},
    "auth-proof (acceptor)": {"type": "auth-proof", "mac": kv.auth_mac(
        b"kvsh example secret, not for use", "acceptor", "local", 1, 3, bytes(range(0x00, 0x20)), bytes(range(0x20, 0x40)))},
    "auth-proof (dialer)": {"type": "auth-proof", "mac": kv.auth_mac(
        b"kvsh example secret, not for use", "dialer", "local", 1, 3, bytes(range(0x00, 0x20)), bytes(range(0x20, 0x40)))},
    "heartbeat-request (round 9)": {"type": "heartbeat-request", "round": 9},
    "heartbeat-reply (9, (3,0,2), qc)": {"type": "heartbeat-reply", "round": 9, "ballot": B(3, 0, 2), "qc": True,
                                         "inc": INC2},
    "prepare": {"type": "prepare", "n": B(4, 0, 1), "decidedIdx": 41, "acceptedRnd": B(3, 0, 1),
                "acceptedIdx": 42},
    # "promise without sync": its annotated block.
    "promise without sync": {"type": "promise", "n": B(4, 0, 1), "acceptedRnd": B(3, 0, 1),
                             "decidedIdx": 41, "acceptedIdx": 42, "inc": INC3, "sync": None},
    "promise with sync": {"type": "promise", "n": B(4, 0, 1), "acceptedRnd": B(3, 0, 2),
                          "decidedIdx": 41, "acceptedIdx": 43, "inc": INC3,
                          "sync": {"syncIdx": 42, "suffix": [CMD_C1_3_PUT], "snapshot": None}},
    # "promise with snapshot": from the layout tables and the prose after the accept-sync block
    # (41 entries covered, two sessions, c2's result value "v1", two members: node 1 a voter
    # as INC1, node 3 a learner as INC3; empty suffix); the rest read off the hex by hand.
    "promise with snapshot": {"type": "promise", "n": B(4, 0, 1), "acceptedRnd": B(3, 0, 2),
                              "decidedIdx": 41, "acceptedIdx": 41, "inc": INC3,
                              "sync": {"syncIdx": 41, "suffix": [], "snapshot": {
                                  "idx": 41, "kv": [["k", "v1"]], "sessions": [
                                      {"clientId": "c1", "lastSeq": 3, "lastIdx": 40, "lastResult": {"kind": "ok"}},
                                      {"clientId": "c2", "lastSeq": 5, "lastIdx": 38,
                                       "lastResult": {"kind": "value", "value": "v1"}}], "members": [
                                      {"id": 1, "incarnation": INC1, "voter": True},
                                      {"id": 3, "incarnation": INC3, "voter": False}]}}},
    "accept-sync": {"type": "accept-sync", "n": B(4, 0, 1), "seq": {"session": 1, "counter": 1},
                    "decidedIdx": 41, "sync": {"syncIdx": 41, "suffix": [CMD_C1_3_PUT], "snapshot": None}},
    # "accept-sync with snapshot": its annotated block.
    "accept-sync with snapshot": {"type": "accept-sync", "n": B(4, 0, 1), "seq": {"session": 2, "counter": 1},
                                  "decidedIdx": 41, "sync": {"syncIdx": 40, "suffix": [CMD_C1_3_PUT], "snapshot": {
                                      "idx": 40, "kv": [["k", "v0"]], "sessions": [
                                          {"clientId": "c1", "lastSeq": 2, "lastIdx": 39, "lastResult": {"kind": "ok"}}],
                                      "members": [{"id": 1, "incarnation": INC1, "voter": True}]}}},
    "accept-decide": {"type": "accept-decide", "n": B(4, 0, 1), "seq": {"session": 1, "counter": 2},
                      "decidedIdx": 42, "entries": [CMD_C1_3_PUT]},
    "accepted": {"type": "accepted", "n": B(4, 0, 1), "acceptedIdx": 43, "inc": INC3},
    "decide": {"type": "decide", "n": B(4, 0, 1), "seq": {"session": 1, "counter": 3}, "decidedIdx": 43},
    "not-accepted": {"type": "not-accepted", "n": B(5, 0, 3)},
    "prepare-req": {"type": "prepare-req", "n": B(4, 0, 1)},
    "proposal-forward": {"type": "proposal-forward", "entries": [CMD_C1_3_PUT]},
    # its annotated block: join (3, INC3, replace), then promote (3, INC3).
    "proposal-forward with membership entries": {"type": "proposal-forward", "entries": [
        {"kind": "join", "id": 3, "incarnation": INC3, "replace": True},
        {"kind": "promote", "id": 3, "incarnation": INC3}]},
    # The vector's name says it all: total 4 MiB + 1, and the first 3 bytes of that message:
    # version 3, type 0x23 (an accept-decide), the first byte of its n.
    "fragment (first 3 bytes of a 4,194,305-byte message)":
        {"type": "fragment", "total": 4 * 1024 * 1024 + 1, "chunk": bytes([kv.VERSION, 0x23, 0x00])},
}

# Sizes stated in "Sequence Paxos": prepare 42, accepted 26 + i (i = the incarnation's bytes),
# decide 38, not-accepted and prepare-req 14.
STATED_SIZES = {"prepare": lambda m: 42, "accepted": lambda m: 26 + len(m["inc"].encode("utf-8")),
                "decide": lambda m: 38, "not-accepted": lambda m: 14, "prepare-req": lambda m: 14}

# --------------------------------------------------------------------------- markdown parsing

HEX_TOKEN = re.compile(r"^[0-9a-f]+$")


def examples_section(text):
    m = re.search(r"^## Examples\s*$", text, re.M)
    if not m:
        raise SystemExit("protocol.md has no '## Examples' section")
    rest = text[m.end():]
    n = re.search(r"^## ", rest, re.M)
    return rest[: n.start()] if n else rest


def parse_tables(section):
    """Rows '| name | `hex` |' -> ordered list of (name, hex)."""
    rows = []
    for line in section.splitlines():
        m = re.match(r"^\|\s*(.+?)\s*\|\s*`([0-9a-f]+)`\s*\|\s*$", line)
        if m:
            rows.append((m.group(1), m.group(2)))
    return rows


def parse_blocks(section):
    """Code blocks with the nearest preceding bold title: [(title, [lines])]."""
    blocks = []
    title = None
    lines = section.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        bm = re.match(r"^\*\*(.+?)\*\*", line)
        if bm:
            title = bm.group(1).rstrip(".")
        if line.strip().startswith("```"):
            body = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                body.append(lines[i])
                i += 1
            blocks.append((title, body))
        i += 1
    return blocks


def block_hex(body_lines):
    """Hex of an annotated block: on each line, the part before the first run of 2+
    spaces, if it is made only of hex tokens."""
    out = []
    for line in body_lines:
        head = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
        tokens = head.split()
        if tokens and all(HEX_TOKEN.match(t) and len(t) % 2 == 0 for t in tokens):
            out.append("".join(tokens))
    return "".join(out)


def unhex(s):
    return bytes.fromhex(s)


# --------------------------------------------------------------------------- checks

def check_vector(name, hx):
    body = unhex(hx)
    try:
        m = kv.decode_message(body)
    except Exception as e:
        check("decode %s" % name, False, "%s: %s" % (type(e).__name__, e))
        return None
    check("decode %s" % name, True)
    try:
        again = kv.encode_message(m)
        check("round-trip %s" % name, again == body, "re-encoded %s" % again.hex())
    except Exception as e:
        check("round-trip %s" % name, False, "%s: %s" % (type(e).__name__, e))
    exp = EXPECTED.get(name)
    if exp is None:
        check("meaning known for %s" % name, False,
              "vector not described to this test; decoded as %r" % (m,))
    else:
        check("decoded %s matches the document" % name, m == exp, "decoded %r, expected %r" % (m, exp))
        try:
            enc = kv.encode_message(exp)
            check("encode %s from its meaning" % name, enc == body, "encoded %s" % enc.hex())
        except Exception as e:
            check("encode %s from its meaning" % name, False, "%s: %s" % (type(e).__name__, e))
    if m["type"] in STATED_SIZES:
        size = STATED_SIZES[m["type"]](m)
        check("size of %s is %d" % (name, size), len(body) == size, "is %d" % len(body))
    # Every strict prefix is cut short -> malformed; one trailing byte -> malformed.
    bad = []
    for cut in range(len(body)):
        try:
            kv.decode_message(body[:cut])
            bad.append("prefix %d decoded" % cut)
        except kv.Malformed:
            pass
        except Exception as e:
            bad.append("prefix %d raised %s" % (cut, type(e).__name__))
    check("every truncation of %s is malformed" % name, not bad, "; ".join(bad[:5]))
    expect_raise("trailing byte after %s is malformed" % name, kv.Malformed, kv.decode_message, body + b"\x00")
    # Deframing: the vector framed, split byte by byte and coalesced with a copy of itself.
    fr = kv.FrameReader()
    wire = kv.frame(body) * 2
    got = []
    for b in wire:
        got.extend(fr.feed(bytes([b])))
    got.extend(kv.FrameReader().feed(wire))
    check("deframe %s byte by byte and coalesced" % name, got == [body] * 4 and not fr.pending())
    return m


def check_identity(vectors, snap_meaning):
    """Version 3 (protocol.md "Incarnation", "Members", Entry kinds 3/4, "Node identity")."""
    snap = snap_meaning["sync"]["snapshot"]

    def with_members(ms):
        return kv.encode_message(dict(snap_meaning, sync=dict(snap_meaning["sync"], snapshot=dict(snap, members=ms))))

    m = {"id": 2, "incarnation": "0123456789abcdef", "voter": True}
    expect_raise("Members: id 0 -> malformed", kv.Malformed, kv.decode_message, with_members([dict(m, id=0)]))
    expect_raise("Members: an id twice -> malformed", kv.Malformed, kv.decode_message,
                 with_members([m, dict(m, voter=False)]))
    expect_raise("Members: a voter with an empty incarnation -> malformed", kv.Malformed, kv.decode_message,
                 with_members([dict(m, incarnation="")]))
    check("Members: a non-voter with an empty incarnation is accepted",
          kv.decode_message(with_members([dict(m, incarnation="", voter=False)]))["sync"]["snapshot"]["members"]
          == [dict(m, incarnation="", voter=False)])
    ss = bytearray(with_members([m]))
    at = 89  # members count, see the offsets above; then id (4), incarnation (4 + 16), voter at 117
    check("Members: voter byte at 117", ss[117] == 1 and ss[at:at + 4] == b"\x00\x00\x00\x01")
    expect_raise("Members: voter byte 2 -> malformed", kv.Malformed, kv.decode_message,
                 bytes(ss[:117]) + b"\x02" + bytes(ss[118:]))
    ss[at:at + 4] = (1000).to_bytes(4, "big")
    expect_raise("Members: count 1000 -> malformed (impossible count)", kv.Malformed, kv.decode_message, bytes(ss))
    check("Members: order not checked (ids 3, 1 accepted)",
          [x["id"] for x in kv.decode_message(with_members([dict(m, id=3), dict(m, id=1)]))["sync"]["snapshot"]["members"]]
          == [3, 1])

    # An incarnation of 64 characters is accepted, 65 refused, wherever one appears.
    for name, field in (("check-in (3, 127.0.0.1, 7103, 7203)", "incarnation"), ("status-response", "incarnation"),
                        ("heartbeat-reply (9, (3,0,2), qc)", "inc"), ("promise without sync", "inc"),
                        ("accepted", "inc")):
        base = EXPECTED[name]
        check("%s: a 64-character %s is accepted" % (name, field),
              kv.decode_message(kv.encode_message(dict(base, **{field: "a" * 64})))[field] == "a" * 64)
        expect_raise("%s: a 65-character %s -> malformed" % (name, field), kv.Malformed, kv.decode_message,
                     kv.encode_message(dict(base, **{field: "a" * 65})))
        check("%s: an empty %s is accepted" % (name, field),
              kv.decode_message(kv.encode_message(dict(base, **{field: ""})))[field] == "")
    expect_raise("boot: a member's 65-character incarnation -> malformed", kv.Malformed, kv.decode_message,
                 kv.encode_message(dict(EXPECTED['boot ("local", nodes 1 and 3)'],
                                        members=[{"id": 1, "incarnation": "b" * 65, "voter": True}])))
    pf = EXPECTED["proposal-forward with membership entries"]
    expect_raise("join: a 65-character incarnation -> malformed", kv.Malformed, kv.decode_message,
                 kv.encode_message({"type": "proposal-forward", "entries": [dict(pf["entries"][0], incarnation="c" * 65)]}))
    expect_raise("promote: a 65-character incarnation -> malformed", kv.Malformed, kv.decode_message,
                 kv.encode_message({"type": "proposal-forward", "entries": [dict(pf["entries"][1], incarnation="c" * 65)]}))

    # Entry layouts: join 10 + i bytes, promote 9 + i; join's replace is a bool.
    w = kv.Writer(); w.entry(pf["entries"][0])
    check("join entry is 10 + i bytes", len(w.bytes()) == 10 + 16)
    w = kv.Writer(); w.entry(pf["entries"][1])
    check("promote entry is 9 + i bytes", len(w.bytes()) == 9 + 16)
    fwd = unhex(vectors.get("proposal-forward with membership entries", ""))
    # 2 version+type, 4 count, join: 1 kind, 4 id, 20 incarnation, replace at 31
    expect_raise("join replace 2 -> malformed", kv.Malformed, kv.decode_message, fwd[:31] + b"\x02" + fwd[32:])
    w = kv.Writer(); w.entry({"kind": "promote", "id": 1, "incarnation": ""})
    check("smallest entry (promote, empty incarnation) is 9 bytes = MIN_ENTRY_SIZE",
          len(w.bytes()) == kv.MIN_ENTRY_SIZE == 9)

    # promise: inc at 42, hasSync at 46 + i.
    pr = unhex(vectors.get("promise without sync", ""))
    check("promise without sync: inc at 42 (length 16), hasSync at 62",
          int.from_bytes(pr[42:46], "big") == 16 and pr[46:62] == INC3.encode() and len(pr) == 63 and pr[62] == 0)
    expect_raise("promise hasSync 2 -> malformed", kv.Malformed, kv.decode_message, pr[:62] + b"\x02")


def main():
    path = PROTOCOL
    args = sys.argv[1:]
    if args[:1] == ["--protocol"] and len(args) == 2:
        path = args[1]
    elif args:
        print("usage: self_test.py [--protocol PATH]  (default: %s)" % PROTOCOL)
        return 2
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        print("cannot read %s: %s" % (path, e))
        return 1
    section = examples_section(text)
    claimed = set()   # hex strings (normalised) accounted for by some check

    def claim(s):
        claimed.add(re.sub(r"[\s|]", "", s))

    # 1. vector tables
    rows = parse_tables(section)
    check("found vector tables in Examples", len(rows) >= 30, "%d rows" % len(rows))
    vectors = {}
    for name, hx in rows:
        if name in vectors:
            check("vector name %s unique" % name, False)
        vectors[name] = hx
        claim(hx)
        check_vector(name, hx)
    for name in EXPECTED:
        check("document still has vector %r" % name, name in vectors)

    # 2. Full frame (prefix + body) and the `20` prefix
    blocks = parse_blocks(section)
    full = [hex_of for title, body in blocks if title and title.lower().startswith("full frame")
            for hex_of in [block_hex(body)]]
    if check("Full frame block present", len(full) == 1, "%d found" % len(full)):
        wire = unhex(full[0])
        claim(full[0])
        bodies = kv.FrameReader().feed(wire)
        put = unhex(vectors.get("client-request put", ""))
        check("Full frame deframes to one body equal to 'client-request put'", bodies == [put],
              "got %r" % [b.hex() for b in bodies])
        check("Full frame = frame(client-request put)", kv.frame(put) == wire)
        m = re.search(r"body of (\d+) bytes, so the prefix is `([0-9a-f ]+)`", section)
        if check("Full frame prose states body length and prefix", m is not None):
            claim(m.group(2))
            check("Full frame body is %s bytes" % m.group(1), len(put) == int(m.group(1)), "is %d" % len(put))
            check("prefix of %s bytes is %s" % (m.group(1), m.group(2)),
                  kv.encode_varint(int(m.group(1))) == unhex(m.group(2).replace(" ", "")))

    # 3. annotated blocks: hex must equal the vector of the same name
    for title, body in blocks:
        if not title or title.lower().startswith("full frame"):
            continue
        name = re.split(r"\s+—", title)[0].strip()
        hx = block_hex(body)
        if not hx:
            continue
        claim(hx)
        for line in body:  # claim each line's hex too (they are examples of fields)
            head = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
            claim(head)
        if check("annotated block %r names a vector" % name, name in vectors):
            check("annotated block %r equals its vector" % name, hx == vectors[name],
                  "block %s vs vector %s" % (hx, vectors[name]))

    # 4. inline fragments
    # 4a. "other responses (… = `01 41` and the requestId)": name `…tail` pairs
    para = re.search(r"The other responses \(… = `([0-9a-f ]+)` and the requestId\):(.*?)\n\n", section, re.S)
    if check("'other responses' paragraph found", para is not None):
        header = unhex(para.group(1).replace(" ", ""))
        claim(para.group(1))
        check("`%s` is version %d + type client-response" % (para.group(1), kv.VERSION),
              header == bytes([kv.VERSION, kv.TYPE_CODES["client-response"]]))
        prev = None
        found = 0
        for nm, tail in re.findall(r"([\w-]+):?\s+`…([0-9a-f ]+)`", para.group(2)):
            tail_b = unhex(tail.replace(" ", ""))
            claim(tail)
            found += 1
            base = prev if nm == "or" else nm
            prev = base
            cands = [n for n, hx in vectors.items()
                     if n.startswith("client-response " + base) and unhex(hx)[:2] == header
                     and unhex(hx)[6:] == tail_b]
            check("inline %s `…%s` is the tail of a client-response %s vector" % (nm, tail, base),
                  len(cands) >= 1)
            # and decodes to the meaning of that vector (requestId aside)
            m = kv.decode_message(header + b"\x00\x00\x00\x01" + tail_b)
            want = [dict(EXPECTED[c], requestId=1) for c in cands if c in EXPECTED]
            check("inline `…%s` decodes to %s's meaning" % (tail, "/".join(cands) or base),
                  bool(want) and m in want, repr(m))
        check("'other responses' paragraph has 8 examples", found == 8, "found %d" % found)
        for word in ("v9", "timeout", "key too long"):
            check("prose quote %r found in paragraph" % word, ('"%s"' % word) in para.group(2))

    # 4b. utf-8 key op `02 | 00000002 c3a9 | 00000000` and `c3 a9`
    m = re.search(r"so the op is `([0-9a-f |]+)`", section)
    if check("utf-8 key op fragment found", m is not None):
        claim(m.group(1))
        op_b = unhex(re.sub(r"[\s|]", "", m.group(1)))
        w = kv.Writer(); w.op({"op": "put", "key": "\u00e9", "value": ""})
        check("utf-8 key op fragment = encode(put 'é' = '')", w.bytes() == op_b)
        check("utf-8 key vector ends with the op fragment",
              unhex(vectors.get("client-request utf-8 key", "")).endswith(op_b))
    m = re.search(r'key "(.)" is the 2 UTF-8 bytes `([0-9a-f ]+)`', section)
    if check("'é is c3 a9' fragment found", m is not None):
        claim(m.group(2))
        check("%r encodes to %s" % (m.group(1), m.group(2)),
              m.group(1).encode("utf-8") == unhex(m.group(2).replace(" ", "")))

    # 4c. cas if absent: presence flag `00`, no expected string
    m = re.search(r"presence flag is `([0-9a-f]+)` and no expected string follows", section)
    if check("cas-if-absent presence flag fragment found", m is not None):
        claim(m.group(1))
        body = unhex(vectors.get("client-request cas if absent", ""))
        # op code, key "k" (4+1 bytes), then the flag
        idx = body.find(bytes([3]) + b"\x00\x00\x00\x01k")
        check("cas if absent has flag %s after the key" % m.group(1),
              idx >= 0 and body[idx + 6:idx + 7] == unhex(m.group(1)))
        check("cas if absent decodes with expected None",
              kv.decode_message(body)["op"].get("expected", "missing") is None)

    # 4d. error `017f 02 00000019 756e6b…3561`: abbreviated
    m = re.search(r"\*\*error\*\* — `([0-9a-f ]+)…([0-9a-f ]+)`: code (\d+) ([\w-]+), message \((\d+) bytes\)\s*\"([^\"]*)\"",
                  section)
    if check("error example prose found", m is not None):
        claim(m.group(1) + "…" + m.group(2))
        head = unhex(m.group(1).replace(" ", ""))
        tail = unhex(m.group(2).replace(" ", ""))
        err = unhex(vectors.get("error", ""))
        check("error vector starts with %s and ends with %s" % (m.group(1), m.group(2)),
              err.startswith(head) and err.endswith(tail))
        d = kv.decode_message(err)
        check("error vector: code %s %s, message %s bytes %r" % m.group(3, 4, 5, 6),
              d["code"] == int(m.group(3)) and d["name"] == m.group(4)
              and len(d["message"].encode()) == int(m.group(5)) and d["message"] == m.group(6), repr(d))

    # 4e. promise with snapshot: "c2's result is `01 00000002 7631`, value "v1""
    m = re.search(r"c2's result is `([0-9a-f ]+)`, value \"([^\"]*)\"", section)
    if check("promise-with-snapshot prose fragment found", m is not None):
        claim(m.group(1))
        frag = unhex(m.group(1).replace(" ", ""))
        w = kv.Writer(); w.result({"kind": "value", "value": m.group(2)})
        check("`%s` is Result value %r" % (m.group(1), m.group(2)), w.bytes() == frag)
        check("promise with snapshot holds `%s`" % m.group(1),
              frag in unhex(vectors.get("promise with snapshot", "")))

    # 5. everything hex-looking in Examples was claimed by some check
    prose = re.sub(r"^\s*```.*?^\s*```\s*$", "", section, flags=re.S | re.M)  # drop fenced blocks
    n_frag = 0
    for frag in re.findall(r"`([^`\n]+)`", prose):
        if not re.fullmatch(r"…?[0-9a-f][0-9a-f …|]*", frag):
            continue
        norm = re.sub(r"[\s|]", "", frag)
        if norm.startswith("…"):
            norm = norm[1:]
        ok = norm in claimed or (frag in claimed) or re.sub(r"[\s|]", "", frag) in claimed
        n_frag += 1
        check("hex fragment `%s` was checked" % frag, ok)
    check("found the inline hex fragments of Examples", n_frag >= 45, "%d found" % n_frag)

    # 6. Framing section: length-prefix examples, padded prefix, limits
    framing = re.search(r"^## Framing\s*$(.*?)^## ", text, re.M | re.S)
    if check("Framing section found", framing is not None):
        pairs = re.findall(r"([\d,]+) → `([0-9a-f ]+)`", framing.group(1))
        check("Framing has length-prefix examples", len(pairs) >= 3, repr(pairs))
        for num, hx in pairs:
            n = int(num.replace(",", ""))
            b = unhex(hx.replace(" ", ""))
            check("varint %d encodes to %s" % (n, hx), kv.encode_varint(n) == b, kv.encode_varint(n).hex())
            check("varint %s decodes to %d" % (hx, n), kv.decode_varint(b, 0) == (n, len(b)))
        pads = re.findall(r"padded prefix such as `([0-9a-f ]+)`", framing.group(1))
        for hx in pads:
            expect_raise("padded prefix %s refused" % hx, kv.BadLengthPrefix, kv.FrameReader().feed,
                         unhex(hx.replace(" ", "")))
    expect_raise("prefix longer than 8 bytes refused", kv.BadLengthPrefix, kv.FrameReader().feed, b"\x80" * 9)
    fr = kv.FrameReader()
    check("prefix of exactly 4 MiB accepted (body awaited)", fr.feed(kv.encode_varint(kv.MAX_BODY)) == [])
    expect_raise("prefix of 4 MiB + 1 -> frame-too-large before the body",
                 kv.FrameTooLarge, kv.FrameReader().feed, kv.encode_varint(kv.MAX_BODY + 1))
    check("empty frame deframes to an empty body", kv.FrameReader().feed(b"\x00") == [b""])

    # 7. receiver check order and primitive refusals
    put = unhex(vectors["client-request put"])
    V = bytes([kv.VERSION])   # the version byte of this document
    other = bytes([kv.VERSION + 1])
    expect_raise("body of 1 byte -> malformed", kv.Malformed, kv.decode_message, V)
    expect_raise("empty body -> malformed", kv.Malformed, kv.decode_message, b"")
    check("document version is 3", kv.VERSION == 3 and put[0] == 3)
    for ver in (0, 1, kv.VERSION + 1, 255):
        expect_raise("version %d -> unsupported-version" % ver, kv.UnsupportedVersion, kv.decode_message,
                     bytes([ver]) + put[1:])
    expect_raise("version %d + unknown type -> unsupported-version first" % other[0], kv.UnsupportedVersion,
                 kv.decode_message, other + b"\x5a")
    expect_raise("type 0x5a -> unknown-type", kv.UnknownType, kv.decode_message, V + b"\x5a")
    expect_raise("type 0x5a with garbage -> unknown-type (before fields)", kv.UnknownType,
                 kv.decode_message, V + b"\x5a\xff\xff")
    hb = unhex(vectors["heartbeat-reply (9, (3,0,2), qc)"])
    # heartbeat-reply: round 2, ballot 6, qc at 18, inc at 19.
    expect_raise("bool 0x02 -> malformed", kv.Malformed, kv.decode_message, hb[:18] + b"\x02" + hb[19:])
    mm = unhex(vectors["client-response mismatch"])
    expect_raise("presence flag 0x02 -> malformed", kv.Malformed, kv.decode_message, mm[:8] + b"\x02" + mm[9:])
    lr = bytearray(unhex(vectors["log-request"]))
    lr[6:14] = (2 ** 53).to_bytes(8, "big")
    expect_raise("u64 2^53 -> malformed", kv.Malformed, kv.decode_message, bytes(lr))
    lr[6:14] = (2 ** 53 - 1).to_bytes(8, "big")
    check("u64 2^53-1 accepted", kv.decode_message(bytes(lr))["from"] == 2 ** 53 - 1)
    expect_raise("encoder refuses u64 2^53", ValueError, kv.encode_message,
                 {"type": "log-request", "requestId": 1, "from": 2 ** 53, "count": 1})
    bad_utf8 = V + b"\x41\x00\x00\x00\x01\x00\x01\x00\x00\x00\x02\xc3\x28"
    expect_raise("invalid UTF-8 -> malformed", kv.Malformed, kv.decode_message, bad_utf8)
    surrogate = V + b"\x41\x00\x00\x00\x01\x00\x01\x00\x00\x00\x03\xed\xa0\x80"
    expect_raise("UTF-8-encoded surrogate -> malformed", kv.Malformed, kv.decode_message, surrogate)
    bom = V + b"\x41\x00\x00\x00\x01\x00\x01\x00\x00\x00\x04\xef\xbb\xbfx"
    check("leading U+FEFF kept", kv.decode_message(bom)["result"]["value"] == "\ufeffx")
    check("leading U+FEFF re-encoded", kv.encode_message(kv.decode_message(bom)) == bom)
    big = V + b"\x41\x00\x00\x00\x01\x00\x01" + (kv.MAX_STRING + 1).to_bytes(4, "big")
    expect_raise("string length > 1 MiB -> malformed", kv.Malformed, kv.decode_message,
                 big + b"a" * (kv.MAX_STRING + 1))
    ok_big = V + b"\x41\x00\x00\x00\x01\x00\x01" + kv.MAX_STRING.to_bytes(4, "big") + b"a" * kv.MAX_STRING
    check("string of exactly 1 MiB accepted", len(kv.decode_message(ok_big)["result"]["value"]) == kv.MAX_STRING)
    g = unhex(vectors["client-request get"])
    expect_raise("op code 5 -> malformed", kv.Malformed, kv.decode_message, g[:18 + 2] + b"\x05" + g[21:])
    expect_raise("result kind 7 -> malformed", kv.Malformed, kv.decode_message, V + b"\x41\x00\x00\x00\x01\x00\x07")
    expect_raise("result kind 0 -> malformed", kv.Malformed, kv.decode_message, V + b"\x41\x00\x00\x00\x01\x00\x00")
    expect_raise("response status 3 -> malformed", kv.Malformed, kv.decode_message,
                 V + b"\x41\x00\x00\x00\x01\x03\x00\x00\x00\x00")
    st = bytearray(unhex(vectors["status-response"]))
    st2 = bytearray(st); st2[10] = 3
    expect_raise("role 3 -> malformed", kv.Malformed, kv.decode_message, bytes(st2))
    st2 = bytearray(st); st2[11] = 4
    expect_raise("phase 4 -> malformed", kv.Malformed, kv.decode_message, bytes(st2))
    # status-response: compactedIdx at 85, incarnation at 93 (4 + 16), voter at 113 (97 + i),
    # fsync at 114, peers count at 115.
    check("status-response compactedIdx is the u64 at offset 85", int.from_bytes(st[85:93], "big") == 32)
    check("status-response incarnation at 93 (length 16), voter at 113, fsync at 114",
          int.from_bytes(st[93:97], "big") == 16 and st[97:113] == INC2.encode() and st[113] == 1 and st[114] == 1)
    st2 = bytearray(st); st2[113] = 2
    expect_raise("status-response voter 2 -> malformed", kv.Malformed, kv.decode_message, bytes(st2))
    st2 = bytearray(st); st2[113] = 0
    check("status-response voter 0 decodes as a non-voter", kv.decode_message(bytes(st2))["voter"] is False)
    st2 = bytearray(st); st2[115:119] = (1000).to_bytes(4, "big")
    expect_raise("peers count 1000 with 10 bytes left -> malformed", kv.Malformed, kv.decode_message, bytes(st2))
    ls = unhex(vectors["log-response"])
    expect_raise("entries count 2^32-1 -> malformed (impossible count)", kv.Malformed, kv.decode_message,
                 ls[:30] + b"\xff\xff\xff\xff" + ls[34:])
    for code in (0, 5):
        expect_raise("entry kind %d -> malformed" % code, kv.Malformed, kv.decode_message,
                     ls[:34] + bytes([code]) + ls[35:])
    ci = unhex(vectors["check-in (3, 127.0.0.1, 7103, 7203)"])
    # check-in: NodeAddress at 2 (id, host "127.0.0.1" of 9 bytes, peerPort at 19, clientPort at 23),
    # incarnation at 27.
    expect_raise("port 0 -> malformed", kv.Malformed, kv.decode_message, ci[:23] + b"\x00\x00\x00\x00" + ci[27:])
    expect_raise("port 65536 -> malformed", kv.Malformed, kv.decode_message, ci[:23] + b"\x00\x01\x00\x00" + ci[27:])
    expect_raise("encoder refuses unknown op", ValueError, kv.encode_message,
                 {"type": "client-request", "requestId": 1, "clientId": "c", "seq": 1, "op": {"op": "inc", "key": "k"}})
    expect_raise("encoder refuses lone surrogate", ValueError, kv.encode_message,
                 {"type": "client-request", "requestId": 1, "clientId": "\ud800", "seq": 1, "op": kv.op_get("k")})

    # 8. snapshots (protocol.md "LogSync", "Snapshot", "Snapshots on the wire")
    ss = unhex(vectors["accept-sync with snapshot"])
    # 38 hasSnapshot, 39 idx, 47 kv count, 51.. pair "k"="v0", 62 sessions count, 66.. "c1",
    # 72 lastSeq, 80 lastIdx, 88 lastResult, 89 members count, 93 id, 97 incarnation (4 + 16),
    # 117 voter, 118 syncIdx, 126 suffix count
    check("accept-sync with snapshot: hasSnapshot at 38, idx 40, members at 89, syncIdx 40 at 118",
          ss[38] == 1 and int.from_bytes(ss[39:47], "big") == 40 and int.from_bytes(ss[89:93], "big") == 1
          and int.from_bytes(ss[118:126], "big") == 40)
    expect_raise("hasSnapshot 2 -> malformed", kv.Malformed, kv.decode_message, ss[:38] + b"\x02" + ss[39:])
    expect_raise("syncIdx != snapshot.idx -> malformed", kv.Malformed, kv.decode_message,
                 ss[:118] + (41).to_bytes(8, "big") + ss[126:])
    expect_raise("session lastIdx = idx -> malformed", kv.Malformed, kv.decode_message,
                 ss[:80] + (40).to_bytes(8, "big") + ss[88:])
    check("session lastIdx = idx - 1 accepted", kv.decode_message(ss)["sync"]["snapshot"]["sessions"][0]["lastIdx"] == 39)
    expect_raise("snapshot kv count 2^32-1 -> malformed (impossible count)", kv.Malformed, kv.decode_message,
                 ss[:47] + b"\xff\xff\xff\xff" + ss[51:])
    expect_raise("snapshot sessions count 1000 -> malformed (impossible count)", kv.Malformed, kv.decode_message,
                 ss[:62] + (1000).to_bytes(4, "big") + ss[66:])
    meaning = EXPECTED["accept-sync with snapshot"]
    snap = meaning["sync"]["snapshot"]
    dup_key = dict(meaning, sync=dict(meaning["sync"], snapshot=dict(snap, kv=[["k", "1"], ["k", "2"]])))
    expect_raise("a key twice in a snapshot -> malformed", kv.Malformed, kv.decode_message, kv.encode_message(dup_key))
    two = [snap["sessions"][0], dict(snap["sessions"][0], lastSeq=1)]
    dup_client = dict(meaning, sync=dict(meaning["sync"], snapshot=dict(snap, sessions=two)))
    expect_raise("a clientId twice in a snapshot -> malformed", kv.Malformed, kv.decode_message,
                 kv.encode_message(dup_client))
    expect_raise("encoder refuses syncIdx != snapshot.idx", ValueError, kv.encode_message,
                 dict(meaning, sync=dict(meaning["sync"], syncIdx=41)))
    empty = dict(meaning, sync={"syncIdx": 0, "suffix": [], "snapshot": {"idx": 0, "kv": [], "sessions": [], "members": []}})
    check("empty snapshot round-trips", kv.decode_message(kv.encode_message(empty)) == empty)
    check_identity(vectors, meaning)

    failed = [r for r in results if not r[1]]
    print("self-test: %d checks, %d passed, %d failed" % (len(results), len(results) - len(failed), len(failed)))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
