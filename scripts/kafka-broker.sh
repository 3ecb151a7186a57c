#!/usr/bin/env bash
# Runs a real single-node Kafka 4.1.2 broker (KRaft) in the background, for trying things by hand.
#
# Usage: scripts/kafka-broker.sh start|stop|status
#
#   start   starts a broker on 127.0.0.1:${KAFKA_PORT:-9092} and prints its bootstrap address
#   stop    stops it (SIGTERM; its data directory is deleted)
#   status  prints the bootstrap address and pid; exit status 3 when no broker runs
#
# Environment: KAFKA_PORT (default 9092); JAVA_HOME (default: java on the PATH).
# It runs io.waterdrop.testing.broker.KafkaBrokerProcess#main with the classpath that the
# kafka-broker-process build resolves, building that module first if needed. The pid file and the
# launcher's output are in target/kafka-broker/ at the repository root; the broker's own log is in
# the temporary directory that the launcher prints.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
classes="$root/kafka-broker-process/target/classes"
classpath_file="$classes/io/waterdrop/testing/broker/broker.classpath"
state="$root/target/kafka-broker"
pid_file="$state/broker.pid"
out_file="$state/launcher.log"
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"

running_pid() {
	[[ -f "$pid_file" ]] || return 1
	local pid
	pid="$(cat "$pid_file")"
	kill -0 "$pid" 2>/dev/null || return 1
	echo "$pid"
}

bootstrap() {
	sed -n 's/^Kafka broker ready: bootstrap.servers=//p' "$out_file"
}

start() {
	local pid
	if pid="$(running_pid)"; then
		echo "Kafka broker already running (pid $pid): $(bootstrap)"
		return 0
	fi
	if [[ ! -f "$classpath_file" || ! -f "$classes/io/waterdrop/testing/broker/KafkaBrokerProcess.class" ]]; then
		echo "Building kafka-broker-process..."
		(cd "$root" && ./mvnw -B -q -pl kafka-broker-process -am -DskipTests compile)
	fi
	mkdir -p "$state"
	: >"$out_file"
	nohup "$java" -cp "$classes:$(cat "$classpath_file")" io.waterdrop.testing.broker.KafkaBrokerProcess \
		"${KAFKA_PORT:-9092}" >"$out_file" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$pid_file"
	# The launcher prints the address once the broker serves requests, and gives up after 60 s itself.
	while kill -0 "$pid" 2>/dev/null; do
		if [[ -n "$(bootstrap)" ]]; then
			echo "Kafka broker started (pid $pid): $(bootstrap)"
			return 0
		fi
		sleep 0.5
	done
	rm -f "$pid_file"
	echo "Kafka broker failed to start; launcher output:" >&2
	cat "$out_file" >&2
	return 1
}

stop() {
	local pid
	if ! pid="$(running_pid)"; then
		echo "Kafka broker not running"
		rm -f "$pid_file"
		return 0
	fi
	# The launcher's shutdown hook stops the broker (SIGTERM, SIGKILL after 15 s) before it exits.
	kill -TERM "$pid"
	for _ in $(seq 1 60); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "Launcher $pid did not exit within 30 s; killing it (check for a leftover kafka.Kafka)" >&2
		kill -KILL "$pid"
	fi
	rm -f "$pid_file"
	echo "Kafka broker stopped"
}

status() {
	local pid
	if pid="$(running_pid)"; then
		echo "Kafka broker running (pid $pid): $(bootstrap)"
	else
		echo "Kafka broker not running"
		return 3
	fi
}

case "${1:-}" in
	start | stop | status) "$1" ;;
	*)
		echo "Usage: $0 start|stop|status" >&2
		exit 2
		;;
esac
