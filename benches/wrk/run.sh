#!/usr/bin/env bash
# HTTP/1.1 hello-world throughput measured by wrk from outside the process:
# gpm vs tokio (benches/wrk/server.rs) and Go's net/http
# (benches/go/httpserver), interleaved, several rounds.
#
#   benches/wrk/run.sh
#   ROUNDS=2 DURATION=2s benches/wrk/run.sh
#
# Environment:
#   ROUNDS    rounds; each runs every server once            (default 5)
#   DURATION  wrk -d of each measured run                     (default 5s)
#   WARMUP    wrk -d of the uncounted run before each one     (default 1s)
#   CONNS     wrk -c, keep-alive connections                  (default 64)
#   THREADS   wrk -t, wrk's threads                           (default 2)
#   PROCS     gpm Ps / tokio worker threads / GOMAXPROCS      (default 2)
#   GO        0 skips Go's server                             (default 1)
#
# Installs wrk with apt-get when it is missing, and Go as benches/go/run.sh
# does (benches/go/find_go.sh) when GO is not 0; without a Go toolchain the
# Go server is skipped with a warning. See benches/wrk/README.md.
set -euo pipefail

ROUNDS="${ROUNDS:-5}"
DURATION="${DURATION:-5s}"
WARMUP="${WARMUP:-1s}"
CONNS="${CONNS:-64}"
THREADS="${THREADS:-2}"
PROCS="${PROCS:-2}"
WITH_GO="${GO:-1}"
STARTUP_TIMEOUT=30 # seconds for a server to print its port and accept

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

die() {
	echo "wrk/run.sh: $*" >&2
	exit 1
}

for v in ROUNDS CONNS THREADS PROCS; do
	[[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
((THREADS <= CONNS)) || die "THREADS ($THREADS) must not exceed CONNS ($CONNS)"

# --- wrk -------------------------------------------------------------------

install_wrk() {
	command -v apt-get >/dev/null 2>&1 ||
		die "wrk is not installed and there is no apt-get to install it; install wrk and re-run"
	local sudo=()
	if [[ "$(id -u)" != 0 ]]; then
		command -v sudo >/dev/null 2>&1 ||
			die "wrk is not installed; installing it needs root (or sudo): apt-get install -y wrk"
		sudo=(sudo)
	fi
	echo "# installing wrk (apt-get install -y wrk)" >&2
	if ! "${sudo[@]}" apt-get install -y wrk >&2; then
		# Stale package lists are the usual reason; refresh them once.
		if ! "${sudo[@]}" apt-get update >&2 || ! "${sudo[@]}" apt-get install -y wrk >&2; then
			die "apt-get could not install wrk; install it by hand and re-run"
		fi
	fi
}
command -v wrk >/dev/null 2>&1 || install_wrk
command -v wrk >/dev/null 2>&1 || die "wrk is still not on PATH after installing it"

# --- the servers -------------------------------------------------------------

TMP="$(mktemp -d)"
SERVER_PID=""
cleanup() {
	if [[ -n "$SERVER_PID" ]]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "# building the gpm and tokio servers (cargo build --release --example wrk_server)" >&2
(cd "$ROOT" && cargo build --release --quiet --example wrk_server) || die "cargo build failed"
target_dir="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
	grep -o '"target_directory":"[^"]*"' | sed 's/^"target_directory":"//; s/"$//')"
RUST_SERVER="$target_dir/release/examples/wrk_server"
[[ -x "$RUST_SERVER" ]] || die "built server not found at $RUST_SERVER"

RUNTIMES=(gpm tokio)
GO_VERSION=""
if [[ "$WITH_GO" != 0 ]]; then
	# shellcheck source-path=SCRIPTDIR source=../go/find_go.sh
	source "$ROOT/benches/go/find_go.sh"
	if find_go; then
		echo "# building the Go server (go build ./httpserver)" >&2
		(cd "$ROOT/benches/go" && "$GO" build -o "$TMP/go_httpserver" ./httpserver) ||
			die "go build failed"
		GO_VERSION="$("$GO" env GOVERSION)"
		RUNTIMES+=(go)
	else
		echo "# warning: no Go toolchain; skipping Go's server (GO=0 silences this)" >&2
	fi
fi

# start_server NAME: starts it on a free loopback port; sets SERVER_PID and
# PORT once the port accepts connections and answers a request correctly.
start_server() {
	local name="$1" out="$TMP/$1.out" err="$TMP/$1.err"
	: >"$out"
	case "$name" in
	gpm | tokio) "$RUST_SERVER" "$name" 0 "$PROCS" >"$out" 2>"$err" & ;;
	go) GOMAXPROCS="$PROCS" "$TMP/go_httpserver" -port 0 >"$out" 2>"$err" & ;;
	esac
	SERVER_PID=$!
	local deadline=$((SECONDS + STARTUP_TIMEOUT))
	PORT=""
	while :; do
		kill -0 "$SERVER_PID" 2>/dev/null || {
			wait "$SERVER_PID" || true
			SERVER_PID=""
			die "$name server exited before serving; its stderr: $(cat "$err")"
		}
		if [[ -z "$PORT" ]]; then
			PORT="$(sed -n 's/^listening on \([0-9][0-9]*\)$/\1/p' "$out" | head -n1)"
		fi
		if [[ -n "$PORT" ]] && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
			break
		fi
		((SECONDS < deadline)) ||
			die "$name server did not accept connections within ${STARTUP_TIMEOUT}s (port '${PORT:-not printed}'); stderr: $(cat "$err")"
		sleep 0.05
	done
	# One request by hand: status and body must be right before wrk counts anything.
	local reply
	reply="$(
		exec 3<>"/dev/tcp/127.0.0.1/$PORT"
		printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
		timeout 10 cat <&3
	)" || true
	[[ "$reply" == "HTTP/1.1 200 "* && "$reply" == *$'\r\n\r\nHello, World!' ]] ||
		die "$name server answered wrongly: $(printf '%q' "$reply")"
}

