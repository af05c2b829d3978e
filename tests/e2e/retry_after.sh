#!/usr/bin/env bash
# 429 with Retry-After: 2 delays the next attempt by at least 2 s although the
# schedule says 100 ms; 503 with Retry-After: 60 is clamped to the endpoint's
# retry_after_max_ms (1 s).  Timing comes from the receiver's clock, whose
# stamps have millisecond resolution (hence 1.999 for "at least 2 s").
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
start_receiver slow --status-sequence 429,200 --retry-after 2
start_receiver clamp --status-sequence 503,200 --retry-after 60
endpoint() { # NAME PORT EXTRA
	printf '{"id": "%s", "url": "http://127.0.0.1:%s/", "secret": "%s", "allow_private_networks": true,
	  "events": ["agent.job.completed"], "retry": {"schedule_ms": [0, 100], "jitter_percent": 0 %s}}' \
		"$1" "$2" "$SECRET" "$3"
}
simple_config "$WORK/config.json" "$(endpoint slow "$slow_PORT" "")" \
	"$(endpoint clamp "$clamp_PORT" ', "retry_after_max_ms": 1000')"
start_collector "$WORK/config.json"
run_agent --steps 1
wait_until 10 have_lines "$WORK/slow.jsonl" 2 || e2e_fail "slow got $(count_lines "$WORK/slow.jsonl") requests"
wait_until 10 have_lines "$WORK/clamp.jsonl" 2 || e2e_fail "clamp got $(count_lines "$WORK/clamp.jsonl") requests"
stop_collector
gap_check() { # FILE MIN MAX
	jsonl_check "$1" "
from datetime import datetime
if [l['status'] for l in lines] != [$4]: fail([l['status'] for l in lines])
if lines[0]['webhook_id'] != lines[1]['webhook_id']: fail('two events, want one retried')
gap = (datetime.fromisoformat(lines[1]['time']) - datetime.fromisoformat(lines[0]['time'])).total_seconds()
print(f'$(basename "$1"): next attempt after {gap:.3f} s')
if not $2 <= gap <= $3: fail(f'next attempt after {gap} s, want $2 to $3')
"
}
gap_check "$WORK/slow.jsonl" 1.999 3.5 "429, 200"
gap_check "$WORK/clamp.jsonl" 0.999 2.5 "503, 200"
log_has "to endpoint slow: attempt 1 failed \(HTTP 429\); will retry in 2001 ms" ||
	e2e_fail "the 429 retry was not logged as 2000 ms"
log_has "to endpoint clamp: attempt 1 failed \(HTTP 503\); will retry in 1001 ms" ||
	e2e_fail "the 503 retry was not clamped to 1000 ms"
e2e_pass "Retry-After honoured (2 s) and clamped (60 s -> 1 s)"
