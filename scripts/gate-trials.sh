#!/usr/bin/env bash
# gate-trials.sh: measure the regression gate's false-alarm rate and its
# power on this machine, with scripts/gate.sh itself.
#
#   A/A trials: the same build on both sides; every flag is a false alarm.
#   Injected trials: head is the same commit built with -tags kbench_inject,
#   which adds to epoll's Wait a spin of a fixed cost per event returned
#   (impls/epoll/inject_on.go): 10 % of the collector's CPU per event as
#   this invocation measured it (scripts/gatecal over every A/A run, or
#   over 5 runs of its own when there are no A/A trials). Every pass is a
#   miss.
#
# usage: scripts/gate-trials.sh [--aa N] [--injected M] [--runs R]
#            [--run-flags 'kbench run flags'] [--fraction F] [--keep DIR] [--quick]
#
# Defaults: 20 A/A trials, 10 injected, 12 runs a side per trial,
# --workload=fanin --impl=epoll --reps=6 --duration=50ms. --quick: 2 A/A and
# 1 injected trial of 5 runs a side (a smoke test of the script, not a
# measurement). Targets: at most 1 A/A trial flagged of 20, at least 9
# injected of 10. Exit status: 0 both targets met, 1 not, 2 bad usage or a
# trial the gate could not judge. Every binary is built once per invocation.
set -euo pipefail
aa=20 inj=10 runs=16 fraction=0.1 keep=
run_flags='--workload=fanin --impl=epoll --reps=6 --duration=50ms'
usage() { echo "usage: scripts/gate-trials.sh [--aa N] [--injected M] [--runs R] [--run-flags FLAGS] [--fraction F] [--keep DIR] [--quick]" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--aa) aa=${2:-}; shift 2 || usage ;;
	--injected) inj=${2:-}; shift 2 || usage ;;
	--runs) runs=${2:-}; shift 2 || usage ;;
	--run-flags) run_flags=${2:-}; shift 2 || usage ;;
	--fraction) fraction=${2:-}; shift 2 || usage ;;
	--keep) keep=${2:-}; shift 2 || usage ;;
	--quick) aa=2 inj=1 runs=5; shift ;;
	*) usage ;;
	esac
done
for n in "$aa" "$inj" "$runs"; do
	case $n in '' | *[!0-9]*) echo "gate-trials: $n: want a whole number" >&2; exit 2 ;; esac
done
go=${GO:-go}
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/kbench-trials.XXXXXX")
trap 'rm -rf "$work"' EXIT
if [ -n "$keep" ]; then mkdir -p "$keep"; fi

echo "gate-trials: building (plain, calibration helper)" >&2
(cd "$top" && "$go" build -o "$work/plain" ./cmd/kbench && "$go" build -o "$work/gatecal" ./scripts/gatecal)

# trial KIND I HEAD_BIN: one gate run; prints its exit status.
trial() {
	local kind=$1 i=$2 head=$3 rc=0 t0 t1 log
	log="$work/$kind-$i.log"
	t0=$(date +%s)
	GATE_BASE_BIN="$work/plain" GATE_HEAD_BIN="$head" RUNS="$runs" GATE_RUN="$run_flags" \
		GATE_KEEP="$work/runs/$kind-$i" "$top/scripts/gate.sh" >"$log" 2>&1 || rc=$?
	t1=$(date +%s)
	if [ -n "$keep" ]; then cp "$log" "$keep/" && cp -r "$work/runs/$kind-$i" "$keep/"; fi
	local verdict=pass
	case $rc in 1) verdict=FLAGGED ;; 0) ;; *) verdict="UNUSABLE (exit $rc)" ;; esac
	echo "gate-trials: $kind $i: $verdict ($((t1 - t0)) s): $(tail -n 1 "$log")" >&2
	echo "$rc"
}

count() { # KIND N HEAD_BIN: prints "flagged unusable seconds"
	local flagged=0 unusable=0 t0 rc
	t0=$(date +%s)
	for i in $(seq "$2"); do
		rc=$(trial "$1" "$i" "$3")
		case $rc in 1) flagged=$((flagged + 1)) ;; 0) ;; *) unusable=$((unusable + 1)) ;; esac
	done
	echo "$flagged $unusable $(($(date +%s) - t0))"
}

read -r aa_flag aa_bad aa_s < <(count aa "$aa" "$work/plain")

# The injected cost: a share of what an event costs the collector here,
# now, with the trials' own flags: over every A/A run (both sides), or
# over 5 runs made for it when there were none.
cal=()
if [ "$aa" -gt 0 ]; then
	for d in "$work"/runs/aa-*/base "$work"/runs/aa-*/head; do cal+=("$d"); done
else
	mkdir -p "$work/cal"
	for i in 1 2 3 4 5; do
		# shellcheck disable=SC2086
		"$work/plain" run $run_flags --out "$work/cal/$i" >/dev/null || [ $? -eq 1 ]
		mv "$work/cal/$i"/*.json "$work/cal/run$i.json"
	done
	cal=("$work/cal")
fi
ns=$("$work/gatecal" -fraction "$fraction" "${cal[@]}")
echo "gate-trials: building the injected head (+$ns ns per event in epoll's Wait)" >&2
(cd "$top" && "$go" build -tags kbench_inject -ldflags "-X kbench/impls/epoll.injectNsPerEvent=$ns" -o "$work/inject" ./cmd/kbench)
read -r inj_flag inj_bad inj_s < <(count injected "$inj" "$work/inject")
per=$(((aa_s + inj_s) / (aa + inj > 0 ? aa + inj : 1)))
cat <<EOT
gate-trials: $runs runs a side per trial, kbench run $run_flags; one trial takes ~$per s
A/A:      $aa_flag of $aa flagged (target: at most $(((aa + 19) / 20))), $aa_bad unusable
injected: $inj_flag of $inj flagged (target: at least $(((inj * 9 + 9) / 10))), +$ns ns per event returned by epoll's Wait (${fraction} of the collector's CPU per event), $inj_bad unusable
EOT
if [ "$aa_bad" -gt 0 ] || [ "$inj_bad" -gt 0 ]; then exit 2; fi
if [ "$aa_flag" -le $(((aa + 19) / 20)) ] && [ "$inj_flag" -ge $(((inj * 9 + 9) / 10)) ]; then exit 0; fi
exit 1
