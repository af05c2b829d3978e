# shellcheck shell=bash disable=SC2034 # PY_DIR and PY are for the tests that source this
# Shared by the Python binding's end-to-end tests (python_*.sh), sourced after
# lib.sh and e2e_setup.  Not a test itself.

PY_DIR=$(cd "$E2E_DIR/../../probes/python" && pwd)

# python_setup: copies libprobehook.so into $WORK (the collector targets the
# copy, so parallel tests never share probes), exports PROBEHOOK_LIB, and sets
# PY, the command that runs python with the binding.  With a sanitizer build
# the library needs the ASan runtime loaded first; CPython's own allocations
# are not ours to leak-check, so only the leak checker is turned off.
python_setup() {
	local asan
	cp "$BUILD/libprobehook.so" "$WORK/libprobehook.so"
	export PROBEHOOK_LIB="$WORK/libprobehook.so"
	PY=(python3)
	asan=$(ldd "$PROBEHOOK_LIB" | awk '$1 ~ /^libasan\./ { print $3 }')
	if [ -n "$asan" ]; then
		PY=(env LD_PRELOAD="$asan" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" python3)
	fi
}

# demo_summary LOG: "FIRED ENABLED" from the demo's last stderr line
demo_summary() {
	sed -n 's/^demo-agent: fired \([0-9]*\) events (\([0-9]*\) while enabled)$/\1 \2/p' "$1"
}
