#!/usr/bin/env bash
# One run on a lent CUDA machine: the GPU-marked and fast tests, the solved notebook under nbval,
# every sample autograded on the GPU, and the benchmarks. Logs go to $OUT (or out/gpu).
#
#   bash bench/gpu_run.sh [tests|bench|scale|all]   (on the GPU machine, from the repository root)
#
# "tests" (about 8 minutes: fast tests, nbval, every sample autograded), "bench" (the two
# benchmarks) and "scale" (bench/throughput_model.py: the model fitted on one worker, checked with
# 8 and 16 workers on the machine's 16 cores, about 5 minutes) each fit one 600-second device
# call; "all" (the default) runs the three.
#
# That machine has PyTorch but not nbgrader or Jupyter and no network: their wheels travel in
# .whl/ (see docs/gpu.md for the pip download command that fills it).
set -u
OUT=${OUT:-out/gpu}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl >"$OUT/pip.log" 2>&1 || { tail "$OUT/pip.log"; exit 1; }
  export PYTHONPATH=/tmp/site:$PWD PATH=/tmp/site/bin:$PATH
fi
export COURSEKIT_ROOT=$PWD
PART=${1:-all}
# the kernel sandbox: a bubblewrap .deb carried in .whl/ (apt-get download bubblewrap)
if ! command -v bwrap >/dev/null 2>&1 && ls .whl/bubblewrap_*.deb >/dev/null 2>&1; then
  dpkg -i .whl/bubblewrap_*.deb >"$OUT/bwrap.log" 2>&1 || echo "bwrap: not installed (see $OUT/bwrap.log)"
fi
command -v bwrap >/dev/null 2>&1 || echo "WARNING: no bwrap: samples are graded without the sandbox"
step() {  # step NAME SECONDS COMMAND...: run with a time limit, log to $OUT/NAME.log
  local name=$1 limit=$2; shift 2
  local start=$SECONDS
  timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  echo "== $name: exit $rc in $((SECONDS - start)) s; $(tail -n 1 "$OUT/$name.log")"
}
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c "import torch, sys; print(sys.version.split()[0], torch.__version__, torch.cuda.get_device_name(0))"
  nproc
} | tee "$OUT/machine.txt"
if [ "$PART" = all ] || [ "$PART" = tests ]; then
  step fast 100 python3 -m pytest -m "not slow" -q -p no:cacheprovider -o addopts="--strict-markers -ra"
  step nbval 90 python3 -m pytest tests/system/test_notebook.py -q -p no:cacheprovider
  step samples 300 python3 -m pytest tests/system/test_autograde.py tests/system/test_security.py -q -p no:cacheprovider
fi
if [ "$PART" = all ] || [ "$PART" = scale ]; then
  step scale 560 python3 bench/throughput_model.py --copies 2 --check 8,16 --predict 16:16 \
    --moonshot 1000 --json "$OUT/scale.json"
fi
if [ "$PART" = all ] || [ "$PART" = bench ]; then
  step bench_notebook 90 python3 bench/solved_notebook.py --runs 1
  step bench_autograde 400 python3 bench/autograde.py --copies 1 --workers 8 --quick \
    --repeat 2 --json "$OUT/bench_autograde.json"
fi
grep -h -E "passed|failed|error" "$OUT"/fast.log "$OUT"/nbval.log "$OUT"/samples.log | tail -n 6
