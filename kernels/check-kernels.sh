#!/usr/bin/env bash
# check_kernels (src/test/cuda/check_kernels.cu): every kernel validated on a GPU against its CPU
# reference and timed. Called by Maven (kernels/pom.xml):
#
#   check-kernels.sh build OUT_DIR   (test-compile) nvcc -> OUT_DIR/check_kernels: SASS for sm_80 and
#       sm_90 plus compute_90 PTX, the CUDA runtime linked statically (the GPU host needs only the
#       driver and glibc >= 2.34, as linked here). Without nvcc: a warning, nothing built, exit 0.
#       Up to date (newer than its sources, this script and nvcc): not rebuilt.
#   check-kernels.sh test OUT_DIR    (test) runs it with 3 timed launches per kernel: on a GPU every
#       check must pass; without one it must say so in one line on stderr and exit 3 (then the
#       test passes as skipped, printing that line). Without a build (no nvcc): skipped.
#
# benchmarks/gpu-run.sh packs the binary and runs it on the GPU host (its log: check_kernels.log).
set -euo pipefail
mode=${1:?usage: check-kernels.sh build|test OUT_DIR}
out_dir=${2:?usage: check-kernels.sh build|test OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
bin=$out_dir/check_kernels

find_nvcc() {
  local nvcc=${NVCC:-}
  if [ -z "$nvcc" ]; then nvcc=$(command -v nvcc || true); fi
  if [ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ]; then nvcc=/usr/local/cuda/bin/nvcc; fi
  if [ -n "$nvcc" ] && "$nvcc" --version >/dev/null 2>&1; then echo "$nvcc"; fi
}

build() {
  local nvcc sources stale f
  nvcc=$(find_nvcc)
  if [ -z "$nvcc" ]; then
    echo "[check_kernels] WARNING: nvcc not found (set NVCC or put CUDA 13's nvcc on PATH): check_kernels not built"
    rm -f "$bin"
    return 0
  fi
  sources=("$here"/src/main/cuda/*.cu "$here"/src/main/cuda/*.cuh "$here"/src/test/cuda/*.cu "$here"/src/test/cpp/*.h "$here/check-kernels.sh")
  if [ -x "$bin" ]; then
    stale=0
    for f in "${sources[@]}" "$(readlink -f "$(command -v "$nvcc")")"; do
      if [ "$f" -nt "$bin" ]; then stale=1; fi
    done
    if [ "$stale" -eq 0 ]; then
      echo "[check_kernels] up to date: $bin"
      return 0
    fi
  fi
  mkdir -p "$out_dir"
  echo "[check_kernels] nvcc: check_kernels.cu -> $bin"
  # the kernels' own flags (build-kernels.sh: no fast math), host code warnings as errors too
  "$nvcc" -std=c++17 -O3 -Werror all-warnings -Xcompiler -Wall,-Wextra,-Werror -cudart static \
    -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 \
    -I "$here/src/main/cuda" -I "$here/src/test/cpp" -o "$bin.part" "$here/src/test/cuda/check_kernels.cu"
  mv "$bin.part" "$bin"
}

run_test() {
  if [ ! -x "$bin" ]; then
    echo "[check_kernels] skipped: not built (no nvcc)"
    return 0
  fi
  local err rc=0
  err=$(mktemp)
  trap 'rm -f "$err"' RETURN
  timeout 600 "$bin" --repeats 3 2>"$err" || rc=$?
  if [ "$rc" -eq 0 ]; then
    return 0
  fi
  if [ "$rc" -eq 3 ] && [ "$(wc -l < "$err")" -eq 1 ] && grep -q '^check_kernels: no usable GPU: ' "$err"; then
    echo "[check_kernels] skipped: $(cat "$err")"
    return 0
  fi
  cat "$err" >&2
  echo "[check_kernels] FAILED (exit $rc)" >&2
  return 1
}

case "$mode" in
  build) build ;;
  test) run_test ;;
  *) echo "usage: check-kernels.sh build|test OUT_DIR" >&2; exit 2 ;;
esac
