#!/bin/sh
# run.sh BUILD PYTHON [bench.py options] - what `make bench` calls; PYTHON must be one that has torch.
set -e
build=${1:?usage: bench/run.sh BUILD PYTHON [options]}
python=${2:?usage: bench/run.sh BUILD PYTHON [options]}
shift 2
# bench.py finds torch_train.py next to itself, but the build path is relative to the caller.
exec "$python" "$(dirname "$0")/bench.py" --build "$build" --python "$python" "$@"