stop_server() {
	local pid="$SERVER_PID"
	SERVER_PID=""
	kill "$pid" 2>/dev/null || true
	local deadline=$((SECONDS + 10))
	while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# to_us VALUE: wrk's latency ("812.00us", "1.23ms", "2.01s", "1.00m") in µs.
to_us() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		f = (u == "us") ? 1 : (u == "ms") ? 1e3 : (u == "s") ? 1e6 : (u == "m") ? 6e7 : (u == "h") ? 3.6e9 : -1
		if (f < 0) exit 1
		printf "%.0f", n * f
	}'
}

# median of the arguments
median() {
	printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END {
		if (NR % 2) printf "%.0f", a[(NR + 1) / 2]; else printf "%.0f", (a[NR / 2] + a[NR / 2 + 1]) / 2
	}'
}

# --- the rounds --------------------------------------------------------------

declare -A RPS P99
wrk_version="$(wrk -v 2>&1 | head -n1 | awk '{ print $1, $2 }')" || true
echo "# $wrk_version: -t$THREADS -c$CONNS -d$DURATION --latency (warm-up -d$WARMUP, not counted);" \
	"$ROUNDS rounds; PROCS=$PROCS; ${GO_VERSION:-no Go}; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
n=${#RUNTIMES[@]}
for ((r = 0; r < ROUNDS; r++)); do
	for ((i = 0; i < n; i++)); do
		name="${RUNTIMES[(r + i) % n]}" # rotate who goes first
		start_server "$name"
		url="http://127.0.0.1:$PORT/"
		wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" "$url" >/dev/null ||
			die "wrk warm-up against $name failed"
		wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$url" >"$TMP/wrk.out" ||
			die "wrk against $name failed: $(cat "$TMP/wrk.out")"
		stop_server
		rps="$(awk '$1 == "Requests/sec:" { printf "%.0f", $2 }' "$TMP/wrk.out")"
		p99="$(awk '$1 == "99%" { print $2 }' "$TMP/wrk.out")"
		[[ -n "$rps" && -n "$p99" ]] || die "could not read wrk's output for $name: $(cat "$TMP/wrk.out")"
		p99_us="$(to_us "$p99")" || die "unknown latency unit in '$p99'"
		RPS[$name]+=" $rps"
		P99[$name]+=" $p99_us"
		notes="$(grep -E '^ *(Socket errors|Non-2xx)' "$TMP/wrk.out" | sed 's/^ *//' | paste -sd';' -)" || true
		printf 'round %d/%d  %-5s  %9s req/s  p99 %9s%s\n' "$((r + 1))" "$ROUNDS" "$name" "$rps" "$p99" \
			"${notes:+  ($notes)}"
	done
done

# --- the table ---------------------------------------------------------------

echo
printf '%-8s' runtime
for ((r = 1; r <= ROUNDS; r++)); do printf ' %9s' "round $r"; done
printf ' %12s %12s\n' "median req/s" "median p99"
declare -A MED
for name in gpm tokio go; do
	[[ -n "${RPS[$name]:-}" ]] || continue
	# shellcheck disable=SC2086 # word splitting of the lists is intended
	{
		MED[$name]="$(median ${RPS[$name]})"
		p99_med="$(median ${P99[$name]})"
		printf '%-8s' "$name"
		printf ' %9s' ${RPS[$name]}
	}
	printf ' %12s %9s µs\n' "${MED[$name]}" "$p99_med"
done
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "gpm/tokio (median req/s): $(ratio "${MED[gpm]}" "${MED[tokio]}")"
if [[ -n "${MED[go]:-}" ]]; then
	echo "gpm/Go    (median req/s): $(ratio "${MED[gpm]}" "${MED[go]}")"
fi
