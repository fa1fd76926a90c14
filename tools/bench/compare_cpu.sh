#!/usr/bin/env bash
# Engine vs PyTorch on this CPU, in one run: full-size VGG16 with random weights, 224x224,
# maps at conv5_1 (all four G2M maps), batch 1 and 8. Needs the built jar (mvn package) and
# Debian's python3-torch. Prints JSON lines: the engine's, then the peer's.
set -euo pipefail
cd "$(dirname "$0")/../.."
jar=engine/target/g2m-engine.jar
seconds=${SECONDS_PER_CASE:-20}
threads=${THREADS:-$(nproc)}
for b in 1 8; do
  java -jar "$jar" bench --layer conv5_1 --batch "$b" --threads "$threads" --seconds "$seconds" --min-runs 3
done
/usr/bin/python3 tools/bench/pytorch_peer.py --threads "$threads" --batch 1 8 --modes fused reference --seconds "$seconds"
