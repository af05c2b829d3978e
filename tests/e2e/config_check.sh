#!/usr/bin/env bash
# probehookd --check: a good config passes; each broken one exits 2 with a
# message naming the offending key; secrets never appear in messages.
set -uo pipefail
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
WORK=$(mktemp -d /tmp/probehook-check.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
BAD_SECRET=whsec_c2VjcmV0LXRoYXQtaXMtdG9vLXNob3J0IQ
failures=0
T=/bin/sh

config() { # TARGETS ENDPOINT_EXTRA
	printf '{"targets": %s, "endpoints": [{"id": "ops", "url": "http://127.0.0.1:9/", %s}]}' "$1" "$2"
}
expect() { # NAME EXIT PATTERN JSON
	local out status
	printf '%s' "$4" >"$WORK/c.json"
	chmod 600 "$WORK/c.json"
	out=$("$BUILD/probehookd" --check --config "$WORK/c.json" 2>&1)
	status=$?
	if [ "$status" != "$2" ] || ! grep -qF -- "$3" <<<"$out"; then
		echo "FAIL $1: exit $status (want $2), output: $out" >&2
		failures=$((failures + 1))
	elif grep -qF "c2VjcmV0LXRoYXQ" <<<"$out"; then
		echo "FAIL $1: the secret leaked into: $out" >&2
		failures=$((failures + 1))
	else
		echo "ok   $1: $out"
	fi
}

expect good 0 "ok (1 targets, 1 endpoints" "$(config "[{\"path\": \"$T\"}]" "\"secret\": \"$SECRET\"")"
expect missing-targets 2 "targets" '{"endpoints": []}'
expect not-json 2 "not valid JSON" '{"targets": ['
expect unknown-key 2 'unknown key "endpoint"' "{\"targets\": [{\"path\": \"$T\"}], \"endpoint\": []}"
expect bad-url 2 "endpoints[0].url" "$(config "[{\"path\": \"$T\"}]" "\"secret\": \"$SECRET\"" | sed 's|http://127.0.0.1:9/|ftp://x/|')"
expect bad-secret 2 "endpoints[0].secret" "$(config "[{\"path\": \"$T\"}]" "\"secret\": \"$BAD_SECRET\"")"
expect wrong-type 2 "targets[0].pid" "$(config "[{\"path\": \"$T\", \"pid\": \"1\"}]" "\"secret\": \"$SECRET\"")"
expect unknown-target 2 "targets[0].path" "$(config '[{"path": "/no/such/program"}]' "\"secret\": \"$SECRET\"")"
expect unknown-event 2 "events[0]" "$(config "[{\"path\": \"$T\"}]" "\"secret\": \"$SECRET\", \"events\": [\"agent.stp.completed\"]")"
expect bad-schedule 2 "endpoints[0].retry.schedule_ms[0]: must be 0" "$(config "[{\"path\": \"$T\"}]" "\"secret\": \"$SECRET\", \"retry\": {\"schedule_ms\": [100]}")"
expect bad-breaker 2 "endpoints[0].breaker.failure_ratio" "$(config "[{\"path\": \"$T\"}]" "\"secret\": \"$SECRET\", \"breaker\": {\"failure_ratio\": 2}")"
expect bad-env 2 "endpoints[0].secret_env: environment variable PH_NO_SUCH_VAR is not set" "$(config "[{\"path\": \"$T\"}]" "\"secret_env\": \"PH_NO_SUCH_VAR\"")"
# a header value is a credential: an invalid one is named, never shown
expect header-crlf 2 "endpoints[0].headers.Authorization: must not contain CR, LF" "$(config "[{\"path\": \"$T\"}]" "\"secret\": \"$SECRET\", \"headers\": {\"Authorization\": \"Bearer c2VjcmV0LXRoYXQ\\r\\nX: 1\"}")"

# a world-writable config is refused: the collector is privileged
config "[{\"path\": \"$T\"}]" "\"secret\": \"$SECRET\"" >"$WORK/ww.json"
chmod 666 "$WORK/ww.json"
if out=$("$BUILD/probehookd" --check --config "$WORK/ww.json" 2>&1) || ! grep -q "world-writable" <<<"$out"; then
	echo "FAIL world-writable: $out" >&2
	failures=$((failures + 1))
fi
"$BUILD/probehookd" --check --config "$WORK/none.json" >/dev/null 2>&1
[ $? = 2 ] || { echo "FAIL missing file: not exit 2" >&2; failures=$((failures + 1)); }
"$BUILD/probehookd" --bogus >/dev/null 2>&1
[ $? = 2 ] || { echo "FAIL bad flag: not exit 2" >&2; failures=$((failures + 1)); }

echo "config_check: $failures failed"
[ "$failures" = 0 ]
