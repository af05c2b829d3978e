#!/usr/bin/env bash
# TLS verification stays on: an https receiver with a self-signed
# certificate is refused (dead-lettered, nothing accepted), and the same
# receiver works for an endpoint whose ca_bundle holds that certificate.
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
command -v openssl >/dev/null || e2e_fail "openssl is needed to make a test certificate"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=probehook-test \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
	>"$WORK/openssl.log" 2>&1 || e2e_fail "openssl req failed"
# a small https receiver: one line per POST, 204
python3 - "$WORK" >"$WORK/https.log" 2>&1 <<'PY' &
import http.server, ssl, sys, os
work = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        with open(os.path.join(work, "https.jsonl"), "a") as f:
            f.write(self.headers.get("webhook-id", "-") + "\n")
        self.send_response(204)
        self.end_headers()
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(os.path.join(work, "cert.pem"), os.path.join(work, "key.pem"))
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(os.path.join(work, "https.port.tmp"), "w").write(str(srv.server_address[1]))
os.rename(os.path.join(work, "https.port.tmp"), os.path.join(work, "https.port"))
srv.serve_forever()
PY
PIDS+=($!)
wait_until 10 test -s "$WORK/https.port" || e2e_fail "https receiver did not start"
PORT=$(cat "$WORK/https.port")
ep() { # NAME EXTRA
	printf '{"id": "%s", "url": "https://127.0.0.1:%s/hooks", "secret": "%s", "allow_private_networks": true,
	  "events": ["agent.job.completed"], "max_attempts": 1 %s}' "$1" "$PORT" "$SECRET" "$2"
}
simple_config "$WORK/config.json" "$(ep strict "")" "$(ep trusted ", \"ca_bundle\": \"$WORK/cert.pem\"")"
start_collector "$WORK/config.json"
run_agent --steps 1
wait_until 10 log_has "to endpoint strict: dead-lettered after 1 attempt: .*(certificate|SSL)" ||
	e2e_fail "the self-signed certificate was not refused"
wait_until 10 have_lines "$WORK/https.jsonl" 1 || e2e_fail "the trusted endpoint delivered nothing"
sleep 0.3
stop_collector
[ "$(count_lines "$WORK/https.jsonl")" = 1 ] || e2e_fail "the receiver accepted $(count_lines "$WORK/https.jsonl") requests, want 1"
log_has "endpoint trusted: 1 delivered" || e2e_fail "trusted not delivered"
e2e_pass "self-signed certificate refused without ca_bundle, accepted with it"
