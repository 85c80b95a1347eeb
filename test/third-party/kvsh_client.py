"""kvsh wire protocol: codec and client-port client, written from protocol.md alone.

Standard library only (Python 3.8+).

Messages are plain dicts with a "type" key naming the message (the names of the
type table in protocol.md, e.g. "client-request"), and the fields of its table under
the names protocol.md uses (requestId, clientId, seq, op, ...).

Values:
  Ballot      {"n": int, "priority": int, "pid": int}
  SeqNum      {"session": int, "counter": int}
  Op          {"op": "get"|"delete", "key": str}
              {"op": "put", "key": str, "value": str}
              {"op": "cas", "key": str, "expected": str|None, "value": str}
  Entry       {"kind": "command", "clientId": str, "seq": int, "op": Op}
              {"kind": "expire-sessions", "idleBefore": int}
              {"kind": "join", "id": int, "incarnation": str, "replace": bool}
              {"kind": "promote", "id": int, "incarnation": str}
  LogSync     {"syncIdx": int, "suffix": [Entry], "snapshot": Snapshot|None}
  Snapshot    {"idx": int, "kv": [[key str, value str]],
               "sessions": [{"clientId": str, "lastSeq": int, "lastIdx": int, "lastResult": Result}],
               "members": Members}
  Members     [{"id": int, "incarnation": str, "voter": bool}]   (incarnation "" = none)
  Result      {"kind": "value", "value": str} | {"kind": "not-found"} | {"kind": "ok"}
              {"kind": "mismatch", "current": str|None} | {"kind": "deleted", "existed": bool}
              {"kind": "session-expired"}
  NodeAddress {"id": int, "host": str, "peerPort": int, "clientPort": int}

The codec covers every message type of protocol.md (peer port included, so that the
self-test can check every example); the Client class speaks only the client port.
"""

from __future__ import annotations

import socket
import time

# --------------------------------------------------------------------------- constants

VERSION = 3                         # protocol.md "Versions": one version, no negotiation
MAX_BODY = 4 * 1024 * 1024          # 4 MiB, inclusive
MAX_PREFIX_BYTES = 8
MAX_STRING = 1024 * 1024            # 1 MiB of UTF-8, inclusive
MAX_U64 = 2 ** 53 - 1
MAX_U32 = 2 ** 32 - 1
MAX_INCARNATION = 64                # protocol.md "Incarnation": at most 64 characters

TYPES = {
    0x01: "peer-hello",
    0x02: "check-in",
    0x03: "boot",
    0x04: "boot-ready",
    0x05: "auth-challenge",
    0x06: "auth-proof",
    0x10: "heartbeat-request",
    0x11: "heartbeat-reply",
    0x20: "prepare",
    0x21: "promise",
    0x22: "accept-sync",
    0x23: "accept-decide",
    0x24: "accepted",
    0x25: "decide",
    0x26: "not-accepted",
    0x27: "prepare-req",
    0x28: "proposal-forward",
    0x40: "client-request",
    0x41: "client-response",
    0x42: "status-request",
    0x43: "status-response",
    0x44: "log-request",
    0x45: "log-response",
    0x7E: "fragment",
    0x7F: "error",
}
TYPE_CODES = {name: code for code, name in TYPES.items()}

# Peer authentication: nonce and MAC (HMAC-SHA-256) sizes, and the MAC input ("Peer authentication").
AUTH_BYTES = 32
AUTH_LABELS = {"dialer": "kvsh peer-auth v1 dialer", "acceptor": "kvsh peer-auth v1 acceptor"}


def auth_mac(secret: bytes, role: str, cluster_id: str, dialer_id: int, acceptor_id: int,
             dialer_nonce: bytes, acceptor_nonce: bytes) -> bytes:
    """MAC(role) = HMAC-SHA-256(secret, label | clusterId | dialerId | acceptorId | Nd | Na)."""
    import hashlib
    import hmac
    def s(x: str) -> bytes:
        b = x.encode("utf-8")
        return len(b).to_bytes(4, "big") + b
    data = (s(AUTH_LABELS[role]) + s(cluster_id) + dialer_id.to_bytes(4, "big") + acceptor_id.to_bytes(4, "big")
            + bytes(dialer_nonce) + bytes(acceptor_nonce))
    return hmac.new(secret, data, hashlib.sha256).digest()

CLIENT_TO_NODE = ("client-request", "status-request", "log-request")
NODE_TO_CLIENT = ("client-response", "status-response", "log-response")

ERROR_CODES = {
    1: "unsupported-version",
    2: "unknown-type",
    3: "malformed",
    4: "frame-too-large",
    5: "unexpected-message",
    6: "wrong-cluster",
    7: "auth-failed",
    8: "too-many-connections",
}
ERROR_NAMES = {name: code for code, name in ERROR_CODES.items()}

OP_CODES = {1: "get", 2: "put", 3: "cas", 4: "delete"}
OP_NAMES = {v: k for k, v in OP_CODES.items()}

ENTRY_KINDS = {1: "command", 2: "expire-sessions", 3: "join", 4: "promote"}
ENTRY_NAMES = {v: k for k, v in ENTRY_KINDS.items()}

RESULT_KINDS = {1: "value", 2: "not-found", 3: "ok", 4: "mismatch", 5: "deleted", 6: "session-expired"}
RESULT_NAMES = {v: k for k, v in RESULT_KINDS.items()}

RESPONSE_STATUS = {0: "result", 1: "unknown", 2: "rejected"}
RESPONSE_STATUS_NAMES = {v: k for k, v in RESPONSE_STATUS.items()}

ROLES = {1: "leader", 2: "follower"}
ROLE_NAMES = {v: k for k, v in ROLES.items()}

