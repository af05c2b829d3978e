# shellcheck shell=bash
# Shared plumbing for the end-to-end tests: a real receiver, a real collector
# with real BPF, a real probed program.  Each test gets its own directory and
# its own copy of the probed binary, so tests running in parallel never see
# each other's probes (a uprobe belongs to one file).
#
# Usage in a test:  source lib.sh "$BUILD_DIR"; e2e_setup; ...; e2e_pass
set -euo pipefail

BUILD=${1:?usage: $0 BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
SECRETS=("$SECRET")
PIDS=()
MOUNTS=()

e2e_log() { printf '[%s] %s\n' "$(date +%T.%3N)" "$*" >&2; }
e2e_fail() {
	e2e_log "FAIL: $*"
	for f in "$WORK"/*.log; do
		[ -f "$f" ] && { echo "---- $f (last 40 lines)" >&2; tail -n 40 "$f" >&2; }
	done
	exit 1
}

e2e_cleanup() {
	local pid m
	for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	# a private bpffs takes its pinned links (and their probes) with it
	for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
	if [ "${KEEP_WORK:-0}" = 1 ]; then e2e_log "kept $WORK"; else rm -rf "$WORK"; fi
}

e2e_setup() {
	# BPF needs root: report "skipped" to CTest (exit 77), never a pass.
	if [ "$(id -u)" != 0 ]; then echo "needs root for BPF" >&2; exit 77; fi
	WORK=$(mktemp -d /tmp/probehook-e2e.XXXXXX)
	trap e2e_cleanup EXIT
	cp "$BUILD/probehook-demo-agent" "$WORK/agent"
	AGENT="$WORK/agent"
	CTL_SOCKET="$WORK/ctl.sock" # each collector its own control socket
	export PROBEHOOK_SOCKET="$CTL_SOCKET"
}

# mount_bpffs: a private bpf file system at $WORK/bpffs, for pin_dir; sets PIN_DIR
mount_bpffs() {
	mkdir -p "$WORK/bpffs"
	mount -t bpf bpf "$WORK/bpffs" || e2e_fail "cannot mount a bpf file system at $WORK/bpffs"
	MOUNTS+=("$WORK/bpffs")
	PIN_DIR="$WORK/bpffs/probehook"
}

# wait_until TIMEOUT_S CMD... : poll CMD every 50 ms
wait_until() {
	local deadline=$((SECONDS + $1)); shift
	until "$@"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.05
	done
}

# start_receiver NAME [receiver args...]: sets ${NAME}_PORT
start_receiver() {
	local name=$1; shift
	"$BUILD/probehook-receiver" --listen 127.0.0.1:0 --port-file "$WORK/$name.port" \
		--out "$WORK/$name.jsonl" "$@" 2>"$WORK/$name.log" &
	PIDS+=($!)
	eval "${name}_PID=$!"
	wait_until 10 test -s "$WORK/$name.port" || e2e_fail "receiver $name did not start"
	eval "${name}_PORT=$(cat "$WORK/$name.port")"
}

# start_collector CONFIG [probehookd args...]: runs probehookd in the background,
# waits until it attached
start_collector() {
	"$BUILD/probehookd" --config "$1" --control-socket "$CTL_SOCKET" --spool-dir "$WORK/spool" "${@:2}" 2>"$WORK/collector.log" &
	COLLECTOR_PID=$!
	PIDS+=("$COLLECTOR_PID")
	wait_until 20 grep -qs "running:" "$WORK/collector.log" ||
		e2e_fail "collector did not start"
}

# stop_collector: SIGTERM, wait, sets COLLECTOR_STATUS
stop_collector() {
	kill -TERM "$COLLECTOR_PID"
	COLLECTOR_STATUS=0
	wait "$COLLECTOR_PID" || COLLECTOR_STATUS=$?
}

# count_lines FILE: number of lines (0 when missing)
count_lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }

# secret_forms SECRET: the ways a leaked secret could read in a log: whole, its
# base64 part, the key bytes in hex
secret_forms() {
	python3 -c 'import base64, sys
b64 = sys.argv[1][len("whsec_"):]
print(sys.argv[1], b64.rstrip("="), base64.b64decode(b64 + "==").hex(), sep="\n")' "$1"
}

# e2e_check_secrets: no collector log line holds a secret of $SECRETS (add
# the other secrets a test configures to that array), nor anything "whsec_"
e2e_check_secrets() {
	local f s form forms=()
	for s in "${SECRETS[@]}"; do mapfile -t -O "${#forms[@]}" forms < <(secret_forms "$s"); done
	for f in "$WORK"/collector*.log; do
		[ -f "$f" ] || continue
		! grep -q whsec_ "$f" || e2e_fail "a secret appears in $f: $(grep -m1 whsec_ "$f")"
		for form in "${forms[@]}"; do
			! grep -qiF -- "$form" "$f" || e2e_fail "a secret (${form:0:8}...) appears in $f"
		done
	done
}

e2e_pass() { e2e_check_secrets; e2e_log "PASS: $*"; exit 0; }

# have_lines FILE N: FILE has at least N lines (for wait_until: evaluated per poll)
have_lines() { [ "$(count_lines "$1")" -ge "$2" ]; }

# log_count PATTERN: lines of the collector's log holding PATTERN (fixed string)
log_count() { grep -caF -- "$1" "$WORK/collector.log" || true; }

# have_log_count PATTERN N: at least N such lines (for wait_until)
have_log_count() { [ "$(log_count "$1")" -ge "$2" ]; }

# collector_rss_kb: the collector's resident memory now
collector_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$COLLECTOR_PID/status"; }

# free_port: a loopback TCP port nothing listens on (for a receiver started later, or never)
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# simple_config FILE ENDPOINT_JSON...: every agent's events from $AGENT to these endpoints
simple_config() {
	local file=$1 endpoints; shift
	endpoints=$(IFS=,; echo "$*")
	cat >"$file" <<JSON
{
  "targets": [ {"path": "$AGENT"} ],
  "endpoints": [ $endpoints ],
  "default_agent": {"webhook_enabled": true}
}
JSON
}

# filtering_config FILE TARGET PORT: every event type to one endpoint, from
# agent-42 (all types), agent-7 (agent.step.failed only); agent-off and any
# unlisted agent have webhooks disabled
filtering_config() {
	cat >"$1" <<JSON
{
  "targets": [ {"path": "$2"} ],
  "endpoints": [ {"id": "ops", "url": "http://127.0.0.1:$3/hooks", "secret": "$SECRET",
                  "events": ["*"], "agents": ["*"], "allow_private_networks": true} ],
  "agents": {
    "agent-42":  {"webhook_enabled": true,  "webhook_events": ["*"]},
    "agent-7":   {"webhook_enabled": true,  "webhook_events": ["agent.step.failed"]},
    "agent-off": {"webhook_enabled": false, "webhook_events": ["*"]}
  },
  "default_agent": {"webhook_enabled": false}
}
JSON
}

# expect_filtered_delivery N: after filtering_config and an agent run (its
# stdout in $WORK/agent.out), exactly N events arrive, all of agent-42's types,
# only agent.step.failed of agent-7, nothing of agent-off or unlisted agents;
# then the collector is stopped and must exit 0
expect_filtered_delivery() {
	wait_until 20 have_lines "$WORK/hooks.jsonl" "$1" ||
		e2e_fail "receiver got $(count_lines "$WORK/hooks.jsonl") of $1"
	sleep 0.5 # anything extra (a filtered event leaking through) would arrive now
	stop_collector
	[ "$COLLECTOR_STATUS" = 0 ] || e2e_fail "collector exited with $COLLECTOR_STATUS"
	python3 "$E2E_DIR/check_events.py" "$WORK/hooks.jsonl" --agent-out "$WORK/agent.out" \
		--expect-all-types agent-42 --expect-only agent-7=agent.step.failed \
		--expect-none agent-off --expect-none agent-unlisted --expect-count "$1" ||
		e2e_fail "received events do not match"
}

# run_agent [demo agent flags]: runs the demo agent once the collector attached;
# sets FIRED to the number of events it fired while enabled
run_agent() {
	"$AGENT" --wait-enabled 10 --quiet "$@" 2>"$WORK/agent.log" || e2e_fail "demo agent failed"
	FIRED=$(sed -n 's/.*(\([0-9]*\) while enabled).*/\1/p' "$WORK/agent.log")
	[ "${FIRED:-0}" -gt 0 ] || e2e_fail "the demo agent fired nothing while enabled"
}

# log_has PATTERN: the collector's log has a line matching the extended regex
log_has() { grep -qsE -- "$1" "$WORK/collector.log"; }

# jsonl_check FILE PYTHON: run PYTHON with `lines` (the receiver's parsed JSON
# lines) and `fail(msg)`; the test fails with the message
jsonl_check() {
	local file=$1 code=$2
	python3 - "$file" <<PY || e2e_fail "check on $(basename "$file") failed"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def fail(msg):
    print("check failed:", msg, file=sys.stderr)
    sys.exit(1)
$code
PY
}
