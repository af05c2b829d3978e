#!/usr/bin/env python3
"""Write the seed inputs of the record and HTTP fuzzers (corpus/decode,
corpus/event, corpus/receiver_http).

Seeds only give the fuzzer a head start: a few well-formed records of the
kinds the BPF program writes (bpf/record.h), plus the hostile shapes the
e2e tests fire.  Crash inputs found later are added to the corpus by hand,
under names that say what they caught.  Rerun after a record layout change:
    python3 tests/fuzz/gen_corpus.py
"""
import base64
import hashlib
import hmac
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
RECORD_VERSION = 2
MAX_ARGS = 6
# probe id -> argument kinds (S string, I integer), from include/probehook/catalog.h
PROBES = {
    0: "SSSSS",   # agent.step.completed: ..., usage (JSON), tool_calls (JSON)
    1: "SSSS",    # agent.step.failed
    4: "SSIS",    # agent.message.sent: agent_id, run_id, message_count, usage
    5: "SSSSI",   # tool.execution.completed: ..., execution_time_us
    7: "SSSI",    # agent.job.completed: ..., completed_at
}
NULL, UNREADABLE = object(), object()


def record(probe, args, truncated=(), version=RECORD_VERSION, comm=b"agent-server",
           seq=7, boot_ns=1_000_000_000, lost_before=0):
    """struct ph_record + string bytes, as probehook.bpf.c writes it."""
    kinds = PROBES[probe]
    lens, ints, data = [0] * MAX_ARGS, [0] * MAX_ARGS, b""
    null_mask = fault_mask = trunc_mask = 0
    for i, (kind, arg) in enumerate(zip(kinds, args)):
        if arg is UNREADABLE:
            fault_mask |= 1 << i
        elif kind == "I":
            ints[i] = arg
        elif arg is NULL:
            null_mask |= 1 << i
        else:
            lens[i] = len(arg)
            data += arg
            if i in truncated:
                trunc_mask |= 1 << i
    head = struct.pack("<HHHHIIQQQIBBBB16s6I6q", version, probe, len(kinds), len(data),
                       4242, 4243, boot_ns, seq, lost_before, 0, trunc_mask, null_mask,
                       fault_mask, 0, comm, *lens, *ints)
    assert len(head) == 136
    return head + data


def event_input(probe, args, comm=b"agent-server"):
    """The structured input of fuzz_event.c for the same arguments."""
    out = struct.pack("<BBQQII16s", probe, 0, 1_000_000_000, 7, 4242, 4243, comm)
    for kind, arg in zip(PROBES[probe], args):
        if arg is UNREADABLE:
            out += struct.pack("<BqH", 3, 0, 0)
        elif arg is NULL:
            out += struct.pack("<BqH", 2, 0, 0)
        elif kind == "I":
            out += struct.pack("<BqH", 0, arg, 0)
        else:
            out += struct.pack("<BqH", 0, 0, len(arg)) + arg
    return out


USAGE = b'{"completion_tokens":20,"prompt_tokens":10,"total_tokens":30}'
CALLS = b'[{"id":"call_1","type":"function","function":{"name":"web_search","arguments":"{}"}}]'
SEEDS = {
    "step-completed": (0, [b"agent-42", b"step-1", b"completed", USAGE, CALLS]),
    "step-failed-hostile": (1, [b"agent\"\\\n\x01", b"step-\xff\xfe", b"caf\xc3\xa9 \xf0\x9f\x98\x80",
                                b"\xed\xa0\x80\xc0\xaf"]),
    "message-sent-null-run": (4, [b"agent-42", NULL, 2**63 - 1, b"null"]),
    "message-sent-min-int": (4, [b"", b"run-1", -2**63, b""]),
    "tool-execution": (5, [b"a", b"web_search", b'{"query":"x","limit":3}', b"success", 1234567]),
    "tool-execution-unreadable": (5, [UNREADABLE, b"t", UNREADABLE, b"error", -2**63]),
    "job-completed-extreme-time": (7, [b"a", b"job-1", b"failed", 2**63 - 1]),
    "json-nested-999": (0, [b"a", b"s", b"completed", b"[" * 999 + b"]" * 999, b"[]"]),
    "json-trailing-bytes": (0, [b"a", b"s", b"completed", b'{"a":1} trailing', b"[1]x"]),
    "json-unterminated": (0, [b"a", b"s", b"completed", b"[" * 2000, b'{"k":"']),
}


SECRET = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")  # fuzz_receiver_http's --secret


def post(body, path=b"/hooks", extra=b"", sign=True, msg_id=b"msg_1", ts=b"1795619405"):
    """One HTTP/1.1 POST as probehookd sends it, signed like Standard Webhooks."""
    head = b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    if sign:
        mac = hmac.new(SECRET, msg_id + b"." + ts + b"." + body, hashlib.sha256).digest()
        head += (b"webhook-id: " + msg_id + b"\r\nwebhook-timestamp: " + ts +
                 b"\r\nwebhook-signature: v1," + base64.b64encode(mac) + b"\r\n")
    head += extra + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    return head + body


HTTP_SEEDS = {
    "signed-post": post(b'{"type":"agent.step.completed","data":{"agent_id":"a"}}'),
    "pipelined": post(b"{}") + b"\r\n" + post(b"[1,2]", sign=False) + post(b"x", path=b"/q?a=b"),
    "expect-continue": post(b'{"a":1}', extra=b"Expect: 100-continue\r\n"),
    "http10-keepalive": post(b"{}", extra=b"Connection: keep-alive\r\n").replace(b"HTTP/1.1", b"HTTP/1.0", 1),
    "not-utf8": post(b"\xff\xfe\x00binary", path=b"/\xc3\xa9\xff", extra=b"X-Bad: \xc0\xaf\r\n"),
    "repeated-headers": post(b"{}", extra=b"webhook-signature: v1,AAAA\r\nX-A: 1\r\nX-A: 2\r\n"),
    "chunked": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "get": b"GET /x HTTP/1.1\r\nConnection: close\r\n\r\n",
    "http2": b"POST / HTTP/2.0\r\nContent-Length: 0\r\n\r\n",
    "lf-only": b"POST / HTTP/1.1\nContent-Length: 2\n\n{}",
    "folded": b"POST / HTTP/1.1\r\nX-A: 1\r\n  folded\r\nContent-Length: 0\r\n\r\n",
    "conflicting-length": b"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    "huge-length": b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
}


def write(target, name, data):
    path = os.path.join(HERE, "corpus", target, "seed-" + name)
    with open(path, "wb") as f:
        f.write(data)


def main():
    for name, (probe, args) in SEEDS.items():
        write("decode", name, record(probe, args))
        write("event", name, event_input(probe, args))
    step = SEEDS["step-completed"]
    write("decode", "truncated-args", record(*step, truncated=(3, 4)))
    write("decode", "unknown-version", record(*step, version=RECORD_VERSION + 1))
    write("decode", "header-only", record(*step)[:136])
    write("decode", "loss-report", record(*step, lost_before=12345))
    write("decode", "comm-invalid-utf8", record(*step, comm=b"\xff\"\\x\x01"))
    write("decode", "boot-ns-max", record(*step, boot_ns=2**64 - 1))
    for name, data in HTTP_SEEDS.items():
        write("receiver_http", name, data)


if __name__ == "__main__":
    main()
