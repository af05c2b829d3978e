#!/usr/bin/env bash
# An HTTPS receiver whose certificate is self-signed (made now, valid for
# 127.0.0.1, so trust is all that is wrong): the collector verifies
# certificates by default, so every attempt fails with a certificate error,
# no request body ever reaches that server, and the deliveries are given up.
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
command -v openssl >/dev/null || e2e_fail "openssl (the CLI) is missing: bash .ci/deps"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>"$WORK/openssl.log" ||
	e2e_fail "openssl could not make a certificate"
node "$E2E_DIR/../node/tls_receiver.js" "$WORK/key.pem" "$WORK/cert.pem" "$WORK/tls.port" \
	"$WORK/tls.jsonl" 2>"$WORK/tls.log" &
PIDS+=($!)
wait_until 10 test -s "$WORK/tls.port" || e2e_fail "TLS receiver did not start"
simple_config "$WORK/config.json" \
	"{\"id\": \"selfsigned\", \"url\": \"https://127.0.0.1:$(cat "$WORK/tls.port")/hooks\",
	  \"secret\": \"$SECRET\", \"max_attempts\": 2, \"retry\": {\"schedule_ms\": [0, 200]}, \"breaker\": {\"window\": 1000, \"min_attempts\": 1000}, \"allow_private_networks\": true}"
start_collector "$WORK/config.json"
run_agent --steps 3
fired=$FIRED
wait_until 20 have_log_count "dead-lettered after 2 attempts" "$fired" ||
	e2e_fail "$(log_count "dead-lettered after 2 attempts") of $fired deliveries gave up"
[ "$(log_count "SSL certificate problem")" -ge "$fired" ] ||
	e2e_fail "no certificate error logged: $(grep -m1 "attempt 1 failed" "$WORK/collector.log")"
stop_collector
[ "$COLLECTOR_STATUS" = 0 ] || e2e_fail "collector exited with $COLLECTOR_STATUS"
handshakes=$(grep -c '"tls_error"' "$WORK/tls.jsonl" || true)
[ "$handshakes" -ge 1 ] || e2e_fail "the collector never tried the TLS receiver"
! grep -qE '"(request|secure_connection)"' "$WORK/tls.jsonl" ||
	e2e_fail "the untrusted server got a connection through: $(grep -m1 -E 'request|secure' "$WORK/tls.jsonl")"
e2e_pass "$fired events refused an untrusted certificate ($handshakes failed handshakes, no request)"
