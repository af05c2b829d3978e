#!/usr/bin/env bash
# A redirect is a failure and is not followed: the receiver sees exactly the
# attempts, all on the endpoint's path, and no request to /redirected.
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
start_receiver moved --status 302
simple_config "$WORK/config.json" "{\"id\": \"moved\", \"url\": \"http://127.0.0.1:$moved_PORT/hooks\",
	\"secret\": \"$SECRET\", \"allow_private_networks\": true, \"events\": [\"agent.job.completed\"],
	\"max_attempts\": 2, \"retry\": {\"schedule_ms\": [0, 300]}}"
start_collector "$WORK/config.json"
run_agent --steps 1
wait_until 10 log_has "dead-lettered after 2 attempts: HTTP 302" || e2e_fail "no dead-letter after two 302s"
sleep 0.3
stop_collector
jsonl_check "$WORK/moved.jsonl" '
if len(lines) != 2: fail(f"{len(lines)} requests, want 2")
if [l["path"] for l in lines] != ["/hooks", "/hooks"]: fail([l["path"] for l in lines])
if any(l["method"] != "POST" for l in lines): fail("not POST")
'
log_has "attempt 1 failed \(HTTP 302\); will retry" || e2e_fail "302 not logged as a failure"
e2e_pass "302 answered twice, never followed"
