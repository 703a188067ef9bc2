#!/usr/bin/env bash
# Regenerate Generated/ (protobuf-c C sources) from the .proto files in Protos/.
# Usage: bash Protos/generate.sh   (works from any directory)
set -euo pipefail

PROTOS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$PROTOS_DIR")"
OUT_DIR="$REPO_DIR/Generated"
WKT_INCLUDE="${WKT_INCLUDE:-/usr/include}"

command -v protoc-c >/dev/null || { echo "generate.sh: protoc-c not found (hint: apt-get install protobuf-c-compiler, or run scripts/deps)" >&2; exit 1; }

# Well-known types our protos import; they are generated alongside our files.
WKT_FILES=(
  google/protobuf/any.proto
  google/protobuf/empty.proto
  google/protobuf/field_mask.proto
  google/protobuf/timestamp.proto
)
for f in "${WKT_FILES[@]}"; do
  [[ -f "$WKT_INCLUDE/$f" ]] || { echo "generate.sh: missing $WKT_INCLUDE/$f, a well-known type Protos/ imports (hint: apt-get install libprotobuf-dev, or run scripts/deps)" >&2; exit 1; }
done

# Remove previous output (only protoc-c files and directories left empty).
mkdir -p "$OUT_DIR"
find "$OUT_DIR" -type f \( -name '*.pb-c.c' -o -name '*.pb-c.h' \) -delete
find "$OUT_DIR" -mindepth 1 -type d -empty -delete

# Relative, sorted file list => deterministic output with no absolute paths.
cd "$PROTOS_DIR"
mapfile -t OWN_FILES < <(find . -type f -name '*.proto' | sed 's|^\./||' | LC_ALL=C sort)

protoc-c -I "$PROTOS_DIR" -I "$WKT_INCLUDE" --c_out="$OUT_DIR" \
  "${OWN_FILES[@]}" "${WKT_FILES[@]}"

echo "generate.sh: generated $(( ${#OWN_FILES[@]} + ${#WKT_FILES[@]} )) proto files into $OUT_DIR"

# Swift structs for the messages kctr uses (scripts/generate/swift-messages.c), built with the system cc against
# the protoc-c output above and kctr's descriptor tables, then run.
CC="${CC:-cc}"
command -v "$CC" >/dev/null || { echo "generate.sh: no C compiler ($CC) (hint: apt-get install gcc, or run scripts/deps)" >&2; exit 1; }
BUILD_DIR="$(mktemp -d)"
trap 'rm -rf "$BUILD_DIR"' EXIT
mapfile -t PBC_FILES < <(find "$OUT_DIR" -type f -name '*.pb-c.c' | LC_ALL=C sort)
"$CC" -std=c11 -O0 -w -I "$OUT_DIR" -I "$REPO_DIR/Sources/CGRPCShim/include" \
  "$REPO_DIR/scripts/generate/swift-messages.c" "$REPO_DIR/Sources/CGRPCShim/kctr_descriptors.c" "${PBC_FILES[@]}" \
  -lprotobuf-c -o "$BUILD_DIR/swift-messages"
mkdir -p "$OUT_DIR/swift"
"$BUILD_DIR/swift-messages" "$PROTOS_DIR/kctr-methods" "$OUT_DIR/swift"
