#!/usr/bin/env bash
# The CUDA backend's GPU round trip, in two halves (see benchmarks/GPU.md):
#
#   benchmarks/gpu-run.sh prepare   on the build machine (Maven, a JDK >= 21 with jlink, nvcc 13):
#       builds the engine, jlinks a small JRE, and packs what the GPU host needs into ONE file,
#       .devrt/carry/bundle.tar.xz (git-ignored; JRE, the engine jar without the OpenCV
#       natives, the test classes, JUnit's console launcher). Checks it fits the 64 MiB that
#       travels with the working tree.
#
#   benchmarks/gpu-run.sh device    on the GPU host (NVIDIA driver, CUDA 13 / cuDNN 9 libraries,
#       python3 with torch; no JDK, no Maven, no network): unpacks the bundle, prints nvidia-smi,
#       finds libcudart/libcublas/libcudnn and sets LD_LIBRARY_PATH, runs check_kernels (every
#       kernel against its CPU reference, timed; kernels/README.md), the GPU tests (JUnit
#       console launcher), then the engine's bench and the host PyTorch's fused peer at batch 1
#       and 64 (all four G2M maps at conv5_1, full-size VGG16, random weights), and prints a table.
#       Everything lands in $OUT (default ./gpu-out): gpu-run.log, check_kernels.log, tests.log,
#       junit.xml, bench.jsonl, peer.jsonl, summary.md (at most 8 files, as the device tool returns).
#       SECONDS_PER_CASE (default 15) is the time budget per timed case; PRECISIONS (default
#       "fp32") the engine/peer precisions to bench (e.g. "fp32 tf32"); CHECK_SECONDS (default 120)
#       stops check_kernels if it hangs; TEST_SECONDS (default
#       240, leaving the benches their share of a 540 s device call) stops the GPU tests if they hang, and every bench case has a limit too.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

usage() {
  echo "usage: benchmarks/gpu-run.sh prepare|device" >&2
  exit 2
}

find_jdk() {
  for j in "${JDK:-}" "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*; do
    [ -n "$j" ] && [ -x "$j/bin/jlink" ] || continue
    v=$("$j/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/ *java.specification.version = //p')
    [ "${v%%.*}" -ge 21 ] 2>/dev/null && { echo "$j"; return; }
  done
}

prepare() {
  set -e
  jdk=$(find_jdk)
  [ -n "$jdk" ] || { echo "gpu-run: no JDK >= 21 with jlink found (set JDK=...)" >&2; exit 2; }
  command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] || echo "gpu-run: WARNING: no nvcc: the jar will have no CUDA kernels" >&2
  echo "== build (mvn package -DskipTests)"
  mvn -B -ntp -q package -DskipTests
  rm -rf .devrt/stage .devrt/carry
  mkdir -p .devrt/stage .devrt/carry
  echo "== JRE (jlink from $jdk)"
  "$jdk/bin/jlink" --add-modules java.base,jdk.unsupported,java.logging,java.management,java.sql,jdk.zipfs \
    --strip-debug --no-header-files --no-man-pages --compress=zip-9 --output .devrt/stage/jre
  echo "== jars"
  # The engine jar for the GPU host: without OpenCV's natives (the GPU run decodes no pictures), the
  # bundled demo (it runs no demo), oneDNN's natives (90 MB; without them the CPU backend takes its
  # im2col path, which is what the CPU-vs-GPU tests need), and
  # with only the OpenBLAS natives the CPU backend loads (the CPU-vs-GPU tests); entries stored
  # uncompressed, so that xz below compresses the native libraries far better than deflate does.
  /usr/bin/python3 - "$root/cli/target/g2m-engine.jar" .devrt/stage/g2m-engine-device.jar <<'PY'
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
blas = "org/bytedeco/openblas/linux-x86_64/"
keep_blas = {blas + n for n in ("libopenblas.so.0", "libjniopenblas_nolapack.so", "libgfortran.so.5", "libquadmath.so.0", "libgcc_s.so.1")}
with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zo:
    for info in zi.infolist():
        n = info.filename
        if n.startswith("org/bytedeco/opencv/linux-x86_64/") or n.startswith("g2m/demo/") \
                or n.startswith("org/bytedeco/dnnl/linux-x86_64/") or n.startswith("org/bytedeco/opencl/linux-x86_64/") \
                or (n.startswith(blas) and n not in keep_blas and not n.endswith("/")):
            continue
        data = zi.read(info)
        out = zipfile.ZipInfo(n, info.date_time)
        out.external_attr = info.external_attr
        zo.writestr(out, data, compress_type=zipfile.ZIP_STORED)
PY
  # the engine's test classes and the parity metric they use (test-support)
  "$jdk/bin/jar" --create --file .devrt/stage/g2m-engine-tests.jar -C engine/target/test-classes g2m -C test-support/target/classes g2m
  if [ -x kernels/target/check_kernels ]; then
    cp kernels/target/check_kernels .devrt/stage/
  else
    echo "gpu-run: WARNING: no kernels/target/check_kernels (built without nvcc): the device run will skip it" >&2
  fi
  mvn -B -ntp -q dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.11.4 \
    -DoutputDirectory=.devrt/stage -Dmdep.stripVersion=true
  mv .devrt/stage/junit-platform-console-standalone.jar .devrt/stage/junit-console.jar
  echo "== pack"
  tar -C .devrt/stage -cf - . | xz -9 -T0 > .devrt/carry/bundle.tar.xz
  bundle=$(stat -c %s .devrt/carry/bundle.tar.xz)
  tree=$(git ls-files -z | du -cb --files0-from=- | tail -1 | cut -f1)
  total=$((bundle + tree))
  echo "bundle $((bundle / 1048576)) MiB + tracked tree $((tree / 1048576)) MiB = $((total / 1048576)) MiB (limit 64 MiB)"
  [ "$total" -lt $((64 * 1048576)) ] || { echo "gpu-run: too large to send" >&2; exit 1; }
  echo "ready: run 'benchmarks/gpu-run.sh device' on the GPU host with .devrt/carry carried along"
}

