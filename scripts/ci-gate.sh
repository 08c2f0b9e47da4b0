#!/usr/bin/env bash
# ci-gate.sh [--quick] BASE_REV: the perf-gate CI job (.github/workflows/
# perf-gate.yml), runnable by hand from a checkout.
#
#  1. builds BASE_REV and the working tree (head), runs both RUNS times
#     interleaved and gates them: scripts/gate.sh, as `make gate` does;
#  2. writes the gate's table as Markdown to $GITHUB_STEP_SUMMARY, when set;
#  3. draws the comparison report: kbench plot base head (report.html, one
#     self-contained file, with the figures beside it);
#  4. exits with the gate's status: 0 no regression, 1 regression, 2 unusable
#     input or a build that failed. A report that cannot be drawn is said on
#     stderr and does not change the verdict.
#
# Everything lands in $OUT (default $TMPDIR/kbench-ci-gate): base/ and head/ (result
# files), gate.txt, gate.md, report/.
#
# --quick is a smoke run of the job itself (2 runs a side of epoll's quick
# fan-in rows, a few seconds each), not a verdict on a change.
# Environment: OUT, RUNS, GATE_RUN, GATE_FLAGS, GO (as scripts/gate.sh).
set -uo pipefail
usage() { echo "usage: scripts/ci-gate.sh [--quick] BASE_REV" >&2; exit 2; }
quick=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1; shift ;;
	-h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "ci-gate: unknown flag $1" >&2; usage ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || usage
base_rev=$1
go=${GO:-go}
top=$(git rev-parse --show-toplevel) || { echo "ci-gate: not in a git checkout" >&2; exit 2; }
out=${OUT:-${TMPDIR:-/tmp}/kbench-ci-gate}
if [ $quick -eq 1 ]; then
	export RUNS=${RUNS:-2}
	export GATE_RUN=${GATE_RUN:---workload=fanin --quick --impl=epoll}
	# A smoke run checks the job, not a change: at the gate's 5 % a
	# same-commit run would fail one time in twenty by design.
	export GATE_FLAGS=${GATE_FLAGS:---alpha=0.001}
fi

rm -rf "$out/base" "$out/head" "$out/report" "$out/gate.txt" "$out/gate.md"
mkdir -p "$out"
out=$(cd "$out" && pwd)
start=$(date +%s)

GATE_KEEP=$out GO=$go "$top/scripts/gate.sh" "$base_rev" | tee "$out/gate.txt"
code=${PIPESTATUS[0]}
echo "ci-gate: gate exit status $code after $(( $(date +%s) - start )) s" >&2

if ! ls "$out"/base/*.json >/dev/null 2>&1 || ! ls "$out"/head/*.json >/dev/null 2>&1; then
	echo "ci-gate: no result files to report on" >&2
	exit "$code"
fi
# The head binary again (a cache hit: gate.sh built the same tree) for the
# Markdown table and the report.
kb=$out/kbench
if ! (cd "$top" && "$go" build -o "$kb" ./cmd/kbench); then
	echo "ci-gate: building kbench for the report failed" >&2
	exit "$code"
fi

# The job summary: the gate's own Markdown when it has a format flag, else
# its table as preformatted text.
# shellcheck disable=SC2086
if "$kb" gate --help 2>&1 | grep -q -- '-format'; then
	"$kb" gate ${GATE_FLAGS:-} --format=markdown "$out/base" "$out/head" >"$out/gate.md" 2>/dev/null
else
	{
		echo '### kbench perf gate'
		echo
		case $code in
		0) echo "**Verdict: pass** (no significant regression)" ;;
		1) echo "**Verdict: REGRESSION**" ;;
		*) echo "**Verdict: unusable input** (exit $code)" ;;
		esac
		echo
		echo '```text'
		cat "$out/gate.txt"
		echo '```'
	} >"$out/gate.md"
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
	cat "$out/gate.md" >>"$GITHUB_STEP_SUMMARY"
fi

if "$kb" plot --label base --label head --out "$out/report" "$out/base" "$out/head" >&2; then
	if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
		echo >>"$GITHUB_STEP_SUMMARY"
		echo "The comparison report (report.html) and the result files are in the job's artifacts." >>"$GITHUB_STEP_SUMMARY"
	fi
else
	echo "ci-gate: the comparison report could not be drawn (the verdict stands)" >&2
fi
echo "ci-gate: done in $(( $(date +%s) - start )) s; results, gate.md and report/ in $out" >&2
exit "$code"
