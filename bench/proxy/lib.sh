# Shared by run.sh and slow.sh (sourced, not run).

# build_switchd DIR [REF] builds bench/proxy/switchd into DIR/switchd from
# the working tree, or, with REF, from that git ref (extracted with
# git archive into DIR/src, so the checkout is left alone).
build_switchd() {
	local dir=$1 ref=${2:-}
	mkdir -p "$dir"
	if [ -z "$ref" ]; then
		(cd "$ROOT" && go build -o "$dir/switchd" ./bench/proxy/switchd)
		return
	fi
	mkdir -p "$dir/src"
	git -C "$ROOT" archive "$ref" | tar -x -C "$dir/src"
	(cd "$dir/src" && go build -o "$dir/switchd" ./bench/proxy/switchd)
	echo "baseline: $(git -C "$ROOT" rev-parse --short "$ref") ($ref)" >&2
}
