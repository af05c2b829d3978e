#!/usr/bin/env python3
"""Check what probehook-receiver (--raw-body) got from probehook-hostile.

usage: check_hostile.py RECEIVED.jsonl FIRED.txt MAX_ARG_BYTES

Every request must carry a body that is valid JSON and UTF-8, and each case
must arrive exactly once with exactly the fields and flags written out
below (the bytes sent are in tests/progs/hostile.c).  Integers are checked
in the raw body, parsed without a detour through floating point.
"""
import decimal
import json
import sys

R = "\ufffd"


def cases(cap):
    huge_utf8 = "\u00e9" * (cap // 2)  # whole characters only: the cut one goes
    return {
        "quotes": ({"error": 'say "hi" \\ back\\slash / {"not": json}',
                    "error_type": "ctl:\t\n\r\x01\x1f\x7f:end"}, {}),
        "invalid-utf8": ({"error": f"bad:{R*2}:{R*2}:{R*3}:{R*4}:end",
                          "error_type": "ok:caf\u00e9:\U0001F600"},
                         {"invalid_utf8": ["error"]}),
        "huge": ({"error": "x" * cap, "error_type": huge_utf8},
                 {"truncated": ["error", "error_type"]}),
        "null-and-empty": ({"error": None, "error_type": ""}, {}),
        "unmapped": ({"error": None, "error_type": None},
                     {"unreadable": ["error", "error_type"]}),
        "unreadable": ({"error": None, "error_type": None},
                       {"unreadable": ["error", "error_type"]}),
        "int-max": ({"run_id": None, "message_count": 2**63 - 1, "usage": {}}, {}),
        "int-min": ({"run_id": "run-1", "message_count": -2**63, "usage": None}, {}),
        "json-invalid": ({"usage": '{"a": }'}, {"invalid_json": ["usage"]}),
        "json-truncated": ({"usage": ('{"k":"' + "v" * 4096)[:cap]},
                           {"truncated": ["usage"], "invalid_json": ["usage"]}),
        "json-deep": ({"usage": "[" * cap}, {"truncated": ["usage"], "invalid_json": ["usage"]}),
        "json-too-deep": ({"usage": "[" * 999 + "]" * 999}, {"too_deep": ["usage"]}),
        "json-empty": ({"usage": ""}, {"invalid_json": ["usage"]}),
        "json-trailing": ({"usage": '{"a":1} trailing'}, {"invalid_json": ["usage"]}),
        "json-escapes": ({"usage": {"q": 'say "hi"\n', "ctl": "\x01", "emoji": "\U0001F600",
                                    "n": 1.5, "i": -42, "list": [True, False, None]}}, {}),
        "duration-max": ({"execution_time_ms": decimal.Decimal("9223372036854775.807")}, {}),
        "duration-min": ({"execution_time_ms": decimal.Decimal("-9223372036854775.808")}, {}),
        "time-max": ({"completed_at": "2262-04-11T23:47:16.854775Z"}, {}),
        "time-min": ({"completed_at": "1677-09-21T00:12:43.145224Z"}, {}),
    }


def case_of(data):
    # hostile.c puts the case name in step_id or agent_id, never in a hostile field
    return data.get("step_id") if "step_id" in data else data.get("agent_id")


def main():
    received, fired_path, cap = sys.argv[1], sys.argv[2], int(sys.argv[3])
    want = cases(cap)
    fired = [line.split() for line in open(fired_path, encoding="ascii")]
    problems, seen = [], {}
    for n, line in enumerate(open(received, "rb"), 1):
        try:
            rec = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            problems.append(f"request {n}: receiver line unreadable: {e}")
            continue
        if rec.get("body_encoding") != "json" or rec.get("signature") != "valid":
            problems.append(f"request {n}: body_encoding {rec.get('body_encoding')}, "
                            f"signature {rec.get('signature')} ({rec.get('signature_error')})")
            continue
        # exact numbers: ints stay ints, fractions become Decimals
        body = json.loads(rec["body_raw"], parse_float=decimal.Decimal)
        data, name = body["data"], case_of(body["data"])
        if name in seen:
            problems.append(f"case {name}: delivered twice")
        seen[name] = body["type"]
        if name not in want:
            problems.append(f"request {n}: unknown case {name!r}")
            continue
        if body["source"]["comm"] != 'hos"t\\' + R:
            problems.append(f"case {name}: comm {body['source']['comm']!r}")
        fields, flags = want[name]
        for key, value in fields.items():
            if data.get(key, "<missing>") != value or type(data.get(key)) is not type(value):
                got = repr(data.get(key, "<missing>"))
                problems.append(f"case {name}: {key} = {got[:120]}, want {repr(value)[:120]}")
        if body.get("flags", {}) != flags:
            problems.append(f"case {name}: flags {body.get('flags')}, want {flags}")
    for etype, name in fired:
        if seen.get(name) != etype:
            problems.append(f"case {name} ({etype}) fired but not received")
    if len(fired) != len(want):
        problems.append(f"{len(fired)} cases fired, {len(want)} known")
    for p in problems:
        print("check_hostile:", p, file=sys.stderr)
    print(f"check_hostile: {len(seen)} of {len(fired)} cases received, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
