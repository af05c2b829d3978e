#!/usr/bin/env python3
"""Account for every probe hit of a flood (tests/e2e/flood.sh).

usage: check_flood.py RECEIVED.jsonl COLLECTOR.log SENT FLOOD_START FLOOD_END

From the collector's shutdown report ("records R (probe hits H, ring drops
D, malformed M); events matched X, unmatched U, dropped on a full queue Q;
deliveries ok K, failed F"):  H == SENT, R + D == H, X + Q == R, K == X ==
requests received, less the probehook.gap events, whose "lost" counts sum
to at most D (the kernel reports a process's losses with its next record,
at most once a second).  From the events: per process, the sequence numbers
received are distinct and within 1..H, and the ones missing number D + Q.
Deliveries went on throughout the flood: no second of it without one.
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


def main():
    received, log, sent = sys.argv[1], sys.argv[2], int(sys.argv[3])
    start, end = float(sys.argv[4]), float(sys.argv[5])
    problems = []
    reports = [REPORT.search(line) for line in open(log, encoding="utf-8", errors="replace")]
    reports = [m for m in reports if m]
    if len(reports) != 1:
        print(f"check_flood: {len(reports)} shutdown reports in {log}", file=sys.stderr)
        return 1
    r, h, d, m, x, u, q, k, f = map(int, reports[0].groups())
    print(f"check_flood: sent {sent}; hits {h}, records {r}, ring drops {d}, queue drops {q}, "
          f"delivered {k}")

    def expect(ok, what):
        if not ok:
            problems.append(what)

    expect(h == sent, f"probe hits {h} != sent {sent}")
    expect(r + d == h, f"records {r} + ring drops {d} != hits {h}")
    expect(m == 0 and u == 0, f"malformed {m}, unmatched {u}: want 0")
    expect(x + q == r, f"matched {x} + queue drops {q} != records {r}")

    seqs = collections.defaultdict(list)
    times = []
    gaps = gap_lost = 0
    for line in open(received, encoding="utf-8"):
        rec = json.loads(line)
        body = rec["body"]
        if body["type"] == "probehook.gap":
            gaps += 1
            gap_lost += body["data"]["lost"]
            continue
        seqs[body["source"]["pid"]].append(body["source"]["seq"])
        stamp = datetime.datetime.strptime(rec["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
        times.append(stamp.replace(tzinfo=datetime.timezone.utc).timestamp())
    got = sum(len(v) for v in seqs.values())
    print(f"check_flood: {gaps} probehook.gap events reporting {gap_lost} lost records")
    expect(k == x + gaps and f == 0, f"deliveries ok {k}, failed {f}: want {x} + {gaps}, 0")
    expect(got == x, f"{got} events received, {x} matched")
    expect(0 < gap_lost <= d if d else gap_lost == 0,
           f"gap events report {gap_lost} lost records, ring drops {d}")
    expect(len(seqs) == 1, f"events from {len(seqs)} processes, want 1")
    for pid, values in seqs.items():
        distinct = set(values)
        expect(len(distinct) == len(values), f"pid {pid}: {len(values) - len(distinct)} duplicates")
        expect(min(values) >= 1 and max(values) <= h, f"pid {pid}: seq outside 1..{h}")
        missing = h - len(distinct)
        print(f"check_flood: pid {pid}: {len(distinct)} sequence numbers, {missing} missing")
        expect(missing == d + q, f"pid {pid}: {missing} sequence numbers missing, "
                                 f"ring drops + queue drops = {d + q}")

    # responsive: something was delivered in every second of the flood
    busy = {int(t - start) for t in times if start <= t < end}
    idle = [s for s in range(int(end - start)) if s not in busy]
    expect(not idle, f"no delivery during flood seconds {idle}")
    for p in problems:
        print("check_flood:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
