#!/usr/bin/env bash
# Put one week's check program into the CUDA bundle (run after ../shared/tools/cuda/build.sh).
#
# build.sh builds `-p grader --features reference,cuda`; since each week's checks became a
# program of their own (checks/weekN), that launcher has no checks linked in and needs cargo to
# build them, which the GPU machine does not have. A week's program is a complete grader for
# that week (`checks-weekN grade weekN …`, `data`, `--version`), so this script builds it with
# the same CUDA settings, in the same build folder and target, and packs it as the bundle's
# grader. Then, on the GPU machine: OUT=<dir> WEEKS=weekN bash .cuda-bundle/run.sh
#
# Usage: bash scripts/cuda_week_bundle.sh week3
set -euo pipefail
WEEK=${1:?usage: cuda_week_bundle.sh weekN}
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUNDLE=$REPO/.cuda-bundle
CR=/tmp/cuda-root BUILD=/tmp/cuda-build TARGET=/tmp/cuda-target PROFILE=${PROFILE:-debug}
[ -s "$BUNDLE/BUILD-INFO" ] && [ -d "$BUILD/.git" ] || { echo "run ../shared/tools/cuda/build.sh first" >&2; exit 1; }
export CUDA_ROOT=$CR CUDA_PATH=$CR CUDA_HOME=$CR PATH=$CR/bin:$PATH CARGO_TARGET_DIR=$TARGET
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90} CUDARC_CUDA_VERSION=13000
flag=""; [ "$PROFILE" = release ] && flag=--release
(cd "$BUILD" && cargo build $flag -p "checks-$WEEK" --features reference,cuda)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
strip -o "$tmp/grader" "$TARGET/$PROFILE/checks-$WEEK"
sum=$(sha256sum "$tmp/grader" | cut -d' ' -f1)
xz -6 -T0 -c "$tmp/grader" > "$BUNDLE/grader.xz"
sed -i "s/^grader sha256: .*/grader sha256: $sum/; s/^built: \(.*\), cargo build .*/built: \1, cargo build -p checks-$WEEK --features reference,cuda (packed as the grader)/" "$BUNDLE/BUILD-INFO"
echo "cuda_week_bundle: $BUNDLE now grades $WEEK ($(du -h "$BUNDLE/grader.xz" | cut -f1)); on the GPU machine: OUT=<dir> WEEKS=$WEEK bash .cuda-bundle/run.sh"
