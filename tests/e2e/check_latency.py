#!/usr/bin/env python3
"""How long events took from probe to receiver (probehook-receiver lines).

usage: check_latency.py RECEIVED.jsonl MAX_SECONDS

Latency is the receiver's arrival time minus the event's timestamp (when the
probe fired); fails when any event took longer than MAX_SECONDS.
"""
import datetime
import json
import sys


def parse(text):
    stamp = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    return stamp.replace(tzinfo=datetime.timezone.utc).timestamp()


def main():
    limit = float(sys.argv[2])
    lat = [parse(r["time"]) - parse(r["body"]["timestamp"])
           for r in map(json.loads, open(sys.argv[1], encoding="utf-8"))]
    if not lat:
        print("check_latency: nothing received", file=sys.stderr)
        return 1
    lat.sort()
    print(f"check_latency: {len(lat)} events, median {lat[len(lat) // 2] * 1000:.1f} ms, "
          f"max {lat[-1] * 1000:.1f} ms (limit {limit * 1000:.0f} ms)")
    return 0 if lat[-1] <= limit else 1


if __name__ == "__main__":
    sys.exit(main())