device() {
  out=${OUT:-$root/gpu-out}
  mkdir -p "$out"
  exec > >(tee "$out/gpu-run.log") 2>&1
  seconds=${SECONDS_PER_CASE:-15}
  precisions=${PRECISIONS:-fp32}
  test_seconds=${TEST_SECONDS:-240}
  check_seconds=${CHECK_SECONDS:-120}
  case_limit=$((seconds * 4 + 120))  # one bench case: JVM, random weights, cuDNN plans, warm-up, the timed runs
  echo "== host ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
  uname -srm
  nvidia-smi || echo "gpu-run: nvidia-smi failed"
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>/dev/null || true
  [ -f .devrt/carry/bundle.tar.xz ] || { echo "gpu-run: no .devrt/carry/bundle.tar.xz: run 'prepare' and carry .devrt/carry"; exit 2; }
  rt=.devrt/run
  rm -rf "$rt" && mkdir -p "$rt"
  tar -C "$rt" -xJf .devrt/carry/bundle.tar.xz 2>/dev/null \
    || python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' .devrt/carry/bundle.tar.xz "$rt"
  java=$rt/jre/bin/java
  "$java" -version 2>&1 | head -1
  echo "== CUDA libraries"
  # First where they usually are (python's nvidia wheels, PyTorch's; the CUDA toolkit; the system's
  # lib folders): a search of all of / can take a minute of device time on a sandboxed file system.
  # JavaCPP's extraction cache holds links to whatever it loaded once: not the host's libraries;
  # cuda-compat's libcuda.so.1 must not shadow the driver's, and stubs are not libraries.
  find_libs() {
    find "$@" \( -path /proc -o -path /sys -o -path /dev -o -name .javacpp -o -name compat -o -name stubs \) -prune -o \
      \( -name 'libcudart.so.13*' -o -name 'libcublas.so.13*' -o -name 'libcublasLt.so.13*' -o -name 'libcudnn.so.9*' \
         -o -name 'libcudnn_cnn.so.9*' -o -name 'libnvrtc.so.13*' \) -print 2>/dev/null | sort
  }
  roots=$(python3 -c 'import nvidia; print(*nvidia.__path__, sep="\n")' 2>/dev/null)
  libs=$(find_libs $roots /usr/local/cuda* /usr/lib/x86_64-linux-gnu /usr/lib64)
  if ! { echo "$libs" | grep -q 'libcudart.so.13' && echo "$libs" | grep -q 'libcudnn_cnn.so.9' && echo "$libs" | grep -q 'libcublasLt.so.13'; }; then
    echo "(not all in the usual places: searching /)"
    libs=$(find_libs /)
  fi
  echo "$libs"
  dirs=$(echo "$libs" | xargs -r -n1 dirname | sort -u | paste -sd: -)
  # the driver's libcuda.so.1: normally known to the loader already; else look where drivers are mounted
  on_ld_path() {
    local d p=${LD_LIBRARY_PATH:-}
    for d in ${p//:/ }; do [ -e "$d/$1" ] && return 0; done
    return 1
  }
  if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 ' && ! on_ld_path libcuda.so.1; then
    drv=$(find /usr/local/nvidia /usr/lib /usr/lib64 \( -name compat -o -name stubs \) -prune -o -name 'libcuda.so.1' -print 2>/dev/null | head -1)
    echo "libcuda.so.1 not on the loader's path; found: ${drv:-none}"
    [ -n "$drv" ] && dirs="${dirs:+$dirs:}$(dirname "$drv")"
  fi
  ldconfig -p 2>/dev/null | grep 'libcuda\.so\.1 ' || true
  export LD_LIBRARY_PATH="${dirs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  python3 -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU for torch")' || true

  echo "== check_kernels (every kernel against its CPU reference, then timed; log: check_kernels.log)"
  if [ -x "$rt/check_kernels" ]; then
    timeout -k 10 "$check_seconds" "$rt/check_kernels" > "$out/check_kernels.log" 2>&1
    check_rc=$?
    cat "$out/check_kernels.log"
    [ "$check_rc" -eq 124 ] && echo "gpu-run: check_kernels ran past ${check_seconds}s and was stopped"
    echo "check_kernels exit $check_rc"
  else
    echo "gpu-run: no check_kernels in the bundle (built without nvcc)" | tee "$out/check_kernels.log"
  fi

  echo "== GPU tests (JUnit console launcher)"
  cp=$rt/g2m-engine-device.jar:$rt/g2m-engine-tests.jar:engine/src/test/resources:weights-converter/src/test/resources
  rm -rf "$out/junit-reports"
  # a hang (a kernel that never ends, a deadlock) must not eat the bench's share of the device time:
  # stopped after TEST_SECONDS; testfeed prints each test as it ends, so a stopped run still says how far it got
  timeout -k 10 "$test_seconds" "$java" --enable-native-access=ALL-UNNAMED -Dbasedir="$root/engine" -jar $rt/junit-console.jar execute \
    --class-path "$cp" --select-package g2m.backend.cuda \
    --reports-dir "$out/junit-reports" --disable-banner --disable-ansi-colors --details=testfeed > "$out/tests.log" 2>&1
  tests_rc=$?
  [ "$tests_rc" -eq 124 ] && echo "gpu-run: the GPU tests ran past ${test_seconds}s and were stopped (tests.log says how far they got)"
  tail -25 "$out/tests.log"
  cp "$out"/junit-reports/TEST-junit-jupiter.xml "$out/junit.xml" 2>/dev/null
  rm -rf "$out/junit-reports"

  echo "== bench: engine vs PyTorch fused, conv5_1, all four maps, batch 1 and 64, ${seconds}s per case"
  : > "$out/bench.jsonl"
  : > "$out/peer.jsonl"
  for p in $precisions; do
    for b in 1 64; do
      timeout -k 10 "$case_limit" "$java" --enable-native-access=ALL-UNNAMED -jar $rt/g2m-engine-device.jar bench --device cuda --precision "$p" \
        --layer conv5_1 --batch "$b" --seconds "$seconds" --min-runs 5 --warmup 3 | tee -a "$out/bench.jsonl"
    done
    case "$p" in fp32|tf32)
      timeout -k 10 "$((2 * case_limit))" python3 tools/bench/pytorch_peer.py --device cuda --precision "$p" --batch 1 64 --modes fused --seconds "$seconds" \
        | tee -a "$out/peer.jsonl" ;;
    esac
  done

  echo "== summary"
  python3 tools/bench/gpu_summary.py "$out" "$tests_rc" | tee "$out/summary.md"
  return 0
}

case "${1:-}" in
  prepare) prepare ;;
  device) device ;;
  *) usage ;;
esac
