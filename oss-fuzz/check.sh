#!/usr/bin/env bash
# Checks the OSS-Fuzz integration on this machine, without Docker: runs
# oss-fuzz/build.sh with clang and OSS-Fuzz's default flags, then runs every
# fuzzer it produced over its unzipped seed corpus (-runs=0: each input once),
# with its .options. Exits non-zero if the build fails or any seed crashes.
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
echo "== oss-fuzz/build.sh with $CXX"
bash oss-fuzz/build.sh >"$WORK/build.log" 2>&1 || { tail -n 40 "$WORK/build.log"; exit 1; }

status=0
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
exit $status
