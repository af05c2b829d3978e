#!/usr/bin/env bash
# The reference verifier (npm standardwebhooks) accepts every webhook, for each
# of two active secrets (the rotation case: one signature per secret).
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
NODE_DIR="$E2E_DIR/../node"
[ -d "$NODE_DIR/node_modules/standardwebhooks" ] ||
	e2e_fail "run 'npm ci' in tests/node first (the README's test command does)"
OLD_SECRET=whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
SECRETS+=("$OLD_SECRET")

start_node() { # NAME SECRET
	node "$NODE_DIR/verify_receiver.js" "$WORK/$1.port" "$WORK/$1.jsonl" "$2" 2>"$WORK/$1.log" &
	PIDS+=($!)
	wait_until 10 test -s "$WORK/$1.port" || e2e_fail "node receiver $1 did not start"
}
start_node new "$SECRET"
start_node old "$OLD_SECRET"
endpoint() { # NAME
	printf '{"id": "%s", "url": "http://127.0.0.1:%s/", "secrets": ["%s", "%s"], "allow_private_networks": true}' \
		"$1" "$(cat "$WORK/$1.port")" "$OLD_SECRET" "$SECRET"
}
simple_config "$WORK/config.json" "$(endpoint new)" "$(endpoint old)"
start_collector "$WORK/config.json"
run_agent --steps 10
fired=$FIRED
for r in new old; do
	wait_until 20 have_lines "$WORK/$r.jsonl" "$fired" ||
		e2e_fail "$r receiver got $(count_lines "$WORK/$r.jsonl") of $fired"
done
stop_collector
for r in new old; do
	bad=$(grep -c '"verified":false' "$WORK/$r.jsonl" || true)
	[ "$bad" = 0 ] || e2e_fail "$r: $bad requests failed verification: $(grep -m1 false "$WORK/$r.jsonl")"
	good=$(grep -c '"verified":true' "$WORK/$r.jsonl")
	[ "$good" = "$fired" ] || e2e_fail "$r: $good verified, want $fired"
done
e2e_pass "$fired events x 2 endpoints verified by the standardwebhooks package with each secret"
