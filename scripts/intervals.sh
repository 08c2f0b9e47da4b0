#!/usr/bin/env bash
# intervals.sh [N] [RUN_ARGS…]: run N independent `kbench run RUN_ARGS`
# invocations (default 5, RUN_ARGS default --workload=fanin --impl=all),
# one after the other on this machine, then report with kbench-intervals
# how often one invocation's headline interval holds another's median (all
# ordered pairs), per row and overall: the calibration check of kbench's
# intervals (target >= 80 %; see results/coverage).
#
# Environment: OUT (keep the result files there; default a temporary
# directory that is removed), GO.
set -euo pipefail
usage="usage: scripts/intervals.sh [N] [kbench run flags…]"
n=5
if [ $# -gt 0 ] && [[ $1 != -* ]]; then
	n=$1
	shift
fi
[[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 2 ] || { echo "intervals: N=$n: need a number of invocations >= 2; $usage" >&2; exit 2; }
[ $# -gt 0 ] || set -- --workload=fanin --impl=all
go=${GO:-go}

top=$(git rev-parse --show-toplevel)
work=$(mktemp -d "${TMPDIR:-/tmp}/kbench-intervals.XXXXXX")
trap 'rm -rf "$work"' EXIT
out=${OUT:-$work/out}
mkdir -p "$out"

(cd "$top" && "$go" build -o "$work/kbench" ./cmd/kbench && "$go" build -o "$work/kbench-intervals" ./cmd/kbench-intervals) ||
	{ echo "intervals: build failed" >&2; exit 2; }
files=()
for i in $(seq "$n"); do
	echo "intervals: invocation $i/$n: kbench run $*" >&2
	mkdir "$out/$i" 2>/dev/null || { echo "intervals: $out/$i exists; give OUT an empty directory" >&2; exit 2; }
	# A failed row makes kbench exit 1; its other rows still count.
	"$work/kbench" run "$@" --out "$out/$i" >/dev/null || [ $? -eq 1 ]
	f=$(ls "$out/$i"/kbench-*.json 2>/dev/null) || true
	[ -n "$f" ] || { echo "intervals: invocation $i wrote no result file in $out/$i" >&2; exit 1; }
	files+=("$f")
done
"$work/kbench-intervals" "${files[@]}"
