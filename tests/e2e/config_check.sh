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
	elif grep -qE "c2VjcmV0LXRoYXQ|MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw|hunter2" <<<"$out"; then
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

# More kinds of mistakes, each named by its key.  E is a valid endpoint, to
# which a case adds or changes one member; U and P hold a valid target.
E="\"id\": \"ops\", \"url\": \"http://127.0.0.1:9/\", \"secret\": \"$SECRET\""
U="[{\"path\": \"$T\"}]"
P="\"targets\": $U"
ep() { printf '{%s, "endpoints": [{%s}]%s}' "$P" "$1" "${2:+, $2}"; }
expect duplicate-endpoint-id 2 'endpoints[1].id: "ops" is already endpoints[0].id' \
	"{$P, \"endpoints\": [{$E}, {$E}]}"
expect duplicate-target 2 "targets[1]: same file and pid as targets[0]" \
	"{\"targets\": [{\"path\": \"$T\"}, {\"path\": \"$T\"}], \"endpoints\": [{$E}]}"
expect duplicate-key 2 'endpoints[0]: duplicate key "url"' "$(ep "$E, \"url\": \"http://h/\"")"
expect empty-targets 2 "targets: must be a non-empty array" '{"targets": [], "endpoints": []}'
expect empty-endpoints 2 "endpoints: must be a non-empty array" "{$P, \"endpoints\": []}"
expect empty-events 2 "endpoints[0].events: must be a non-empty array" "$(ep "$E, \"events\": []")"
expect empty-secrets 2 "endpoints[0].secrets: must be a non-empty array" \
	"$(ep '"id": "ops", "url": "http://h/", "secrets": []')"
expect empty-default-events 2 "default_agent.webhook_events: must be a non-empty array" \
	"$(ep "$E" '"default_agent": {"webhook_events": []}')"
expect negative-attempts 2 "endpoints[0].max_attempts: must be an integer from 1 to 100" \
	"$(ep "$E, \"max_attempts\": -1")"
expect fractional-attempts 2 "endpoints[0].max_attempts: must be an integer" \
	"$(ep "$E, \"max_attempts\": 1.5")"
expect negative-pid 2 "targets[0].pid: must be an integer" \
	"{\"targets\": [{\"path\": \"$T\", \"pid\": -5}], \"endpoints\": [{$E}]}"
expect low-timeout 2 "endpoints[0].timeout_ms: must be an integer from 100" "$(ep "$E, \"timeout_ms\": 10")"
expect zero-queue 2 "queue_max: must be an integer from 1" "$(ep "$E" '"queue_max": 0')"
expect huge-arg-cap 2 "max_arg_bytes: must be an integer from 16 to 2700" \
	"$(ep "$E" '"max_arg_bytes": 100000')"
expect ring-not-power-of-two 2 "ring_buffer_bytes: must be a power of two" \
	"$(ep "$E" '"ring_buffer_bytes": 5000')"
expect ring-too-small 2 "ring_buffer_bytes: must be a power of two" "$(ep "$E" '"ring_buffer_bytes": 1024')"
expect ring-string 2 "ring_buffer_bytes: must be a power of two" "$(ep "$E" '"ring_buffer_bytes": "4M"')"
expect unknown-endpoint-key 2 'endpoints[0]: unknown key "bogus_key"' "$(ep "$E, \"bogus_key\": 1")"
expect unknown-target-key 2 'targets[0]: unknown key "bogus_key"' \
	"{\"targets\": [{\"path\": \"$T\", \"bogus_key\": 1}], \"endpoints\": [{$E}]}"
expect unknown-agent-key 2 'agents.agent-1: unknown key "bogus_key"' \
	"$(ep "$E" '"agents": {"agent-1": {"webhook_enabled": true, "bogus_key": 1}}')"
expect unknown-default-key 2 'default_agent: unknown key "bogus_key"' \
	"$(ep "$E" '"default_agent": {"bogus_key": true}')"
expect both-secret-kinds 2 'endpoints[0]: has both "secret" and "secrets"' \
	"$(ep "$E, \"secrets\": [\"$SECRET\"]")"
expect no-secret 2 'endpoints[0]: needs "secret" or "secrets"' "$(ep '"id": "ops", "url": "http://h/"')"
expect too-many-secrets 2 "endpoints[0].secrets: must hold at most 4" \
	"$(ep "\"id\": \"ops\", \"url\": \"http://h/\", \"secrets\": [\"$SECRET\", \"$SECRET\", \"$SECRET\", \"$SECRET\", \"$SECRET\"]")"
