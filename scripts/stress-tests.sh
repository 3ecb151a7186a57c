#!/usr/bin/env bash
# Runs the concurrency suites (polling, close, shutdown races, broker faults, metrics) several times while a
# CPU hog keeps every core busy, each round in a fresh Maven build and test JVM, and prints a pass/fail table
# per suite. A test that passes only on an idle machine fails here: that is the point.
#
#   scripts/stress-tests.sh [--rounds N] [-o|--offline] [--suites PATTERN] [--all] [--no-hog]
#
#   --rounds N       rounds to run (default 5)
#   -o, --offline    pass -o to Maven (no downloads)
#   --suites PATTERN only the suites whose name matches this extended regular expression
#   --all            every test class of waterdrop-core and waterdrop-autoconfigure, not only the
#                    concurrency suites (a timing assumption can hide in any test)
#   --no-hog         do not load the CPU (to compare)
#
# Exits non-zero if any suite failed, or produced no report, in any round. Surefire reports of every round
# are kept under target/stress-tests/round-N/ for the failures' details.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=5
offline=()
only=""
hog=true
all=false
while [ $# -gt 0 ]; do
	case "$1" in
		--rounds) rounds="$2"; shift 2 ;;
		--rounds=*) rounds="${1#*=}"; shift ;;
		-o|--offline) offline=(-o); shift ;;
		--suites) only="$2"; shift 2 ;;
		--suites=*) only="${1#*=}"; shift ;;
		--all) all=true; shift ;;
		--no-hog) hog=false; shift ;;
		-h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
		*) echo "Unknown argument: $1 (see --help)" >&2; exit 2 ;;
	esac
done
if ! [[ "$rounds" =~ ^[1-9][0-9]*$ ]]; then
	echo "--rounds needs a positive number, got '$rounds'" >&2
	exit 2
fi

core_suites=(
	io.waterdrop.polling.PollerFairnessTests
	io.waterdrop.polling.PollerSliceTests
	io.waterdrop.polling.PollerStressTests
	io.waterdrop.polling.PollerWakeupTests
	io.waterdrop.polling.PollerLifecycleTests
	io.waterdrop.polling.PollerPeriodicTests
	io.waterdrop.polling.PollerLoopErrorTests
	io.waterdrop.polling.DispatchThreadTests
	io.waterdrop.polling.PollingInterruptTests
	io.waterdrop.polling.ReportQueueTests
	io.waterdrop.polling.PollerStartFailureTests
	io.waterdrop.ShutdownRaceTests
	io.waterdrop.ProducerCloseUnitTests
	io.waterdrop.ProducerCallbackUnitTests
	io.waterdrop.BackPressureUnitTests
	io.waterdrop.SlowCallbackTests
	io.waterdrop.TransactionUnitTests
	io.waterdrop.ExactlyOneOutcomeTests
	io.waterdrop.TransactionFailureTests
	io.waterdrop.CloseIntegrationTests
	io.waterdrop.CloseFromCallbackRaceTests
	io.waterdrop.CloseTurnTests
	io.waterdrop.BufferUnitTests
	io.waterdrop.TransactionBoundTests
	io.waterdrop.ClientBuildRaceTests
	io.waterdrop.PurgeAndWaitTests
	io.waterdrop.DisconnectTests
	io.waterdrop.AwaitSentTests
	io.waterdrop.SharedFlushTests
	io.waterdrop.PollerThreadsIntegrationTests
	io.waterdrop.DispatchResilienceIntegrationTests
	io.waterdrop.ResourceLeakIntegrationTests
	io.waterdrop.BrokerFaultTests
	io.waterdrop.VirtualThreadTests
	io.waterdrop.instrumentation.micrometer.WaterDropMetricsTests
)
autoconfigure_suites=(
	io.waterdrop.autoconfigure.ShutdownIntegrationTests
	io.waterdrop.autoconfigure.lifecycle.LifecycleTests
	io.waterdrop.autoconfigure.ActuatorIntegrationTests
	io.waterdrop.autoconfigure.RuntimeProducersTests
)

# Every test class of a module, by its source file.
suites_of() {
	find "$1"/src/test* -name '*Tests.java' | sed -E 's#.*/java/##; s#\.java$##; s#/#.#g' | sort
}
if $all; then
	mapfile -t core_suites < <(suites_of waterdrop-core)
	mapfile -t autoconfigure_suites < <(suites_of waterdrop-autoconfigure)
fi

