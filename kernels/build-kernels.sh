#!/usr/bin/env bash
# Compiles src/main/cuda/g2m_kernels.cu with nvcc into a fatbin (SASS for sm_80 and sm_90, PTX
# for compute_90, which newer GPUs JIT-compile) plus its PTX text, as classpath resources under
# OUT_DIR/g2m/cuda/ (the engine jar packs them; g2m.backend.cuda.Kernels loads the fatbin with
# cuModuleLoadData, so the GPU host needs no nvcc). Called by Maven (kernels/pom.xml).
#
# Without nvcc (none in $NVCC, on PATH or in /usr/local/cuda/bin) it writes nothing and exits 0:
# the build passes and the CUDA backend says "CUDA kernels missing from this build".
# Up to date (outputs newer than the sources, this script and nvcc): nothing is recompiled.
set -euo pipefail
src_dir=$1
out_dir=$2/g2m/cuda
here=$(cd "$(dirname "$0")" && pwd)

nvcc=${NVCC:-}
if [ -z "$nvcc" ]; then nvcc=$(command -v nvcc || true); fi
if [ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ]; then nvcc=/usr/local/cuda/bin/nvcc; fi
if [ -z "$nvcc" ] || ! "$nvcc" --version >/dev/null 2>&1; then
  echo "[g2m-kernels] WARNING: nvcc not found (set NVCC or put CUDA 13's nvcc on PATH):"
  echo "[g2m-kernels] WARNING: building WITHOUT the CUDA kernels; the CUDA backend will report them missing."
  rm -f "$out_dir/g2m_kernels.fatbin" "$out_dir/g2m_kernels.ptx" "$out_dir/kernels.properties"
  exit 0
fi

fatbin=$out_dir/g2m_kernels.fatbin
ptx=$out_dir/g2m_kernels.ptx
props=$out_dir/kernels.properties
sources=("$src_dir"/*.cu "$src_dir"/*.cuh "$here/build-kernels.sh")
if [ -s "$fatbin" ] && [ -s "$ptx" ] && [ -s "$props" ]; then
  stale=0
  for f in "${sources[@]}" "$(readlink -f "$(command -v "$nvcc")")"; do
    if [ "$f" -nt "$fatbin" ]; then stale=1; fi
  done
  if [ "$stale" -eq 0 ]; then
    echo "[g2m-kernels] up to date: $fatbin"
    exit 0
  fi
fi

mkdir -p "$out_dir"
version=$("$nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')
# Kernel numerics: no fast math (IEEE division and sqrt), as the CPU twin.
flags=(-std=c++17 -O3 -Werror all-warnings)
gencode=(-gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90)
echo "[g2m-kernels] nvcc $version: g2m_kernels.cu -> fatbin (sm_80, sm_90 SASS + compute_90 PTX)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$nvcc" "${flags[@]}" -fatbin "${gencode[@]}" -o "$tmp/g2m_kernels.fatbin" "$src_dir/g2m_kernels.cu"
"$nvcc" "${flags[@]}" -ptx -arch=compute_90 -o "$tmp/g2m_kernels.ptx" "$src_dir/g2m_kernels.cu"
sha=$(cat "$src_dir"/*.cu "$src_dir"/*.cuh | sha256sum | cut -c1-16)
{
  echo "# written by kernels/build-kernels.sh"
  echo "nvcc.version=$version"
  echo "targets=sm_80,sm_90,compute_90"
  echo "sources.sha256=$sha"
} > "$tmp/kernels.properties"
mv "$tmp/g2m_kernels.ptx" "$ptx"
mv "$tmp/kernels.properties" "$props"
mv "$tmp/g2m_kernels.fatbin" "$fatbin"  # last: its time stamp marks the set complete
echo "[g2m-kernels] wrote $fatbin ($(wc -c < "$fatbin") bytes)"
