#!/usr/bin/env bash
# gate.sh BASE_REV: build kbench at BASE_REV and at the working tree, run
# both RUNS times, interleaved (base, head, base, head, ...) on this machine,
# then `kbench gate` the two sets. Exit status is the gate's: 0 no
# regression, 1 regression, 2 unusable input (or a build that failed).
#
# Environment: RUNS (default 5), GATE_RUN (flags for each `kbench run`,
# default --workload=fanin), GATE_FLAGS (flags for `kbench gate`), GO,
# GATE_OUT (keep the result files in GATE_OUT/base and GATE_OUT/head).
set -euo pipefail
base_rev=${1:?usage: scripts/gate.sh BASE_REV   (make gate BASE=rev)}
runs=${RUNS:-5}
run_flags=${GATE_RUN:---workload=fanin}
gate_flags=${GATE_FLAGS:-}
go=${GO:-go}

top=$(git rev-parse --show-toplevel)
work=$(mktemp -d "${TMPDIR:-/tmp}/kbench-gate.XXXXXX")
cleanup() {
	git -C "$top" worktree remove --force "$work/src" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

rev=$(git -C "$top" rev-parse --verify "$base_rev^{commit}") || { echo "gate: no commit $base_rev" >&2; exit 2; }
git -C "$top" worktree add --detach "$work/src" "$rev" >/dev/null
(cd "$work/src" && "$go" build -o "$work/base" ./cmd/kbench) || { echo "gate: building $base_rev failed" >&2; exit 2; }
(cd "$top" && "$go" build -o "$work/head" ./cmd/kbench) || { echo "gate: building the working tree failed" >&2; exit 2; }

out=${GATE_OUT:-$work/out}
mkdir -p "$out/base" "$out/head"
for i in $(seq "$runs"); do
	for side in base head; do
		echo "gate: run $i/$runs, $side" >&2
		# A failed row makes kbench exit 1; the gate judges it (BROKEN).
		# shellcheck disable=SC2086
		"$work/$side" run $run_flags --out "$out/$side" >/dev/null || [ $? -eq 1 ]
	done
done
# shellcheck disable=SC2086
"$work/head" gate $gate_flags "$out/base" "$out/head"
