#!/usr/bin/env bash
# Run each libFuzzer target for a bounded time; fail on any crash, leak,
# sanitizer report or failed check.
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]    (BUILD_DIR: cmake --preset fuzz)
#
# Each target starts from its seed corpus (tests/fuzz/corpus/TARGET, left
# untouched: new inputs go to a scratch directory) and prints libFuzzer's
# final statistics: executions, coverage (cov: edges, ft: features), corpus.
# A crash input is kept and its path printed: add it to the corpus as
# tests/fuzz/corpus/TARGET/crash-WHAT once fixed, so every ctest replays it.
set -euo pipefail
BUILD=$(cd "${1:?usage: $0 BUILD_DIR SECONDS [TARGET...]}" && pwd)
TIME=${2:?usage: $0 BUILD_DIR SECONDS [TARGET...]}
shift 2
FUZZ_DIR=$(cd "$(dirname "$0")" && pwd)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(config decode event receiver_http)
WORK=$(mktemp -d /tmp/probehook-fuzz.XXXXXX)
failed=()

# longest input worth trying: a record is a 128-byte header and up to 16 KiB of strings
max_len() {
	case $1 in
	decode) echo 20000 ;;
	receiver_http) echo 16384 ;;
	*) echo 8192 ;;
	esac
}

# stat NAME LOG: a -print_final_stats=1 value
stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -n 1; }

for t in "${targets[@]}"; do
	bin="$BUILD/tests/fuzz/fuzz_$t"
	[ -x "$bin" ] || { echo "fuzz: $bin missing (cmake --preset fuzz && cmake --build --preset fuzz)" >&2; exit 2; }
	mkdir -p "$WORK/$t/corpus"
	opts=(-max_total_time="$TIME" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
	      -max_len="$(max_len "$t")" -artifact_prefix="$WORK/$t/")
	[ -f "$FUZZ_DIR/$t.dict" ] && opts+=(-dict="$FUZZ_DIR/$t.dict")
	status=0
	"$bin" "${opts[@]}" "$WORK/$t/corpus" "$FUZZ_DIR/corpus/$t" >"$WORK/$t/log" 2>&1 || status=$?
	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$WORK/$t/log" | tail -n 1 || true)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
	corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$done_line")
	printf 'fuzz_%-13s %ss: %s executions (%s/s), coverage %s edges, %s features, corpus %s, %s new, peak RSS %s MB\n' \
		"$t" "$TIME" "$(stat number_of_executed_units "$WORK/$t/log")" \
		"$(stat average_exec_per_sec "$WORK/$t/log")" "${cov:-?}" "${ft:-?}" "${corp:-?}" \
		"$(stat new_units_added "$WORK/$t/log")" "$(stat peak_rss_mb "$WORK/$t/log")"
	artifacts=$(find "$WORK/$t" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \))
	if [ "$status" != 0 ] || [ -n "$artifacts" ] || [ -z "$done_line" ]; then
		failed+=("$t")
		echo "---- fuzz_$t FAILED (exit $status); last lines of its log:"
		tail -n 60 "$WORK/$t/log"
		for a in $artifacts; do echo "input kept: $a"; done
	fi
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: FAILED: ${failed[*]} (logs and inputs in $WORK)" >&2
	exit 1
fi
rm -rf "$WORK"
echo "fuzz: ${#targets[@]} targets, no crashes"
