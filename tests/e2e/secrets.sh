#!/usr/bin/env bash
# Secrets from a file (two, rotation) and from the environment (one): every
# request carries one valid signature per secret, checked here with Python's
# hmac; a custom Authorization header is sent.  After a run with failures
# and --verbose, no secret and no header value appears in the collector's
# log or in --check's output, and the group-readable secret file is warned
# about by name only.
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
S1=whsec_dGhlLWZpcnN0LXNlY3JldC1mcm9tLWEtZmlsZQ==   # the-first-secret-from-a-file
S2=whsec_c2Vjb25kLXJvdGF0ZWQtc2VjcmV0LWluLWZpbGU=   # second-rotated-secret-in-file
S3=whsec_dGhpcmQtc2VjcmV0LWluLWVudmlyb25tZW50       # third-secret-in-environment
TOKEN=tok-$RANDOM-aW5zaWRlLXRoZS1oZWFkZXI
printf '# probehook secrets, newest first\n%s\n\n%s\n' "$S1" "$S2" >"$WORK/secrets"
chmod 640 "$WORK/secrets"
export PH_E2E_SECRET="$S3"
start_receiver hooks --secret "$S2" --status-sequence 500,503,500 --raw-body
simple_config "$WORK/config.json" "{\"id\": \"rot\", \"url\": \"http://127.0.0.1:$hooks_PORT/hooks\",
	\"secret_file\": \"$WORK/secrets\", \"secret_env\": \"PH_E2E_SECRET\", \"allow_private_networks\": true,
	\"headers\": {\"Authorization\": \"Bearer $TOKEN\"}, \"max_in_flight\": 2,
	\"retry\": {\"schedule_ms\": [0, 100]}, \"breaker\": {\"min_attempts\": 20}}"
"$BUILD/probehookd" --check --config "$WORK/config.json" >"$WORK/check.log" 2>&1 || e2e_fail "--check failed"
start_collector "$WORK/config.json" --verbose
run_agent --steps 10
fired=$FIRED
wait_until 20 bash -c "[ \$(grep -c '\"status\":200' '$WORK/hooks.jsonl') -ge $fired ]" ||
	e2e_fail "receiver got $(grep -c '"status":200' "$WORK/hooks.jsonl") of $fired"
stop_collector
S1="$S1" S2="$S2" S3="$S3" TOKEN="$TOKEN" jsonl_check "$WORK/hooks.jsonl" '
import base64, hashlib, hmac, os
keys = [base64.b64decode(os.environ[k][len("whsec_"):]) for k in ("S1", "S2", "S3")]
for l in lines:
    h = l["headers"]
    if h.get("authorization") != "Bearer " + os.environ["TOKEN"]: fail("Authorization header missing")
    sigs = h["webhook-signature"].split(" ")
    if len(sigs) != 3: fail(f"{len(sigs)} signatures, want 3")
    msg = ".".join([h["webhook-id"], h["webhook-timestamp"], l["body_raw"]]).encode()
    for k in keys:
        want = "v1," + base64.b64encode(hmac.new(k, msg, hashlib.sha256).digest()).decode()
        if want not in sigs: fail("a secret has no valid signature")
    if l["signature"] != "valid": fail(l["signature_error"])
if sum(1 for l in lines if l["status"] != 200) != 3: fail("want three failed attempts")
'
log_has "will retry" || e2e_fail "no failed attempt logged"
grep -q "secret_file: $WORK/secrets is readable by group or others" "$WORK/collector.log" ||
	e2e_fail "no warning for the group-readable secret file"
for f in "$WORK/collector.log" "$WORK/check.log"; do
	for s in "$S1" "$S2" "$S3"; do
		b64=${s#whsec_}
		! grep -qF -- "${b64:0:16}" "$f" || e2e_fail "$(basename "$f") shows a secret"
		key=$(printf '%s' "$b64" | base64 -d)
		! grep -qF -- "${key:0:12}" "$f" || e2e_fail "$(basename "$f") shows a decoded secret"
	done
	! grep -qF -- "$TOKEN" "$f" || e2e_fail "$(basename "$f") shows the Authorization value"
done
log_has "endpoint rot: $fired delivered, 0 dead-lettered .*; $((fired + 3)) requests over [12] connections" ||
	e2e_fail "keep-alive: $(grep 'endpoint rot:' "$WORK/collector.log")"
e2e_pass "3 secrets from a file and the environment all sign; no secret in logs; $((fired + 3)) requests over <= 2 connections"
