#!/usr/bin/env bash
# 410 Gone disables the endpoint: the first request is the only one, every
# queued and later event is dead-lettered, and the log says so.  Another
# endpoint of the same collector is not affected.
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
start_receiver gone --status 410
start_receiver fine
simple_config "$WORK/config.json" \
	"{\"id\": \"gone\", \"url\": \"http://127.0.0.1:$gone_PORT/hooks\", \"secret\": \"$SECRET\",
	  \"allow_private_networks\": true, \"max_in_flight\": 1}" \
	"{\"id\": \"fine\", \"url\": \"http://127.0.0.1:$fine_PORT/hooks\", \"secret\": \"$SECRET\",
	  \"allow_private_networks\": true}"
start_collector "$WORK/config.json"
run_agent --steps 10
fired=$FIRED
wait_until 10 have_lines "$WORK/fine.jsonl" "$fired" || e2e_fail "the other endpoint got $(count_lines "$WORK/fine.jsonl") of $fired"
wait_until 10 log_has "endpoint gone disabled: the receiver answered 410 Gone; dead-lettering its [0-9]+ queued events" ||
	e2e_fail "no 'disabled' line"
run_agent --steps 3 # after the disable: dead-lettered on arrival
second=$FIRED
wait_until 10 have_lines "$WORK/fine.jsonl" $((fired + second)) || e2e_fail "second run not delivered to fine"
stop_collector
[ "$(count_lines "$WORK/gone.jsonl")" = 1 ] || e2e_fail "gone got $(count_lines "$WORK/gone.jsonl") requests, want 1"
log_has "endpoint gone: 0 delivered, $((fired + second)) dead-lettered .*; 1 requests over 1 connections; circuit closed; disabled" ||
	e2e_fail "report line wrong"
log_has "endpoint fine: $((fired + second)) delivered, 0 dead-lettered" || e2e_fail "fine not all delivered"
e2e_pass "410 disabled the endpoint after one request; $((fired + second)) events dead-lettered, the other endpoint unaffected"
