#!/usr/bin/env bash
# The demo: probehook-receiver on 127.0.0.1:9000, probehookd on its built-in
# default config, and the demo agent firing all 8 probes.  Each webhook that
# arrives is shown as it lands, with its signature check.
#   usage: tests/demo.sh BUILD_DIR [demo agent flags...]
set -euo pipefail
BUILD=$(cd "${1:?usage: $0 BUILD_DIR [demo agent flags]}" && pwd); shift
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw # the built-in config's demo secret
WORK=$(mktemp -d /tmp/probehook-demo.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] || { echo "demo: run as root (the collector loads BPF)" >&2; exit 1; }

echo "== probehook-receiver on 127.0.0.1:9000 (verifying signatures)"
"$BUILD/probehook-receiver" --listen 127.0.0.1:9000 --secret "$SECRET" --quiet \
	--out "$WORK/received.jsonl" 2>"$WORK/receiver.log" &
pids+=($!)
for _ in $(seq 100); do
	grep -q . "$WORK/receiver.log" 2>/dev/null && break
	kill -0 "${pids[0]}" 2>/dev/null || { cat "$WORK/receiver.log" >&2; exit 1; }
	sleep 0.05
done

echo "== probehookd (built-in default config)"
"$BUILD/probehookd" 2> >(sed -u 's/^/   collector | /' >&2) &
pids+=($!)

# show each webhook as it arrives
tail -n +1 -F "$WORK/received.jsonl" 2>/dev/null | python3 -u "$(dirname "$0")/demo_show.py" &
pids+=($!)

echo "== probehook-demo-agent --steps 12 --rate 25 $*"
"$BUILD/probehook-demo-agent" --steps 12 --rate 25 --wait-enabled 15 --quiet "$@"
sleep 1
kill -TERM "${pids[1]}"
wait "${pids[1]}" || true
sleep 0.2
total=$(wc -l <"$WORK/received.jsonl")
valid=$(grep -c '"signature":"valid"' "$WORK/received.jsonl" || true)
echo "== received $total webhooks, $valid with a valid signature"
[ "$total" -gt 0 ] && [ "$total" = "$valid" ]