select_suites() {
	local suite
	for suite in "$@"; do
		if [ -z "$only" ] || [[ "$suite" =~ $only ]]; then
			echo "$suite"
		fi
	done
}
mapfile -t core < <(select_suites "${core_suites[@]}")
mapfile -t autoconfigure < <(select_suites "${autoconfigure_suites[@]}")
suites=("${core[@]}" "${autoconfigure[@]}")
if [ ${#suites[@]} -eq 0 ]; then
	echo "No suite matches '$only'" >&2
	exit 2
fi
modules=()
[ ${#core[@]} -gt 0 ] && modules+=(waterdrop-core)
[ ${#autoconfigure[@]} -gt 0 ] && modules+=(waterdrop-autoconfigure)

# The newest JDK present, as .ci/run picks it (VirtualThreadTests need 21+).
java_major() {
	"$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' || true
}
# Without a java on PATH, any JDK found below is newer than none.
newest_home=""
newest_major=0
if command -v java >/dev/null; then
	newest_home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
	newest_major=$(java_major "$newest_home")
	newest_major=${newest_major:-0}
fi
for home in /usr/lib/jvm/*/; do
	home=${home%/}
	[ -x "$home/bin/javac" ] || continue
	major=$(java_major "$home")
	if [ -n "$major" ] && [ "$major" -gt "$newest_major" ]; then
		newest_home=$home
		newest_major=$major
	fi
done
export JAVA_HOME=$newest_home

hogs=()
stop_hogs() {
	local pid
	for pid in "${hogs[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${hogs[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	hogs=()
}
trap stop_hogs EXIT
trap 'exit 130' INT TERM
cores=$(nproc 2>/dev/null || echo 2)
if $hog; then
	for _ in $(seq "$cores"); do
		# Ends with this script even when no trap runs (SIGKILL): it spins only while the script's PID lives.
		sh -c 'while kill -0 "$1" 2>/dev/null; do :; done' hog "$$" &
		hogs+=("$!")
	done
fi

out=target/stress-tests
rm -rf "$out"
mkdir -p "$out"
echo "== ${#suites[@]} suite(s), $rounds round(s), JDK $newest_major ($JAVA_HOME), CPU hog: $($hog && echo "$cores busy loop(s)" || echo off)"

# Result of one suite in one round, from its Surefire report: PASS, FAIL(n), SKIP or MISSING.
result_of() {
	local report="$1"
	if [ ! -f "$report" ]; then
		echo MISSING
		return
	fi
	local head tests failures errors skipped
	head=$(grep -m1 -o '<testsuite [^>]*>' "$report")
	tests=$(sed -n 's/.* tests="\([0-9]*\)".*/\1/p' <<<"$head")
	failures=$(sed -n 's/.* failures="\([0-9]*\)".*/\1/p' <<<"$head")
	errors=$(sed -n 's/.* errors="\([0-9]*\)".*/\1/p' <<<"$head")
	skipped=$(sed -n 's/.* skipped="\([0-9]*\)".*/\1/p' <<<"$head")
	# An attribute the report lacks counts 0, not an empty operand for the comparisons below.
	tests=${tests:-0} failures=${failures:-0} errors=${errors:-0} skipped=${skipped:-0}
	if [ $((failures + errors)) -gt 0 ]; then
		echo "FAIL($((failures + errors)))"
	elif [ "$tests" -gt 0 ] && [ "$skipped" -eq "$tests" ]; then
		echo SKIP
	else
		echo PASS
	fi
}

# Names of the failed test cases in a Surefire report.
failing_tests() {
	[ -f "$1" ] || return 0
	awk '/<testcase / { if (match($0, / name="[^"]*"/)) name = substr($0, RSTART + 7, RLENGTH - 8) }
		/<(failure|error)[ >]/ { if (name != last) print "      " name; last = name }' "$1"
}

declare -A results
failed=0
for round in $(seq "$rounds"); do
	started=$(date +%s)
	for module in "${modules[@]}"; do
		rm -rf "$module/target/surefire-reports"
	done
	tests=$(IFS=,; echo "${suites[*]}")
	log="$out/round-$round.log"
	echo "-- round $round/$rounds: $(date '+%H:%M:%S'), log $log"
	# A fresh build and test JVM per round; failures are read from the reports, so every suite runs.
	set +e
	./mvnw -B -ntp "${offline[@]}" -pl "$(IFS=,; echo "${modules[*]}")" -am test \
		-Dtest="$tests" -Dsurefire.failIfNoSpecifiedTests=false -Dmaven.test.failure.ignore=true \
		-Dsurefire.timeout=3600 >"$log" 2>&1
	status=$?
	set -e
	mkdir -p "$out/round-$round"
	for module in "${modules[@]}"; do
		if [ -d "$module/target/surefire-reports" ]; then
			cp -r "$module/target/surefire-reports" "$out/round-$round/$module"
		fi
	done
	for suite in "${suites[@]}"; do
		module=waterdrop-core
		[[ " ${autoconfigure[*]} " == *" $suite "* ]] && module=waterdrop-autoconfigure
		result=$(result_of "$out/round-$round/$module/TEST-$suite.xml")
		results["$suite,$round"]=$result
		case "$result" in
			FAIL*|MISSING)
				failed=1
				echo "   $result: $suite"
				failing_tests "$out/round-$round/$module/TEST-$suite.xml"
				;;
		esac
	done
	if [ "$status" -ne 0 ]; then
		failed=1
		echo "   Maven exited with $status (see $log)"
	fi
	echo "   round $round took $(( $(date +%s) - started )) s"
done
stop_hogs

echo
printf '%-62s' "suite"
for round in $(seq "$rounds"); do
	printf ' %-8s' "r$round"
done
echo
for suite in "${suites[@]}"; do
	printf '%-62s' "$suite"
	for round in $(seq "$rounds"); do
		printf ' %-8s' "${results["$suite,$round"]}"
	done
	echo
done
echo
if [ "$failed" -ne 0 ]; then
	echo "FAILED: see the rounds' reports under $out/"
	exit 1
fi
echo "All ${#suites[@]} suite(s) passed $rounds round(s) under load."
