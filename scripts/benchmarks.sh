#!/usr/bin/env bash
# Builds the benchmarks and runs them; the harness starts a real Kafka broker in its own process
# (kafka-broker-process), runs the scenarios against it, stops it, and rewrites the generated blocks and
# charts of the report. docs/benchmarks.md describes the method and every column.
#
# Usage: scripts/benchmarks.sh [--quick | --profile [LABEL]] [harness options...]
#
#   (nothing)          the full run of the method: every scenario, 3 warm-up + 10 measured rounds of 3 s
#                      trials; rewrites docs/benchmarks.md and its charts. About two hours on two cores:
#                      run it on an otherwise idle machine.
#   --quick            smoke run (a few minutes): short trials, 1 warm-up + 3 rounds, every block labelled
#                      as smoke figures; writes benchmarks/target/quick/benchmarks.md unless --output is given.
#   --profile [LABEL]  JFR profile of fd mode at 5 producers (10 s warm-up, 20 s recorded); rewrites the
#                      block profile-LABEL (default: before) of docs/benchmarks.md and leaves the recording
#                      and `jfr view` summaries in benchmarks/target/profile/.
#   other options      passed to the harness; `scripts/benchmarks.sh --help` lists them.
#
# Environment: JAVA_HOME, a JDK 21 or newer (default: the java on the PATH, else the newest JDK in
# /usr/lib/jvm); BENCH_HEAP, the harness's fixed heap (default 2g); SKIP_BUILD=1 to reuse the last build.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

java_major() {
	"$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'
}

pick_jdk() {
	if [[ -n "${JAVA_HOME:-}" ]]; then
		echo "$JAVA_HOME"
		return
	fi
	local best="" best_major=0 home major
	if command -v java >/dev/null; then
		home="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
		best="$home"
		best_major="$(java_major "$home")"
	fi
	for home in /usr/lib/jvm/*/; do
		home="${home%/}"
		[[ -x "$home/bin/javac" ]] || continue
		major="$(java_major "$home")"
		if [[ -n "$major" && "$major" -gt "$best_major" ]]; then
			best="$home"
			best_major="$major"
		fi
	done
	echo "$best"
}

JAVA_HOME="$(pick_jdk)"
export JAVA_HOME
major="$(java_major "$JAVA_HOME")"
if [[ -z "$major" || "$major" -lt 21 ]]; then
	echo "The benchmarks need JDK 21 or newer; JAVA_HOME=$JAVA_HOME is ${major:-not a JDK}." >&2
	exit 2
fi

help=0
profile=0
label=before
args=()
while [[ $# -gt 0 ]]; do
	case "$1" in
		--profile)
			profile=1
			if [[ $# -gt 1 && "$2" != --* ]]; then
				label="$2"
				shift
			fi
			args+=("--scenarios" "profile" "--profile-label" "$label")
			;;
		--help)
			help=1
			;;
		*)
			args+=("$1")
			;;
	esac
	shift
done

if [[ "${SKIP_BUILD:-}" != 1 ]]; then
	echo "Building the benchmarks with JDK $major ($JAVA_HOME)..."
	./mvnw -B -q -ntp -pl benchmarks -am package -DskipTests
fi

heap="${BENCH_HEAP:-2g}"
# A fixed, pre-touched heap keeps the heap out of the resident-memory figures: RSS growth then shows what
# threads and native buffers cost.
java_cmd=("$JAVA_HOME/bin/java" "-Xms$heap" "-Xmx$heap" "-XX:+AlwaysPreTouch" -jar benchmarks/target/benchmarks.jar)

if [[ "$help" == 1 ]]; then
	"${java_cmd[@]}" --help
	exit 0
fi

"${java_cmd[@]}" "${args[@]}"

if [[ "$profile" == 1 ]]; then
	recording="benchmarks/target/profile/profile-$label.jfr"
	for arg_index in "${!args[@]}"; do
		if [[ "${args[$arg_index]}" == --profile-file ]]; then
			recording="${args[$((arg_index + 1))]}"
		fi
	done
	# JDK 21+ `jfr view`: the whole-JVM views beside the per-thread tables the harness wrote.
	for view in hot-methods allocation-by-site allocation-by-class; do
		"$JAVA_HOME/bin/jfr" view --width 200 "$view" "$recording" >"${recording%.jfr}.$view.txt" 2>&1 || true
	done
	echo "Recording: $recording (open it in JDK Mission Control, or: jfr print --events jdk.CPUTimeSample $recording)"
	echo "Views: ${recording%.jfr}.{hot-methods,allocation-by-site,allocation-by-class}.txt"
fi
