#!/usr/bin/env bash
# The shipped deployment files are valid: systemd-analyze verify accepts the
# unit (pointed at the built collector), the Kubernetes example parses as YAML
# with a shared process namespace, and both grant exactly the capabilities the
# collector keeps (userspace/caps.h).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
WORK=$(mktemp -d /tmp/probehook-deploy.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
WANT="BPF DAC_READ_SEARCH PERFMON SYS_ADMIN SYS_PTRACE SYS_RESOURCE"

sed "s|/usr/local/bin/probehookd|$BUILD/probehookd|" "$SRC/docs/deploy/probehookd.service" \
	>"$WORK/probehookd.service"
out=$(systemd-analyze verify "$WORK/probehookd.service" 2>&1) || { echo "$out"; exit 1; }
[ -z "$out" ] || { echo "systemd-analyze verify: $out"; exit 1; }
for key in AmbientCapabilities CapabilityBoundingSet; do
	got=$(sed -n "s/^$key=//p" "$WORK/probehookd.service" | tr ' ' '\n' | sed 's/^CAP_//' | sort | xargs)
	[ "$got" = "$WANT" ] || { echo "unit $key: $got, want $WANT"; exit 1; }
done

python3 - "$SRC/docs/deploy/k8s-sidecar.yaml" "$WANT" <<'PY'
import sys, yaml
pod = yaml.safe_load(open(sys.argv[1]))
spec = pod["spec"]
assert pod["kind"] == "Pod" and spec["shareProcessNamespace"] is True
sidecar = [c for c in spec["containers"] if c["name"] == "probehookd"][0]
caps = sidecar["securityContext"]["capabilities"]
assert caps["drop"] == ["ALL"], caps
assert " ".join(sorted(caps["add"])) == sys.argv[2], caps["add"]
assert sidecar["securityContext"]["allowPrivilegeEscalation"] is False
PY
echo "deploy_check: unit and sidecar example valid"