expect secret-not-string 2 "endpoints[0].secrets[1]: must be a string" \
	"$(ep "\"id\": \"ops\", \"url\": \"http://h/\", \"secrets\": [\"$SECRET\", 7]")"
expect missing-url 2 "endpoints[0].url: is required" "$(ep "\"id\": \"ops\", \"secret\": \"$SECRET\"")"
expect url-password 2 "endpoints[0].url: must not contain user info" \
	"$(ep "\"id\": \"ops\", \"url\": \"https://ops:hunter2@h/\", \"secret\": \"$SECRET\"")"
expect url-port 2 "endpoints[0].url: has an invalid port" \
	"$(ep "\"id\": \"ops\", \"url\": \"http://h:99999/\", \"secret\": \"$SECRET\"")"
expect url-space 2 "endpoints[0].url: must not contain whitespace" \
	"$(ep "\"id\": \"ops\", \"url\": \"http://h/a b\", \"secret\": \"$SECRET\"")"
expect bad-id 2 "endpoints[0].id: must be 1 to 64 of" \
	"$(ep "\"id\": \"ops team\", \"url\": \"http://h/\", \"secret\": \"$SECRET\"")"
expect bad-bool 2 "endpoints[0].allow_private_networks: must be a boolean" \
	"$(ep "$E, \"allow_private_networks\": \"yes\"")"
expect no-match-pattern 2 'endpoints[0].events[0]: pattern "foo.*" matches no event type' \
	"$(ep "$E, \"events\": [\"foo.*\"]")"
expect agents-array 2 "agents: must be an object" "$(ep "$E" '"agents": []')"
expect agent-empty-id 2 "agents: agent ids must not be empty" \
	"$(ep "$E" '"agents": {"": {"webhook_enabled": true}}')"
expect agent-no-enabled 2 "agents.agent-1.webhook_enabled: is required" \
	"$(ep "$E" '"agents": {"agent-1": {}}')"
expect agent-events-string 2 "agents.agent-1.webhook_events: must be a non-empty array" \
	"$(ep "$E" '"agents": {"agent-1": {"webhook_enabled": true, "webhook_events": "*"}}')"
expect agent-unknown-event 2 'agents.agent-1.webhook_events[1]: unknown event type "agent.step"' \
	"$(ep "$E" '"agents": {"agent-1": {"webhook_enabled": true, "webhook_events": ["*", "agent.step"]}}')"
expect target-directory 2 "targets[0].path: /tmp: not a regular file" \
	"{\"targets\": [{\"path\": \"/tmp\"}], \"endpoints\": [{$E}]}"
expect target-relative 2 "targets[0].path: $WORK/no-such-agent: No such file" \
	"{\"targets\": [{\"path\": \"no-such-agent\"}], \"endpoints\": [{$E}]}"
expect target-missing-path 2 "targets[0].path: is required" "{\"targets\": [{\"pid\": 1}], \"endpoints\": [{$E}]}"
expect root-array 2 "(root): must be an object" '[]'
expect empty-file 2 "not valid JSON" ''
expect trailing-text 2 "not valid JSON near line 1" "$(ep "$E") x"

# a NUL byte would hide the rest of the file from the parser
{ ep "$E"; printf '\0 {"more": 1}'; } >"$WORK/nul.json"
chmod 600 "$WORK/nul.json"
if out=$("$BUILD/probehookd" --check --config "$WORK/nul.json" 2>&1) || ! grep -q "contains a NUL byte" <<<"$out"; then
	echo "FAIL nul-byte: $out" >&2
	failures=$((failures + 1))
fi
# a huge file is refused before it is read
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$WORK/huge.json"
chmod 600 "$WORK/huge.json"
if out=$("$BUILD/probehookd" --check --config "$WORK/huge.json" 2>&1) || ! grep -q "larger than" <<<"$out"; then
	echo "FAIL huge-file: $out" >&2
	failures=$((failures + 1))
fi

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
# path flags are held to what the config requires of the same keys
for flag in --pin-dir --spool-dir --control-socket; do
	out=$("$BUILD/probehookd" --check "$flag" relative/path 2>&1)
	if [ $? != 2 ] || ! grep -q "relative/path: paths given as flags must be absolute" <<<"$out"; then
		echo "FAIL $flag relative: $out" >&2
		failures=$((failures + 1))
	fi
done

echo "config_check: $failures failed"
[ "$failures" = 0 ]
