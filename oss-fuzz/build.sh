#!/bin/bash -eu
# OSS-Fuzz build script for ziggyalloc (also used by ClusterFuzzLite and by
# oss-fuzz/check.sh). Follows OSS-Fuzz's conventions: the compilers and the
# sanitizer/coverage flags come from $CC/$CXX/$CFLAGS/$CXXFLAGS, the engine from
# $LIB_FUZZING_ENGINE, and everything a fuzzer needs goes to $OUT:
#   $OUT/<name>                    the fuzzer (static build of the library)
#   $OUT/<name>_seed_corpus.zip    fuzz/corpus/<name>/
#   $OUT/<name>.dict, .options     fuzz/<name>.dict, fuzz/<name>.options
#
# Every variable has a default, so it also runs on a plain machine with clang:
#   oss-fuzz/build.sh            # -> build-oss-fuzz/out/
: "${CC:=clang}"
: "${CXX:=clang++}"
: "${CFLAGS:=-fsanitize=address,undefined -fsanitize=fuzzer-no-link -g -O1}"
: "${CXXFLAGS:=$CFLAGS}"
: "${LIB_FUZZING_ENGINE:=-fsanitize=fuzzer}"

# The ziggyalloc checkout: next to this script (repository or ClusterFuzzLite),
# else $SRC/ziggyalloc (OSS-Fuzz copies build.sh to $SRC on its own).
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -f "$HERE/../meson.build" ] && [ -d "$HERE/../fuzz" ]; then
    PROJECT=$(cd "$HERE/.." && pwd)
else
    PROJECT=${SRC:-$PWD}/ziggyalloc
fi
: "${SRC:=$(dirname "$PROJECT")}"
: "${WORK:=$PROJECT/build-oss-fuzz/work}"
: "${OUT:=$PROJECT/build-oss-fuzz/out}"
mkdir -p "$WORK" "$OUT"

# Meson takes compile flags from CXXFLAGS and link flags from LDFLAGS; the
# sanitizers must be on both, so the compile flags go to the link as well.
export CC CXX CFLAGS CXXFLAGS
export LDFLAGS="${LDFLAGS:-} $CXXFLAGS"

BUILD="$WORK/ziggyalloc-build"
rm -rf "$BUILD"
# plain: the optimisation level is OSS-Fuzz's (-O1 in CFLAGS); the sanitizer
# variant is off because CXXFLAGS already sanitize everything.
meson setup "$BUILD" "$PROJECT" --wrap-mode=nodownload \
    -Dbuildtype=plain -Db_ndebug=false -Ddefault_library=static -Db_lundef=false \
    -Dsanitized_variant=false -Dfuzzing=enabled -Dfuzzer_ldflags="$LIB_FUZZING_ENGINE" \
    -Dtests=disabled -Dbenchmarks=disabled -Dexamples=disabled \
    || { cat "$BUILD/meson-logs/meson-log.txt"; exit 1; }
meson compile -C "$BUILD"

zip_dir() {  # zip_dir DIR ZIP: the files of DIR, flat, as OSS-Fuzz wants
    rm -f "$2"
    if command -v zip >/dev/null; then
        (cd "$1" && find . -type f -print | sed 's|^\./||' | zip -q -j "$2" -@)
    else
        python3 - "$1" "$2" <<'PY'
import os, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
    for root, _, files in os.walk(src):
        for f in sorted(files):
            z.write(os.path.join(root, f), f)
PY
    fi
}

for source in "$PROJECT"/fuzz/*_fuzzer.cpp; do
    name=$(basename "$source" .cpp)
    cp "$BUILD/fuzz/$name" "$OUT/"
    [ -f "$PROJECT/fuzz/$name.dict" ] && cp "$PROJECT/fuzz/$name.dict" "$OUT/"
    [ -f "$PROJECT/fuzz/$name.options" ] && cp "$PROJECT/fuzz/$name.options" "$OUT/"
    if [ -n "$(find "$PROJECT/fuzz/corpus/$name" -type f 2>/dev/null | head -n1)" ]; then
        zip_dir "$PROJECT/fuzz/corpus/$name" "$OUT/${name}_seed_corpus.zip"
    fi
    echo "built $OUT/$name"
done
