#!/usr/bin/env python3
"""Account for every probe hit of a flood (tests/e2e/flood.sh).

usage: check_flood.py RECEIVED.jsonl COLLECTOR.log SENT FLOOD_START FLOOD_END

From the collector's shutdown report ("records R (probe hits H, ring drops
D, malformed M); events matched X, unmatched U, dropped on a full queue Q;
deliveries ok K, dead-lettered F", "spool ...: A events accepted, P pending
deliveries kept for the next start, W write errors, S refused, E evicted"):
H == SENT, R + D == H, X == R (Q == 0: a full queue spills to the spool),
A + S == X, K + P == A, K == requests received.  The kernel's loss reports
(probehook.gap, not sent to this endpoint) add up to at most D.  From the
events: per process, the sequence numbers received are distinct and within
1..H, and the ones missing number D + S + P.  Deliveries went on throughout
the flood: no second of it without one.
"""
import collections
import datetime
import json
import re
import sys

REPORT = re.compile(r"records (\d+) \(probe hits (\d+), ring drops (\d+), malformed (\d+)\); "
                    r"events matched (\d+), unmatched (\d+), dropped on a full queue (\d+)"
                    r"(?:, cut to max_payload_bytes \d+)?; "
                    r"deliveries ok (\d+), dead-lettered (\d+)")
SPOOL = re.compile(r"spool .*: (\d+) events accepted, (\d+) pending deliveries kept for the next "
                   r"start, (\d+) write errors, (\d+) refused, (\d+) evicted")
GAPS = re.compile(r"the kernel reported (\d+) records lost to a full ring buffer, in (\d+) "
                  r"probehook.gap reports")


def one_match(pattern, log, what):
    found = [m for m in map(pattern.search, open(log, encoding="utf-8", errors="replace")) if m]
    if len(found) != 1:
        print(f"check_flood: {len(found)} {what} lines in {log}", file=sys.stderr)
        return None
    return tuple(map(int, found[0].groups()))


def main():
    received, log, sent = sys.argv[1], sys.argv[2], int(sys.argv[3])
    start, end = float(sys.argv[4]), float(sys.argv[5])
    problems = []
    report, spool = one_match(REPORT, log, "shutdown report"), one_match(SPOOL, log, "spool report")
    if not report or not spool:
        return 1
    r, h, d, m, x, u, q, k, f = report
    a, p, w, s, e = spool
    gaps = one_match(GAPS, log, "gap report") if d else (0, 0)
    print(f"check_flood: sent {sent}; hits {h}, records {r}, ring drops {d}, queue drops {q}; "
          f"spooled {a}, refused {s}; delivered {k}, kept in the spool {p}; kernel loss "
          f"reports: {gaps and gaps[0]} records in {gaps and gaps[1]}")

    def expect(ok, what):
        if not ok:
            problems.append(what)

    expect(h == sent, f"probe hits {h} != sent {sent}")
    expect(r + d == h, f"records {r} + ring drops {d} != hits {h}")
    expect(m == 0 and u == 0, f"malformed {m}, unmatched {u}: want 0")
    expect(x == r and q == 0, f"matched {x}, dropped on a full queue {q}: want {r}, 0")
    expect(a + s == x, f"spooled {a} + refused {s} != matched {x}")
    expect(k + p == a and f == 0 and w == 0 and e == 0,
           f"delivered {k} + kept {p} != spooled {a}, or dead {f} / write errors {w} / "
           f"evicted {e} not 0")
    expect(gaps is not None and (0 < gaps[0] <= d if d else gaps[0] == 0),
           f"loss reports {gaps} for ring drops {d}")

    seqs = collections.defaultdict(list)
    times = []
    for line in open(received, encoding="utf-8"):
        rec = json.loads(line)
        body = rec["body"]
        seqs[body["source"]["pid"]].append(body["source"]["seq"])
        stamp = datetime.datetime.strptime(rec["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
        times.append(stamp.replace(tzinfo=datetime.timezone.utc).timestamp())
    got = sum(len(v) for v in seqs.values())
    expect(got == k, f"{got} requests received, {k} deliveries reported")
    expect(len(seqs) == 1, f"events from {len(seqs)} processes, want 1")
    for pid, values in seqs.items():
        distinct = set(values)
        expect(len(distinct) == len(values), f"pid {pid}: {len(values) - len(distinct)} duplicates")
        expect(min(values) >= 1 and max(values) <= h, f"pid {pid}: seq outside 1..{h}")
        missing = h - len(distinct)
        print(f"check_flood: pid {pid}: {len(distinct)} sequence numbers, {missing} missing")
        expect(missing == d + s + p, f"pid {pid}: {missing} sequence numbers missing, "
                                     f"ring drops + refused + kept = {d + s + p}")

    # responsive: something was delivered in every second of the flood
    busy = {int(t - start) for t in times if start <= t < end}
    idle = [sec for sec in range(int(end - start)) if sec not in busy]
    expect(not idle, f"no delivery during flood seconds {idle}")
    for problem in problems:
        print("check_flood:", problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
