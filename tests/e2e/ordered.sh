#!/usr/bin/env bash
# Ordered delivery per agent: the first request fails; on the ordered
# endpoint that agent's later events wait for its retry, while the other
# agent's events flow meanwhile.  An unordered endpoint answering the same
# way delivers the agent's later events first: the control that shows the
# order comes from "ordered".
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
start_receiver ord --status-sequence 500
start_receiver free --status-sequence 500
ep() { # NAME PORT ORDERED
	printf '{"id": "%s", "url": "http://127.0.0.1:%s/", "secret": "%s", "allow_private_networks": true,
	  "ordered": %s, "max_in_flight": 8, "retry": {"schedule_ms": [0, 600], "jitter_percent": 0}}' \
		"$1" "$2" "$SECRET" "$3"
}
simple_config "$WORK/config.json" "$(ep ord "$ord_PORT" true)" "$(ep free "$free_PORT" false)"
start_collector "$WORK/config.json"
run_agent --steps 8 --agent-id a1,a2
fired=$FIRED
for r in ord free; do
	wait_until 20 have_lines "$WORK/$r.jsonl" $((fired + 1)) ||
		e2e_fail "$r got $(count_lines "$WORK/$r.jsonl") of $((fired + 1)) requests"
done
stop_collector
# per agent: the order in which events were delivered (200s, by arrival)
check_order() { # FILE WANT_ORDERED
	jsonl_check "$1" "
first = lines[0]
if first['status'] != 500: fail('first request did not fail')
agent = first['body']['data']['agent_id']
ok = [l for l in lines if l['status'] == 200]
if len(ok) != len({l['webhook_id'] for l in ok}): fail('duplicates')
retried = next(i for i, l in enumerate(ok) if l['webhook_id'] == first['webhook_id'])
mine = [l['body']['source']['seq'] for l in ok if l['body']['data']['agent_id'] == agent]
in_order = mine == sorted(mine)
others_meanwhile = any(l['body']['data']['agent_id'] != agent for l in ok[:retried])
print(f'$(basename "$1"): agent {agent} in order: {in_order}; other agent delivered meanwhile: {others_meanwhile}')
if in_order != $2: fail(f'agent {agent} seqs delivered as {mine}')
if not others_meanwhile: fail('the other agent waited too')
"
}
check_order "$WORK/ord.jsonl" True
check_order "$WORK/free.jsonl" False
e2e_pass "ordered endpoint kept each agent's order across a retry; the unordered one did not"
