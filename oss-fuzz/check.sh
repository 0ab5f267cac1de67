#!/usr/bin/env bash
# Checks the OSS-Fuzz and ClusterFuzzLite integration on this machine, without
# Docker or network:
#  1. builds as both do: .clusterfuzzlite/build.sh (which runs oss-fuzz/build.sh,
#     the script OSS-Fuzz runs too) with clang and OSS-Fuzz's default flags,
#     from $SRC/ziggyalloc pointing at this checkout, and checks that every
#     fuzz/*_fuzzer.cpp gave a fuzzer;
#  2. runs every fuzzer over its unzipped seed corpus (-runs=0: each input
#     once), with its .options;
#  3. tests `scripts/fuzz.sh oss-fuzz-project` (oss-fuzz/test_make_project.sh)
#     and the ClusterFuzzLite workflow files (.clusterfuzzlite/check.sh).
# Exits non-zero if any step fails.
#
#   oss-fuzz/check.sh          (also: scripts/fuzz.sh oss-fuzz-check)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

if [ -z "${CXX:-}" ]; then
    if command -v clang++-19 >/dev/null; then CC=clang-19 CXX=clang++-19
    else CC=clang CXX=clang++
    fi
fi
export CC CXX
export OUT=${OUT:-$ROOT/build-oss-fuzz/out} WORK=${WORK:-$ROOT/build-oss-fuzz/work}
rm -rf "$OUT"
mkdir -p "$WORK"
# $SRC as in the ClusterFuzzLite image: the checkout at $SRC/ziggyalloc.
export SRC="$WORK/src"
rm -rf "$SRC" && mkdir -p "$SRC" && ln -s "$ROOT" "$SRC/ziggyalloc"
echo "== .clusterfuzzlite/build.sh (-> oss-fuzz/build.sh) with $CXX"
bash .clusterfuzzlite/build.sh >"$WORK/build.log" 2>&1 || { tail -n 40 "$WORK/build.log"; exit 1; }

status=0
for source in fuzz/*_fuzzer.cpp; do
    name=$(basename "$source" .cpp)
    if [ ! -x "$OUT/$name" ]; then
        echo "!! $name: the build made no $OUT/$name"
        status=1
    fi
done
for fuzzer in "$OUT"/*_fuzzer; do
    name=$(basename "$fuzzer")
    seeds="$WORK/seeds/$name"
    rm -rf "$seeds" && mkdir -p "$seeds"
    if [ -f "$OUT/${name}_seed_corpus.zip" ]; then
        python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
            "$OUT/${name}_seed_corpus.zip" "$seeds"
    fi
    args=()
    if [ -f "$OUT/$name.options" ]; then
        # [libfuzzer] key = value  ->  -key=value (dict relative to $OUT)
        while IFS='=' read -r key value; do
            key=$(echo "$key" | tr -d '[:space:]'); value=$(echo "$value" | sed 's/^ *//; s/ *$//')
            [ -n "$key" ] && [ "${key:0:1}" != "[" ] && [ "${key:0:1}" != "#" ] || continue
            [ "$key" = dict ] && value="$OUT/$value"
            args+=("-$key=$value")
        done <"$OUT/$name.options"
    fi
    if "$fuzzer" "${args[@]}" -runs=0 "$seeds" >"$WORK/$name.log" 2>&1; then
        printf '   %-22s %4d seeds: ok (%s)\n' "$name" "$(find "$seeds" -type f | wc -l)" \
            "$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$WORK/$name.log" | tail -n1)"
    else
        echo "!! $name crashed on its seed corpus:"; tail -n 30 "$WORK/$name.log"; status=1
    fi
done
echo "== scripts/fuzz.sh oss-fuzz-project"
bash oss-fuzz/test_make_project.sh | sed 's/^/   /' || status=1
echo "== ClusterFuzzLite workflow files"
bash .clusterfuzzlite/check.sh || status=1
exit $status
