#!/usr/bin/env bash
# gate.sh BASE_REV: build kbench at BASE_REV and at the working tree, run
# both RUNS times, alternating on this machine, then `kbench gate` the two
# sets. Exit status is the gate's: 0 pass, 1 fail, 2 unusable input (or a
# build that failed).
#
# The runs go in pairs, one of each side back to back, and a coin decides
# which side of a pair runs first (seeded by GATE_SEED, printed). Pairs
# put a run of the other side next to every run, so a burst of other work
# reaches both sides (ABBA order puts two runs of one side together, and
# such bursts then look like a difference: 1 false alarm in the first 7
# A/A trials here). The coin makes the test over the pairs exact whatever
# the machine does: with nothing changed, which run of a pair did worse is
# then a fair coin too. A fixed order does not: with base first in the
# first half and head first in the second, one A/A trial here showed head
# 5 % slower in 11 of 12 pairs, and the gate failed it.
#
# Environment: RUNS (runs a side, default 16), GATE_RUN (flags for each
# `kbench run`, default --workload=fanin), GATE_FLAGS (flags for
# `kbench gate`), GO. GATE_BASE_BIN and GATE_HEAD_BIN name prebuilt
# binaries instead (BASE_REV is then not needed): scripts/gate-trials.sh
# uses them to build once and gate many times; GATE_KEEP=dir keeps the
# result files.
#
# Why 16 runs a side: a run's median moves by 5-15 % here from one run to
# the next, as much as a 10 % per-event slowdown moves it, and the gate
# tests the 16 base runs against the 16 head runs (U test, corrected
# across the gating comparisons); at 12 a side it saw such a slowdown in 8
# of 10 trials here (README, "How well it works here"). Each run a side
# costs about 2 s with `--workload=fanin --impl=epoll`.
set -euo pipefail
runs=${RUNS:-16}
run_flags=${GATE_RUN:---workload=fanin}
gate_flags=${GATE_FLAGS:-}
go=${GO:-go}
case $runs in '' | *[!0-9]* | 0) echo "gate: RUNS=$runs: want a positive whole number" >&2; exit 2 ;; esac

work=$(mktemp -d "${TMPDIR:-/tmp}/kbench-gate.XXXXXX")
top=
cleanup() {
	if [ -n "$top" ]; then git -C "$top" worktree remove --force "$work/src" >/dev/null 2>&1 || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${GATE_BASE_BIN:-}" ] || [ -n "${GATE_HEAD_BIN:-}" ]; then
	bin_base=${GATE_BASE_BIN:?gate: GATE_HEAD_BIN given without GATE_BASE_BIN}
	bin_head=${GATE_HEAD_BIN:?gate: GATE_BASE_BIN given without GATE_HEAD_BIN}
else
	base_rev=${1:?usage: scripts/gate.sh BASE_REV   (make gate BASE=rev)}
	top=$(git rev-parse --show-toplevel)
	rev=$(git -C "$top" rev-parse --verify --quiet "$base_rev^{commit}") || { echo "gate: no commit $base_rev" >&2; exit 2; }
	git -C "$top" worktree add --detach "$work/src" "$rev" >/dev/null
	(cd "$work/src" && "$go" build -o "$work/base" ./cmd/kbench) || { echo "gate: building $base_rev failed" >&2; exit 2; }
	(cd "$top" && "$go" build -o "$work/head" ./cmd/kbench) || { echo "gate: building the working tree failed" >&2; exit 2; }
	bin_base=$work/base bin_head=$work/head
fi

seed=${GATE_SEED:-$(( $(date +%s) ^ $$ ))}
case $seed in '' | *[!0-9]*) echo "gate: GATE_SEED=$seed: want a whole number" >&2; exit 2 ;; esac
echo "gate: order seed $seed (GATE_SEED)" >&2
RANDOM=$seed
mkdir -p "$work/out/base" "$work/out/head"
for i in $(seq "$runs"); do
	order="base head"
	if [ $((RANDOM % 2)) -eq 1 ]; then order="head base"; fi
	for side in $order; do
		bin=$bin_base
		if [ "$side" = head ]; then bin=$bin_head; fi
		echo "gate: run $i/$runs, $side" >&2
		# A failed row makes kbench exit 1; the gate judges it (BROKEN).
		# Anything else (bad flags, a crash) leaves nothing to judge.
		rc=0
		# shellcheck disable=SC2086
		"$bin" run $run_flags --out "$work/run" >/dev/null || rc=$?
		if [ "$rc" -gt 1 ]; then echo "gate: $side run $i exited $rc" >&2; exit 2; fi
		for f in "$work/run"/*.json; do
			if [ -e "$f" ]; then mv "$f" "$work/out/$side/run$i.json"; fi
		done
		rm -rf "$work/run"
	done
done
if [ -n "${GATE_KEEP:-}" ]; then
	mkdir -p "$GATE_KEEP" && cp -r "$work/out/base" "$work/out/head" "$GATE_KEEP/"
fi
# shellcheck disable=SC2086
"$bin_head" gate $gate_flags "$work/out/base" "$work/out/head"
