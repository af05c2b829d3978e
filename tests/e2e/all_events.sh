#!/usr/bin/env bash
# A probed program fires all 8 probes for four agents; the receiver must get
# every event of the agents that enabled webhooks and subscribed to its type,
# with the catalog's payload fields and a valid signature, and nothing else.
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup

start_receiver hooks --secret "$SECRET"
filtering_config "$WORK/config.json" "$AGENT" "$hooks_PORT"
start_collector "$WORK/config.json"

"$AGENT" --agent-id agent-42,agent-7,agent-off,agent-unlisted --steps 40 --fail-every 3 \
	--wait-enabled 10 >"$WORK/agent.out" 2>"$WORK/agent.log" || e2e_fail "demo agent failed"
expected=$(grep -c -E ' agent=agent-42( |$)' "$WORK/agent.out" || true)
failed7=$(grep -c -E '^agent\.step\.failed agent=agent-7( |$)' "$WORK/agent.out" || true)
[ "$failed7" -gt 0 ] || e2e_fail "the demo agent failed no step of agent-7"
expected=$((expected + failed7))
e2e_log "demo agent fired $(wc -l <"$WORK/agent.out") events; $expected should be delivered"

expect_filtered_delivery "$expected"
grep -q "0 deliveries undelivered" "$WORK/collector.log" || e2e_fail "shutdown report missing"
e2e_pass "all 8 types delivered, signed, filtered by agent and type"
