#!/usr/bin/env bash
# The address guard: endpoints at 10.0.0.1, 169.254.169.254 (even with the
# opt-in) and loopback without the opt-in (by address and by host name) are
# refused in curl's open-socket callback, before a socket exists: no packet
# is sent, no connection counted, nothing retried, each event dead-lettered
# with a clear reason.  A real receiver on loopback proves nothing arrived;
# with the opt-in the same receiver address works.  An endpoint without the
# opt-in that shares its receiver with one that has it must not ride on that
# endpoint's kept-alive connections either (checked again before each
# request goes out on a connection, new or reused).
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
start_receiver lo
start_receiver ok
ep() { # NAME URL ALLOW
	printf '{"id": "%s", "url": "%s", "secret": "%s", "events": ["agent.job.completed"],
	  "allow_private_networks": %s}' "$1" "$2" "$SECRET" "$3"
}
simple_config "$WORK/config.json" \
	"$(ep ten "http://10.0.0.1:8080/hooks" false)" \
	"$(ep meta "http://169.254.169.254/latest/meta-data/" true)" \
	"$(ep lo "http://127.0.0.1:$lo_PORT/" false)" \
	"$(ep lohost "http://localhost:$lo_PORT/" false)" \
	"$(ep ok "http://127.0.0.1:$ok_PORT/" true)" \
	"$(ep shared "http://127.0.0.1:$ok_PORT/" false)"
start_collector "$WORK/config.json"
run_agent --steps 2 --agent-id x,y
wait_until 10 have_lines "$WORK/ok.jsonl" 2 || e2e_fail "the opted-in endpoint got $(count_lines "$WORK/ok.jsonl") of 2"
# a second round: "ok" has kept-alive connections to the receiver by now
run_agent --steps 2 --agent-id x,y
wait_until 10 have_lines "$WORK/ok.jsonl" 4 || e2e_fail "the opted-in endpoint got $(count_lines "$WORK/ok.jsonl") of 4"
wait_until 10 log_has "to endpoint lohost: dead-lettered after 1 attempt" || e2e_fail "lohost not refused"
sleep 0.3
stop_collector
[ "$(count_lines "$WORK/lo.jsonl")" = 0 ] || e2e_fail "the loopback receiver got requests without the opt-in"
for want in \
	"to endpoint ten: dead-lettered after 1 attempt: refused: 10.0.0.1 is a private address; set allow_private_networks to allow it" \
	"to endpoint meta: dead-lettered after 1 attempt: refused: 169.254.169.254 is a cloud metadata address; never allowed" \
	"to endpoint lo: dead-lettered after 1 attempt: refused: 127.0.0.1 is a loopback address; set allow_private_networks to allow it" \
	"to endpoint lohost: dead-lettered after 1 attempt: refused: (127.0.0.1|::1) is a loopback address"; do
	[ "$(grep -cE -- "$want" "$WORK/collector.log")" = 4 ] || e2e_fail "want four times: $want"
done
for name in ten meta lo lohost; do
	log_has "endpoint $name: 0 delivered, 4 dead-lettered \(4 refused by the address guard\); 4 requests over 0 connections" ||
		e2e_fail "report for $name: $(grep "endpoint $name:" "$WORK/collector.log" | tail -1)"
done
log_has "endpoint shared: 0 delivered, 4 dead-lettered \(4 refused by the address guard\)" ||
	e2e_fail "report for shared: $(grep "endpoint shared:" "$WORK/collector.log" | tail -1)"
[ "$(count_lines "$WORK/ok.jsonl")" = 4 ] || e2e_fail "the shared receiver got $(count_lines "$WORK/ok.jsonl") requests, want only ok's 4"
! log_has "will retry" || e2e_fail "a refusal was retried"
log_has "endpoint ok: 4 delivered" || e2e_fail "the opted-in endpoint did not deliver"
e2e_pass "private, metadata and loopback addresses refused before connecting; loopback works with the opt-in"