PHASES = {0: "none", 1: "prepare", 2: "accept", 3: "recover"}
PHASE_NAMES = {v: k for k, v in PHASES.items()}

# Which result kinds each op may yield (protocol.md, "Result").
ALLOWED_RESULTS = {
    "get": ("value", "not-found", "session-expired"),
    "put": ("ok", "session-expired"),
    "cas": ("ok", "mismatch", "session-expired"),
    "delete": ("deleted", "session-expired"),
}

BOTTOM = {"n": 0, "priority": 0, "pid": 0}

# Smallest encoded size of one element, for the "count larger than the bytes left could
# hold" rule of X[].
MIN_ENTRY_SIZE = 9            # expire-sessions, or a promote with an empty incarnation (stated)
MIN_NODE_ADDRESS_SIZE = 16    # id + empty host + two ports
MIN_PEER_STATE_SIZE = 5       # id u32 + connected bool
MIN_PAIR_SIZE = 8             # snapshot pair: two empty strings (stated in protocol.md)
MIN_SESSION_SIZE = 21         # snapshot session: empty clientId, lastSeq, lastIdx, 1-byte result
MIN_MEMBER_SIZE = 9           # Members: id, empty incarnation, voter (stated)


# --------------------------------------------------------------------------- errors

class KvshError(Exception):
    """Base of every error raised by this module."""


class ProtocolError(KvshError):
    """Bytes that break protocol.md. `code_name` is the error-frame name that applies
    (malformed, unsupported-version, unknown-type, frame-too-large, unexpected-message),
    or "bad-length-prefix" for a refused prefix (the document says only "close")."""

    code_name = "malformed"

    def __init__(self, message: str, code_name: str | None = None):
        super().__init__(message)
        if code_name is not None:
            self.code_name = code_name

    @property
    def code(self):
        return ERROR_NAMES.get(self.code_name)


class Malformed(ProtocolError):
    code_name = "malformed"


class UnsupportedVersion(ProtocolError):
    code_name = "unsupported-version"


class UnknownType(ProtocolError):
    code_name = "unknown-type"


class FrameTooLarge(ProtocolError):
    code_name = "frame-too-large"


class BadLengthPrefix(ProtocolError):
    code_name = "bad-length-prefix"


class UnexpectedMessage(ProtocolError):
    code_name = "unexpected-message"


class UnexpectedResult(KvshError):
    """A well-formed client-response whose result kind cannot answer the op sent."""


class TransportError(KvshError):
    """The exchange did not complete. Subclasses say whether the request may have been sent."""


class ConnectFailed(TransportError):
    """Could not connect: nothing was sent, the request definitely did not take effect."""


class Indeterminate(TransportError):
    """The request may or may not have been received/applied: timeout, lost connection,
    error frame. protocol.md: retry with the same (clientId, seq, op)."""


class Timeout(Indeterminate):
    pass


class ConnectionLost(Indeterminate):
    pass


class RemoteError(Indeterminate):
    """The node sent an error frame (and closes the connection)."""

    def __init__(self, code: int, name: str, message: str):
        super().__init__("node sent error frame %d %s: %r" % (code, name, message))
        self.code = code
        self.name = name
        self.message = message


# --------------------------------------------------------------------------- length prefix

