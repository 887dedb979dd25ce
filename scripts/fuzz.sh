#!/usr/bin/env bash
# Runs every fuzz target in the module, one `go test -fuzz` per target, for
# FUZZTIME each (default 15s), and fails if any of them finds a crash (the
# failing input is then left under the package's testdata/fuzz/<Target>/, to
# be committed with the fix). A target whose only failure is Go's own
# -fuzztime deadline reported late by the coordinator (golang/go#75804: no
# input failed, none was written) is listed as "late", not as a crash.
# Corpora committed under testdata/fuzz also run
# as ordinary tests with plain `go test`.
#
#   bash scripts/fuzz.sh                  # every target, 15 s each
#   FUZZTIME=2m bash scripts/fuzz.sh      # longer
#   bash scripts/fuzz.sh ./internal/proxy # only these packages
#
# Targets are discovered with `go test -list '^Fuzz'` in each package whose
# tests declare one. Prints one line per target with its executions.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZTIME=${FUZZTIME:-15s}
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

pkgs=("$@")
if [ ${#pkgs[@]} -eq 0 ]; then
	# Only packages whose tests mention a fuzz target need compiling for -list.
	mapfile -t pkgs < <(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u)
fi

# files counts the inputs in a corpus directory (0 when there is none).
files() { if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi; }

failed=()
late=()
summary=()
total=0
for pkg in "${pkgs[@]}"; do
	mapfile -t targets < <(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true)
	for target in "${targets[@]}"; do
		echo "==> $pkg $target ($FUZZTIME)" >&2
		log=$(mktemp)
		corpus="$pkg/testdata/fuzz/$target"
		before=$(files "$corpus")
		if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" >"$log" 2>&1; then
			status=ok
		elif [ "$(files "$corpus")" -eq "$before" ] && ! grep -q 'Failing input written' "$log" &&
			grep -q '^    context deadline exceeded$' "$log" && [ "$(grep -c -- '--- FAIL' "$log")" -eq 1 ]; then
			# Go's fuzzing coordinator can report its own -fuzztime deadline
			# as a failure when a busy worker answers late (golang/go#75804):
			# no input failed and none was written. Counted, not a crash.
			status=late
			late+=("$pkg $target")
		else
			status=FAIL
			failed+=("$pkg $target")
			grep -v '^fuzz: elapsed' "$log" >&2 || true
		fi
		execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo 0)
		total=$((total + execs))
		summary+=("$(printf '%-4s %-28s %-22s %10s execs' "$status" "$pkg" "$target" "$execs")")
		rm -f "$log"
	done
done

printf '%s\n' "${summary[@]}"
echo "fuzz: ${#summary[@]} target(s), $total execs, ${#failed[@]} failed, ${#late[@]} stopped late without a failing input (golang/go#75804)"
if [ ${#failed[@]} -gt 0 ]; then
	printf 'crashed: %s\n' "${failed[@]}" >&2
	exit 1
fi
