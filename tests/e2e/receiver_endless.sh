#!/usr/bin/env bash
# Receivers whose answers never end: one streams a body of 1 TB, one sends
# header lines forever.  The collector stops reading at its response cap (well
# before the 60 s timeout), counts the attempt as failed, retries, gives up,
# and its memory stays flat while it does.
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
python3 "$E2E_DIR/endless_server.py" "$WORK/endless.port" "$WORK/endless.jsonl" 2>"$WORK/endless.log" &
PIDS+=($!)
wait_until 10 test -s "$WORK/endless.port" || e2e_fail "endless server did not start"
PORT=$(cat "$WORK/endless.port")
endpoint() { # PATH
	printf '{"id": "%s", "url": "http://127.0.0.1:%s/%s", "secret": "%s", "max_attempts": 2, "retry": {"schedule_ms": [0, 200]}, "breaker": {"window": 1000, "min_attempts": 1000},
	  "timeout_ms": 60000, "allow_private_networks": true}' "$1" "$PORT" "$1" "$SECRET"
}
simple_config "$WORK/config.json" "$(endpoint body)" "$(endpoint headers)"
start_collector "$WORK/config.json"
rss_start=$(collector_rss_kb)
rss_max=$rss_start
run_agent --steps 5
fired=$FIRED
# an endless body after a 200 is cut at the response cap: the status arrived, so
# the event counts as delivered; an endless head never gives a status: two
# attempts, then dead-lettered.  Sample memory until every delivery is final.
body_delivered() {
	"$BUILD/probehookctl" --json status | python3 -c '
import json, sys
ep = [e for e in json.load(sys.stdin)["endpoints"] if e["id"] == "body"][0]
sys.exit(0 if ep["delivered"] >= int(sys.argv[1]) else 1)' "$fired"
}
deadline=$((SECONDS + 30))
until have_log_count "to endpoint headers: dead-lettered after 2 attempts" "$fired" && body_delivered; do
	[ $SECONDS -lt $deadline ] ||
		e2e_fail "$(log_count "dead-lettered after") of $fired deliveries to headers dead-lettered"
	rss=$(collector_rss_kb)
	[ "$rss" -le "$rss_max" ] || rss_max=$rss
	sleep 0.1
done
e2e_log "collector RSS ${rss_start} kB at start, at most ${rss_max} kB while reading endless answers"
# ASan's quarantine keeps freed memory resident (up to 256 MB): allow it more
rss_limit=16384
# (no grep -q: with pipefail, ldd dying of SIGPIPE would read as "no ASan")
if ldd "$BUILD/probehookd" | grep libasan >/dev/null; then rss_limit=65536; fi
[ $((rss_max - rss_start)) -lt $rss_limit ] ||
	e2e_fail "collector memory grew by $((rss_max - rss_start)) kB (limit $rss_limit kB)"
kill -0 "$COLLECTOR_PID" || e2e_fail "the collector died"
stop_collector
[ "$COLLECTOR_STATUS" = 0 ] || e2e_fail "collector exited with $COLLECTOR_STATUS"

# the server saw every attempt end early: little sent, and quickly (its line for
# an attempt comes when its next write fails, a moment after curl gave up)
wait_until 10 have_lines "$WORK/endless.jsonl" $((3 * fired)) ||
	e2e_fail "the server saw $(count_lines "$WORK/endless.jsonl") of $((3 * fired)) attempts end"
python3 - "$WORK/endless.jsonl" "$((3 * fired))" <<'PY' || e2e_fail "answers were read too long"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
bad = [l for l in lines if l["sent"] > 16 << 20 or l["seconds"] > 5 or not l["request_bytes"]]
paths = {p: sum(l["path"] == "/" + p for l in lines) for p in ("body", "headers")}
print(f"endless: {len(lines)} answers cut, at most {max(l['sent'] for l in lines)} bytes and "
      f"{max(l['seconds'] for l in lines)} s each; {paths}", file=sys.stderr)
# one attempt per event to /body (delivered), two to /headers (dead-lettered)
sys.exit(1 if bad or len(lines) != int(sys.argv[2]) or paths["headers"] != 2 * paths["body"] else 0)
PY
[ "$(log_count "Too large response headers")" -ge "$fired" ] || e2e_fail "no endless head refused"
e2e_pass "$((4 * fired)) endless answers cut at the cap; memory flat"