def encode_varint(n: int) -> bytes:
    """Unsigned LEB128, shortest form."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError("varint must be a non-negative int, got %r" % (n,))
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def decode_varint(buf, pos: int = 0):
    """Decode a length prefix at buf[pos:]. Returns (value, new_pos), or None if more
    bytes are needed. Raises BadLengthPrefix for a prefix longer than 8 bytes or not in
    shortest form (protocol.md: "a padded prefix ... desynchronises the reader", Limits:
    "shortest LEB128, <= 8 bytes ... close")."""
    value = 0
    shift = 0
    i = pos
    while True:
        if i - pos >= MAX_PREFIX_BYTES:
            raise BadLengthPrefix("length prefix longer than %d bytes" % MAX_PREFIX_BYTES)
        if i >= len(buf):
            return None
        b = buf[i]
        value |= (b & 0x7F) << shift
        shift += 7
        i += 1
        if not b & 0x80:
            if b == 0 and i - pos > 1:
                raise BadLengthPrefix("length prefix not in shortest form: %s"
                                      % bytes(buf[pos:i]).hex())
            return value, i


def frame(body: bytes) -> bytes:
    """Length prefix + body."""
    if len(body) > MAX_BODY:
        raise FrameTooLarge("frame body of %d bytes exceeds 4 MiB" % len(body))
    return encode_varint(len(body)) + bytes(body)


class FrameReader:
    """Incremental deframer: feed() bytes as they arrive, get complete frame bodies.
    The prefix is checked before the body is awaited (frame-too-large)."""

    def __init__(self, max_body: int = MAX_BODY):
        self.buf = bytearray()
        self.max_body = max_body

    def feed(self, data: bytes):
        self.buf += data
        bodies = []
        while True:
            got = decode_varint(self.buf, 0)
            if got is None:
                break
            length, start = got
            if length > self.max_body:
                raise FrameTooLarge("length prefix announces %d bytes (max %d)" % (length, self.max_body))
            if len(self.buf) - start < length:
                break
            bodies.append(bytes(self.buf[start:start + length]))
            del self.buf[:start + length]
        return bodies

    def pending(self) -> bool:
        """True when a partial frame is buffered (EOF now would truncate it)."""
        return len(self.buf) > 0


# --------------------------------------------------------------------------- primitive encoders

class Writer:
    def __init__(self):
        self.out = bytearray()

    def bytes(self) -> bytes:
        return bytes(self.out)

    def u8(self, v, what="u8"):
        _check_int(v, 0, 0xFF, what)
        self.out.append(v)

    def u32(self, v, what="u32"):
        _check_int(v, 0, MAX_U32, what)
        self.out += v.to_bytes(4, "big")

    def u64(self, v, what="u64"):
        _check_int(v, 0, MAX_U64, what)
        self.out += v.to_bytes(8, "big")

    def bool(self, v, what="bool"):
        if not isinstance(v, bool):
            raise ValueError("%s must be a bool, got %r" % (what, v))
        self.out.append(1 if v else 0)

    def string(self, v, what="string"):
        if not isinstance(v, str):
            raise ValueError("%s must be a str, got %r" % (what, v))
        try:
            raw = v.encode("utf-8")   # strict: lone surrogates refused
        except UnicodeEncodeError as e:
            raise ValueError("%s is not encodable as UTF-8: %s" % (what, e)) from None
        if len(raw) > MAX_STRING:
            raise ValueError("%s is %d bytes of UTF-8, over 1 MiB" % (what, len(raw)))
        self.out += len(raw).to_bytes(4, "big")
        self.out += raw

    def opt_string(self, v, what="string?"):
        if v is None:
            self.out.append(0)
        else:
            self.out.append(1)
            self.string(v, what)

    def ballot(self, b, what="ballot"):
        if not isinstance(b, dict):
            raise ValueError("%s must be a dict {n, priority, pid}, got %r" % (what, b))
        self.u32(b["n"], what + ".n")
        self.u32(b["priority"], what + ".priority")
        self.u32(b["pid"], what + ".pid")

    def seqnum(self, s, what="seq"):
        self.u64(s["session"], what + ".session")
        self.u64(s["counter"], what + ".counter")

    def op(self, op, what="op"):
        if not isinstance(op, dict) or op.get("op") not in OP_NAMES:
            raise ValueError("%s must be a dict with op in get/put/cas/delete, got %r" % (what, op))
        name = op["op"]
        self.u8(OP_NAMES[name])
        self.string(op["key"], what + ".key")
        if name == "cas":
            self.opt_string(op.get("expected"), what + ".expected")
        if name in ("put", "cas"):
            self.string(op["value"], what + ".value")

    def entry(self, e, what="entry"):
        kind = e.get("kind")
        if kind == "command":
            self.u8(1)
            self.string(e["clientId"], what + ".clientId")
            self.u64(e["seq"], what + ".seq")
            self.op(e["op"], what + ".op")
        elif kind == "expire-sessions":
            self.u8(2)
            self.u64(e["idleBefore"], what + ".idleBefore")
        elif kind == "join":
            self.u8(3)
            self.u32(e["id"], what + ".id")
            self.incarnation(e["incarnation"], what + ".incarnation")
            self.bool(e["replace"], what + ".replace")
        elif kind == "promote":
            self.u8(4)
            self.u32(e["id"], what + ".id")
            self.incarnation(e["incarnation"], what + ".incarnation")
        else:
            raise ValueError("%s.kind must be command, expire-sessions, join or promote, got %r" % (what, kind))

    def incarnation(self, v, what="incarnation"):
        """A string; its length is not checked here (self_test builds refused bytes with it)."""
        self.string(v, what)

    def members(self, ms, what="members"):
        """Members, in the order given (kvsh sends them sorted by id). Not checked: ids,
        duplicates, voter without incarnation (self_test builds refused bytes with it)."""
        self.u32(len(ms), what + " count")
        for i, x in enumerate(ms):
            f = "%s[%d]" % (what, i)
            self.u32(x["id"], f + ".id")
            self.incarnation(x["incarnation"], f + ".incarnation")
            self.bool(x["voter"], f + ".voter")

    def entries(self, es, what="entries"):
        self.u32(len(es), what + " count")
        for i, e in enumerate(es):
            self.entry(e, "%s[%d]" % (what, i))

    def log_sync(self, s, what="sync"):
        snap = s.get("snapshot")
        if snap is None:
            self.bool(False)
        else:
            if s["syncIdx"] != snap["idx"]:
                raise ValueError("%s.syncIdx %r must equal snapshot.idx %r" % (what, s["syncIdx"], snap["idx"]))
            self.bool(True)
            self.snapshot(snap, what + ".snapshot")
        self.u64(s["syncIdx"], what + ".syncIdx")
        self.entries(s["suffix"], what + ".suffix")

    def snapshot(self, snap, what="snapshot"):
        self.u64(snap["idx"], what + ".idx")
        self.u32(len(snap["kv"]), what + ".kv count")
        for i, (key, value) in enumerate(snap["kv"]):
            self.string(key, "%s.kv[%d].key" % (what, i))
            self.string(value, "%s.kv[%d].value" % (what, i))
        self.u32(len(snap["sessions"]), what + ".sessions count")
        for i, x in enumerate(snap["sessions"]):
            f = "%s.sessions[%d]" % (what, i)
            self.string(x["clientId"], f + ".clientId")
            self.u64(x["lastSeq"], f + ".lastSeq")
            self.u64(x["lastIdx"], f + ".lastIdx")
            self.result(x["lastResult"], f + ".lastResult")
        self.members(snap["members"], what + ".members")

    def result(self, r, what="result"):
        kind = r.get("kind")
        if kind not in RESULT_NAMES:
            raise ValueError("%s.kind unknown: %r" % (what, kind))
        self.u8(RESULT_NAMES[kind])
        if kind == "value":
            self.string(r["value"], what + ".value")
        elif kind == "mismatch":
            self.opt_string(r.get("current"), what + ".current")
        elif kind == "deleted":
            self.bool(r["existed"], what + ".existed")

    def node_address(self, a, what="node"):
        self.u32(a["id"], what + ".id")
        self.string(a["host"], what + ".host")
        for port in ("peerPort", "clientPort"):
            _check_int(a[port], 1, 65535, what + "." + port)
            self.u32(a[port])


def _check_int(v, lo, hi, what):
    if not isinstance(v, int) or isinstance(v, bool):
        raise ValueError("%s must be an int, got %r" % (what, v))
    if not lo <= v <= hi:
        raise ValueError("%s = %d out of range %d..%d" % (what, v, lo, hi))


# --------------------------------------------------------------------------- primitive decoders

class Reader:
    def __init__(self, data: bytes, pos: int = 0):
        self.data = bytes(data)
        self.pos = pos

    def left(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int, what: str) -> bytes:
        if self.left() < n:
            raise Malformed("%s cut short at offset %d: need %d bytes, %d left"
                            % (what, self.pos, n, self.left()))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self, what="u8") -> int:
        return self.take(1, what)[0]

    def u32(self, what="u32") -> int:
        return int.from_bytes(self.take(4, what), "big")

    def u64(self, what="u64") -> int:
        at = self.pos
        v = int.from_bytes(self.take(8, what), "big")
        if v > MAX_U64:
            raise Malformed("%s at offset %d is %d, above 2^53-1" % (what, at, v))
        return v

    def bool(self, what="bool") -> bool:
        at = self.pos
        b = self.u8(what)
        if b not in (0, 1):
            raise Malformed("%s at offset %d is 0x%02x, not 0 or 1" % (what, at, b))
        return b == 1

    def string(self, what="string") -> str:
        at = self.pos
        n = self.u32(what + " length")
        if n > MAX_STRING:
            raise Malformed("%s at offset %d declares %d bytes, over 1 MiB" % (what, at, n))
        raw = self.take(n, what)
        try:
            return raw.decode("utf-8")    # strict; "utf-8" (not utf-8-sig) keeps a leading U+FEFF
        except UnicodeDecodeError as e:
            raise Malformed("%s at offset %d is not valid UTF-8: %s" % (what, at, e)) from None

    def opt_string(self, what="string?"):
        at = self.pos
        flag = self.u8(what + " presence flag")
        if flag == 0:
            return None
        if flag == 1:
            return self.string(what)
        raise Malformed("%s presence flag at offset %d is 0x%02x, not 0 or 1" % (what, at, flag))

    def count(self, min_size: int, what: str) -> int:
        at = self.pos
        n = self.u32(what + " count")
        if n * min_size > self.left():
            raise Malformed("%s count %d at offset %d cannot fit in the %d bytes left"
                            % (what, n, at, self.left()))
        return n

    def ballot(self, what="ballot"):
        return {"n": self.u32(what + ".n"), "priority": self.u32(what + ".priority"),
                "pid": self.u32(what + ".pid")}

    def seqnum(self, what="seq"):
        return {"session": self.u64(what + ".session"), "counter": self.u64(what + ".counter")}

    def op(self, what="op"):
        at = self.pos
        code = self.u8(what + " code")
        if code not in OP_CODES:
            raise Malformed("%s code at offset %d is %d, not 1..4" % (what, at, code))
        name = OP_CODES[code]
        op = {"op": name, "key": self.string(what + ".key")}
        if name == "cas":
            op["expected"] = self.opt_string(what + ".expected")
        if name in ("put", "cas"):
            op["value"] = self.string(what + ".value")
        return op

    def entry(self, what="entry"):
        at = self.pos
        kind = self.u8(what + ".kind")
        if kind == 1:
            return {"kind": "command", "clientId": self.string(what + ".clientId"),
                    "seq": self.u64(what + ".seq"), "op": self.op(what + ".op")}
        if kind == 2:
            return {"kind": "expire-sessions", "idleBefore": self.u64(what + ".idleBefore")}
        if kind == 3:
            return {"kind": "join", "id": self.u32(what + ".id"),
                    "incarnation": self.incarnation(what + ".incarnation"), "replace": self.bool(what + ".replace")}
        if kind == 4:
            return {"kind": "promote", "id": self.u32(what + ".id"),
                    "incarnation": self.incarnation(what + ".incarnation")}
        raise Malformed("%s kind at offset %d is %d, not 1..4" % (what, at, kind))

    def incarnation(self, what="incarnation"):
        """protocol.md "Incarnation": a string of at most 64 characters (counted as Unicode
        code points here; see NOTES.md)."""
        at = self.pos
        v = self.string(what)
        if len(v) > MAX_INCARNATION:
            raise Malformed("%s at offset %d has %d characters, over %d" % (what, at, len(v), MAX_INCARNATION))
        return v

    def members(self, what="members"):
        """protocol.md "Members". Refuses an impossible count, id 0, an id twice and a voter
        with an empty incarnation; the order is not checked."""
        out = []
        ids = set()
        for i in range(self.count(MIN_MEMBER_SIZE, what)):
            f = "%s[%d]" % (what, i)
            at = self.pos
            node = self.u32(f + ".id")
            if node == 0:
                raise Malformed("%s.id at offset %d is 0 (node ids start at 1)" % (f, at))
            if node in ids:
                raise Malformed("%s.id at offset %d: node %d appears twice" % (f, at, node))
            ids.add(node)
            inc = self.incarnation(f + ".incarnation")
            at = self.pos
            voter = self.bool(f + ".voter")
            if voter and inc == "":
                raise Malformed("%s.voter at offset %d: node %d is a voter without an incarnation" % (f, at, node))
            out.append({"id": node, "incarnation": inc, "voter": voter})
        return out

    def entries(self, what="entries"):
        n = self.count(MIN_ENTRY_SIZE, what)
        return [self.entry("%s[%d]" % (what, i)) for i in range(n)]

    def log_sync(self, what="sync"):
        snap = self.snapshot(what + ".snapshot") if self.bool(what + ".hasSnapshot") else None
        at = self.pos
        sync_idx = self.u64(what + ".syncIdx")
        if snap is not None and sync_idx != snap["idx"]:
            raise Malformed("%s.syncIdx at offset %d is %d, not the snapshot's idx %d"
                            % (what, at, sync_idx, snap["idx"]))
        return {"syncIdx": sync_idx, "suffix": self.entries(what + ".suffix"), "snapshot": snap}

    def snapshot(self, what="snapshot"):
        """protocol.md "Snapshot". Refuses a key or clientId twice and a session whose lastIdx
        is not below idx; the order of pairs and sessions is not checked (see NOTES.md)."""
        idx = self.u64(what + ".idx")
        kv = []
        keys = set()
        for i in range(self.count(MIN_PAIR_SIZE, what + ".kv")):
            at = self.pos
            key = self.string("%s.kv[%d].key" % (what, i))
            if key in keys:
                raise Malformed("%s.kv[%d].key at offset %d: key %r appears twice" % (what, i, at, key))
            keys.add(key)
            kv.append([key, self.string("%s.kv[%d].value" % (what, i))])
        sessions = []
        clients = set()
        for i in range(self.count(MIN_SESSION_SIZE, what + ".sessions")):
            f = "%s.sessions[%d]" % (what, i)
            at = self.pos
            client_id = self.string(f + ".clientId")
            if client_id in clients:
                raise Malformed("%s.clientId at offset %d: %r appears twice" % (f, at, client_id))
            clients.add(client_id)
            last_seq = self.u64(f + ".lastSeq")
            at = self.pos
            last_idx = self.u64(f + ".lastIdx")
            if last_idx >= idx:
                raise Malformed("%s.lastIdx at offset %d is %d, not below the snapshot's idx %d"
                                % (f, at, last_idx, idx))
            sessions.append({"clientId": client_id, "lastSeq": last_seq, "lastIdx": last_idx,
                             "lastResult": self.result(f + ".lastResult")})
        return {"idx": idx, "kv": kv, "sessions": sessions, "members": self.members(what + ".members")}

    def result(self, what="result"):
        at = self.pos
        code = self.u8(what + ".kind")
        if code not in RESULT_KINDS:
            raise Malformed("%s kind at offset %d is %d, not 1..6" % (what, at, code))
        kind = RESULT_KINDS[code]
        r = {"kind": kind}
        if kind == "value":
            r["value"] = self.string(what + ".value")
        elif kind == "mismatch":
            r["current"] = self.opt_string(what + ".current")
        elif kind == "deleted":
            r["existed"] = self.bool(what + ".existed")
        return r

    def port(self, what):
        at = self.pos
        p = self.u32(what)
        if not 1 <= p <= 65535:
            raise Malformed("%s at offset %d is %d, not 1..65535" % (what, at, p))
        return p

    def node_address(self, what="node"):
        return {"id": self.u32(what + ".id"), "host": self.string(what + ".host"),
                "peerPort": self.port(what + ".peerPort"),
                "clientPort": self.port(what + ".clientPort")}

    def code(self, table, what):
        at = self.pos
        c = self.u8(what)
        if c not in table:
            raise Malformed("%s at offset %d is %d, not one of %s" % (what, at, c, sorted(table)))
        return table[c]


# --------------------------------------------------------------------------- messages

def _enc_fields(w: Writer, t: str, m: dict):
    if t == "peer-hello":
        w.u32(m["nodeId"], "nodeId"); w.string(m["clusterId"], "clusterId")
    elif t == "check-in":
        w.node_address(m["node"]); w.incarnation(m["incarnation"], "incarnation")
    elif t == "boot":
        w.string(m["clusterId"], "clusterId")
        w.u32(len(m["nodes"]), "nodes count")
        for i, a in enumerate(m["nodes"]):
            w.node_address(a, "nodes[%d]" % i)
        w.members(m["members"], "members")
    elif t == "boot-ready":
        w.u32(m["nodeId"], "nodeId")
    elif t in ("auth-challenge", "auth-proof"):
        field = "nonce" if t == "auth-challenge" else "mac"
        raw = bytes(m[field])
        if len(raw) != AUTH_BYTES:
            raise ValueError("%s: %s must be %d bytes, got %d" % (t, field, AUTH_BYTES, len(raw)))
        w.out += raw
    elif t == "heartbeat-request":
        w.u32(m["round"], "round")
    elif t == "heartbeat-reply":
        w.u32(m["round"], "round"); w.ballot(m["ballot"]); w.bool(m["qc"], "qc")
        w.incarnation(m["inc"], "inc")
    elif t == "prepare":
        w.ballot(m["n"], "n"); w.u64(m["decidedIdx"], "decidedIdx")
        w.ballot(m["acceptedRnd"], "acceptedRnd"); w.u64(m["acceptedIdx"], "acceptedIdx")
    elif t == "promise":
        w.ballot(m["n"], "n"); w.ballot(m["acceptedRnd"], "acceptedRnd")
        w.u64(m["decidedIdx"], "decidedIdx"); w.u64(m["acceptedIdx"], "acceptedIdx")
        w.incarnation(m["inc"], "inc")
        if m.get("sync") is None:
            w.bool(False)
        else:
            w.bool(True); w.log_sync(m["sync"])
    elif t == "accept-sync":
        w.ballot(m["n"], "n"); w.seqnum(m["seq"]); w.u64(m["decidedIdx"], "decidedIdx")
        w.log_sync(m["sync"])
    elif t == "accept-decide":
        w.ballot(m["n"], "n"); w.seqnum(m["seq"]); w.u64(m["decidedIdx"], "decidedIdx")
        w.entries(m["entries"])
    elif t == "accepted":
        w.ballot(m["n"], "n"); w.u64(m["acceptedIdx"], "acceptedIdx"); w.incarnation(m["inc"], "inc")
    elif t == "decide":
        w.ballot(m["n"], "n"); w.seqnum(m["seq"]); w.u64(m["decidedIdx"], "decidedIdx")
    elif t in ("not-accepted", "prepare-req"):
        w.ballot(m["n"], "n")
    elif t == "proposal-forward":
        w.entries(m["entries"])
    elif t == "client-request":
        w.u32(m["requestId"], "requestId"); w.string(m["clientId"], "clientId")
        w.u64(m["seq"], "seq"); w.op(m["op"])
    elif t == "client-response":
        w.u32(m["requestId"], "requestId")
        status = m["status"]
        if status not in RESPONSE_STATUS_NAMES:
            raise ValueError("status must be result/unknown/rejected, got %r" % (status,))
        w.u8(RESPONSE_STATUS_NAMES[status])
        if status == "result":
            w.result(m["result"])
        else:
            w.string(m["reason"], "reason")
    elif t == "status-request":
        w.u32(m["requestId"], "requestId")
    elif t == "status-response":
        w.u32(m["requestId"], "requestId"); w.u32(m["nodeId"], "nodeId")
        w.u8(ROLE_NAMES[m["role"]]); w.u8(PHASE_NAMES[m["phase"]])
        w.ballot(m["leaderBallot"], "leaderBallot"); w.ballot(m["electedBallot"], "electedBallot")
        w.bool(m["quorumConnected"], "quorumConnected")
        w.ballot(m["promised"], "promised"); w.ballot(m["acceptedRnd"], "acceptedRnd")
        w.u64(m["logLength"], "logLength"); w.u64(m["decidedIdx"], "decidedIdx")
        w.u64(m["appliedIdx"], "appliedIdx"); w.u64(m["compactedIdx"], "compactedIdx")
        w.incarnation(m["incarnation"], "incarnation"); w.bool(m["voter"], "voter")
        w.bool(m["fsync"], "fsync")
        w.u32(len(m["peers"]), "peers count")
        for i, p in enumerate(m["peers"]):
            w.u32(p["id"], "peers[%d].id" % i); w.bool(p["connected"], "peers[%d].connected" % i)
    elif t == "log-request":
        w.u32(m["requestId"], "requestId"); w.u64(m["from"], "from"); w.u32(m["count"], "count")
    elif t == "log-response":
        w.u32(m["requestId"], "requestId"); w.u64(m["from"], "from")
        w.u64(m["decidedIdx"], "decidedIdx"); w.u64(m["logLength"], "logLength")
        w.entries(m["entries"])
    elif t == "error":
        code = m["code"]
        if isinstance(code, str):
            code = ERROR_NAMES[code]
        w.u8(code, "code"); w.string(m["message"], "message")
    elif t == "fragment":
        chunk = bytes(m["chunk"])
        w.u32(m["total"], "total"); w.u32(len(chunk), "chunk length"); w.out += chunk
    else:  # pragma: no cover - TYPE_CODES checked by caller
        raise ValueError("unknown message type %r" % t)


def encode_message(m: dict) -> bytes:
    """Frame body (no length prefix) of message m."""
    t = m.get("type")
    if t not in TYPE_CODES:
        raise ValueError("unknown message type %r" % (t,))
    w = Writer()
    w.u8(VERSION)
    w.u8(TYPE_CODES[t])
    try:
        _enc_fields(w, t, m)
    except KeyError as e:
        raise ValueError("%s: missing field %s" % (t, e)) from None
    body = w.bytes()
    if len(body) > MAX_BODY:
        raise ValueError("%s encodes to %d bytes, over the 4 MiB frame limit" % (t, len(body)))
    return body


def _dec_fields(r: Reader, t: str) -> dict:
    m = {"type": t}
    if t == "peer-hello":
        m["nodeId"] = r.u32("nodeId"); m["clusterId"] = r.string("clusterId")
    elif t == "check-in":
        m["node"] = r.node_address("node"); m["incarnation"] = r.incarnation("incarnation")
    elif t == "boot":
        m["clusterId"] = r.string("clusterId")
        n = r.count(MIN_NODE_ADDRESS_SIZE, "nodes")
        m["nodes"] = [r.node_address("nodes[%d]" % i) for i in range(n)]
        m["members"] = r.members("members")
    elif t == "boot-ready":
        m["nodeId"] = r.u32("nodeId")
    elif t == "auth-challenge":
        m["nonce"] = r.take(AUTH_BYTES, "nonce")
    elif t == "auth-proof":
        m["mac"] = r.take(AUTH_BYTES, "mac")
    elif t == "heartbeat-request":
        m["round"] = r.u32("round")
    elif t == "heartbeat-reply":
        m["round"] = r.u32("round"); m["ballot"] = r.ballot("ballot"); m["qc"] = r.bool("qc")
        m["inc"] = r.incarnation("inc")
    elif t == "prepare":
        m["n"] = r.ballot("n"); m["decidedIdx"] = r.u64("decidedIdx")
        m["acceptedRnd"] = r.ballot("acceptedRnd"); m["acceptedIdx"] = r.u64("acceptedIdx")
    elif t == "promise":
        m["n"] = r.ballot("n"); m["acceptedRnd"] = r.ballot("acceptedRnd")
        m["decidedIdx"] = r.u64("decidedIdx"); m["acceptedIdx"] = r.u64("acceptedIdx")
        m["inc"] = r.incarnation("inc")
        m["sync"] = r.log_sync("sync") if r.bool("hasSync") else None
    elif t == "accept-sync":
        m["n"] = r.ballot("n"); m["seq"] = r.seqnum("seq"); m["decidedIdx"] = r.u64("decidedIdx")
        m["sync"] = r.log_sync("sync")
    elif t == "accept-decide":
        m["n"] = r.ballot("n"); m["seq"] = r.seqnum("seq"); m["decidedIdx"] = r.u64("decidedIdx")
        m["entries"] = r.entries("entries")
    elif t == "accepted":
        m["n"] = r.ballot("n"); m["acceptedIdx"] = r.u64("acceptedIdx"); m["inc"] = r.incarnation("inc")
    elif t == "decide":
        m["n"] = r.ballot("n"); m["seq"] = r.seqnum("seq"); m["decidedIdx"] = r.u64("decidedIdx")
    elif t in ("not-accepted", "prepare-req"):
        m["n"] = r.ballot("n")
    elif t == "proposal-forward":
        m["entries"] = r.entries("entries")
    elif t == "client-request":
        m["requestId"] = r.u32("requestId"); m["clientId"] = r.string("clientId")
        m["seq"] = r.u64("seq"); m["op"] = r.op("op")
    elif t == "client-response":
        m["requestId"] = r.u32("requestId")
        m["status"] = r.code(RESPONSE_STATUS, "status")
        if m["status"] == "result":
            m["result"] = r.result("result")
        else:
            m["reason"] = r.string("reason")
    elif t == "status-request":
        m["requestId"] = r.u32("requestId")
    elif t == "status-response":
        m["requestId"] = r.u32("requestId"); m["nodeId"] = r.u32("nodeId")
        m["role"] = r.code(ROLES, "role"); m["phase"] = r.code(PHASES, "phase")
        m["leaderBallot"] = r.ballot("leaderBallot"); m["electedBallot"] = r.ballot("electedBallot")
        m["quorumConnected"] = r.bool("quorumConnected")
        m["promised"] = r.ballot("promised"); m["acceptedRnd"] = r.ballot("acceptedRnd")
        m["logLength"] = r.u64("logLength"); m["decidedIdx"] = r.u64("decidedIdx")
        m["appliedIdx"] = r.u64("appliedIdx"); m["compactedIdx"] = r.u64("compactedIdx")
        m["incarnation"] = r.incarnation("incarnation"); m["voter"] = r.bool("voter")
        m["fsync"] = r.bool("fsync")
        n = r.count(MIN_PEER_STATE_SIZE, "peers")
        m["peers"] = [{"id": r.u32("peers[%d].id" % i), "connected": r.bool("peers[%d].connected" % i)}
                      for i in range(n)]
    elif t == "log-request":
        m["requestId"] = r.u32("requestId"); m["from"] = r.u64("from"); m["count"] = r.u32("count")
    elif t == "log-response":
        m["requestId"] = r.u32("requestId"); m["from"] = r.u64("from")
        m["decidedIdx"] = r.u64("decidedIdx"); m["logLength"] = r.u64("logLength")
        m["entries"] = r.entries("entries")
    elif t == "fragment":
        # protocol.md "Fragments": a message larger than a frame, at most 256 MiB, in pieces.
        m["total"] = r.u32("total")
        if not (MAX_BODY < m["total"] <= 256 * 1024 * 1024):
            raise Malformed("fragment: total %d is not in (4 MiB, 256 MiB]" % m["total"])
        n = r.u32("chunk length")
        if not (1 <= n <= m["total"]):
            raise Malformed("fragment: chunk length %d is not in 1..%d" % (n, m["total"]))
        m["chunk"] = r.take(n, "chunk")
    elif t == "error":
        code = r.u8("code")
        m["code"] = code
        # Unknown error codes are kept (name None), not refused: see NOTES.md.
        m["name"] = ERROR_CODES.get(code)
        m["message"] = r.string("message")
    return m


def decode_message(body: bytes) -> dict:
    """Decode one frame body, checking in protocol.md's order: length, version, type,
    fields, trailing bytes."""
    body = bytes(body)
    if len(body) < 2:
        raise Malformed("frame body of %d bytes is shorter than 2" % len(body))
    if body[0] != VERSION:
        raise UnsupportedVersion("version byte is %d, not %d" % (body[0], VERSION))
    t = TYPES.get(body[1])
    if t is None:
        raise UnknownType("message type 0x%02x is not in the type table" % body[1])
    r = Reader(body, 2)
    m = _dec_fields(r, t)
    if r.left():
        raise Malformed("%s: %d trailing bytes after offset %d" % (t, r.left(), r.pos))
    return m


# --------------------------------------------------------------------------- op helpers

def op_get(key: str) -> dict:
    return {"op": "get", "key": key}


def op_put(key: str, value: str) -> dict:
    return {"op": "put", "key": key, "value": value}


def op_cas(key: str, expected, value: str) -> dict:
    """expected None means the key must not exist."""
    return {"op": "cas", "key": key, "expected": expected, "value": value}


def op_delete(key: str) -> dict:
    return {"op": "delete", "key": key}


def is_bottom(ballot: dict) -> bool:
    return ballot["n"] == 0 and ballot["priority"] == 0 and ballot["pid"] == 0


def new_client_id(length: int = 21) -> str:
    """A nanoid-style id: 21 characters of A-Za-z0-9_-."""
    import secrets
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    return "".join(secrets.choice(alphabet) for _ in range(length))


# --------------------------------------------------------------------------- client

class Client:
    """One connection to one node's client port, one request in flight at a time.

    Each call has its own deadline (`timeout`, default 2 s) covering connect, send and
    wait. On a timeout, a lost connection, an error frame or bad bytes from the node the
    connection is closed (the next call reconnects) and an exception is raised:
      ConnectFailed   - nothing sent (definitely not applied)
      Indeterminate   - Timeout / ConnectionLost / RemoteError: retry same (clientId, seq, op)
      ProtocolError   - the node sent bytes that break protocol.md (an error frame is sent
                        back, best effort, then the connection closed)
      UnexpectedResult- a well-formed client-response whose result kind cannot answer the op
    """

    def __init__(self, host: str, port: int, timeout: float = 2.0):
        self.host = host
        self.port = int(port)
        self.timeout = float(timeout)
        self.sock = None
        self.reader = None
        self.next_request_id = 1
        self.ready = []   # decoded-later frame bodies already received

    def __repr__(self):
        return "Client(%s:%d)" % (self.host, self.port)

    @property
    def address(self) -> str:
        return "%s:%d" % (self.host, self.port)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None
        self.reader = None
        self.ready = []

    def connect(self, deadline: float | None = None):
        if self.sock is not None:
            return
        if deadline is None:
            deadline = time.monotonic() + self.timeout
        remaining = max(0.05, deadline - time.monotonic())
        try:
            s = socket.create_connection((self.host, self.port), timeout=remaining)
        except socket.timeout:
            raise ConnectFailed("connect to %s timed out after %.1f s" % (self.address, remaining)) from None
        except OSError as e:
            raise ConnectFailed("cannot connect to %s: %s" % (self.address, e)) from None
        try:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.sock = s
        self.reader = FrameReader()
        self.ready = []
        self.next_request_id = 1

    def _take_request_id(self) -> int:
        rid = self.next_request_id
        self.next_request_id = rid + 1 if rid < MAX_U32 else 0
        return rid

    def _send_error_and_close(self, err: ProtocolError):
        """protocol.md: either side sends an error frame on bad input, then closes."""
        code = err.code
        if code is not None and self.sock is not None:
            try:
                self.sock.settimeout(0.2)
                self.sock.sendall(frame(encode_message(
                    {"type": "error", "code": code, "message": str(err)[:1000]})))
            except (OSError, ValueError):
                pass
        self.close()

    def _read_body(self, deadline: float) -> bytes:
        while not self.ready:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close()
                raise Timeout("no answer from %s within %.1f s" % (self.address, self.timeout))
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                self.close()
                raise Timeout("no answer from %s within %.1f s" % (self.address, self.timeout)) from None
            except OSError as e:
                self.close()
                raise ConnectionLost("connection to %s lost: %s" % (self.address, e)) from None
            if not data:
                partial = self.reader.pending()
                self.close()
                raise ConnectionLost("%s closed the connection%s" % (
                    self.address, " inside a frame (truncated, discarded)" if partial else ""))
            try:
                self.ready.extend(self.reader.feed(data))
            except ProtocolError as e:
                self._send_error_and_close(e)
                raise
        return self.ready.pop(0)

    def _roundtrip(self, msg: dict, expected_type: str) -> dict:
        deadline = time.monotonic() + self.timeout
        self.connect(deadline)
        rid = self._take_request_id()
        msg = dict(msg, requestId=rid)
        data = frame(encode_message(msg))
        try:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            self.sock.sendall(data)
        except socket.timeout:
            self.close()
            raise Timeout("sending to %s timed out" % self.address) from None
        except OSError as e:
            self.close()
            raise ConnectionLost("sending to %s failed: %s" % (self.address, e)) from None
        while True:
            body = self._read_body(deadline)
            try:
                m = decode_message(body)
            except ProtocolError as e:
                self._send_error_and_close(e)
                raise type(e)("from %s: %s (frame body %s)" % (
                    self.address, e, body[:64].hex() + ("..." if len(body) > 64 else ""))) from None
            if m["type"] == "error":
                self.close()
                raise RemoteError(m["code"], m["name"] or "unknown-code", m["message"])
            if m["type"] not in NODE_TO_CLIENT:
                err = UnexpectedMessage("%s sent %s on the client port" % (self.address, m["type"]))
                self._send_error_and_close(err)
                raise err
            if m["requestId"] != rid:
                # Only one request is ever in flight on this connection.
                err = UnexpectedMessage("%s answered requestId %d, but the only request in flight is %d"
                                        % (self.address, m["requestId"], rid))
                self._send_error_and_close(err)
                raise err
            if m["type"] != expected_type:
                err = UnexpectedMessage("%s answered a %s with %s" % (self.address, msg["type"], m["type"]))
                self._send_error_and_close(err)
                raise err
            return m

    def request(self, client_id: str, seq: int, op: dict) -> dict:
        """Send one client-request; returns the decoded client-response dict
        (status "result" with "result", or "unknown"/"rejected" with "reason")."""
        resp = self._roundtrip({"type": "client-request", "clientId": client_id, "seq": seq, "op": op},
                               "client-response")
        if resp["status"] == "result" and resp["result"]["kind"] not in ALLOWED_RESULTS[op["op"]]:
            raise UnexpectedResult("%s answered %s with result kind %s" % (
                self.address, op["op"], resp["result"]["kind"]))
        return resp

    def status(self) -> dict:
        return self._roundtrip({"type": "status-request"}, "status-response")

    def log(self, from_index: int, count: int) -> dict:
        return self._roundtrip({"type": "log-request", "from": from_index, "count": count}, "log-response")


def parse_address(s: str):
    """'host:port' (IPv6 as '[::1]:port') -> (host, port)."""
    s = s.strip()
    if s.startswith("["):
        host, sep, rest = s[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ValueError("bad address %r: expected [host]:port" % s)
        port_s = rest[1:]
    else:
        host, sep, port_s = s.rpartition(":")
        if not sep or not host:
            raise ValueError("bad address %r: expected host:port" % s)
    try:
        port = int(port_s)
    except ValueError:
        raise ValueError("bad port in %r" % s) from None
    if not 1 <= port <= 65535:
        raise ValueError("port out of range in %r" % s)
    return host, port
