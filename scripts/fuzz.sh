#!/usr/bin/env bash
# Local libFuzzer runs of ziggyalloc's harnesses (fuzz/*_fuzzer.cpp).
#
#   scripts/fuzz.sh [NAME|all] [SECONDS]   fuzz one harness or each in turn (default: all, 60 s)
#   scripts/fuzz.sh list                   the harness names
#   scripts/fuzz.sh minimize NAME          merge fuzz/work/NAME/corpus into fuzz/corpus/NAME, minimised
#                                          (inputs named regress-* are always kept)
#   scripts/fuzz.sh oss-fuzz-check         build as OSS-Fuzz does and run every fuzzer over its seeds
#                                          (also tests oss-fuzz-project and .clusterfuzzlite/)
#   scripts/fuzz.sh oss-fuzz-project REPO_URL CONTACT_EMAIL OUT_DIR
#                                          write OUT_DIR/projects/ziggyalloc/ (project.yaml,
#                                          Dockerfile, build.sh) for an OSS-Fuzz submission, from
#                                          the templates in oss-fuzz/ (OUT_DIR: an oss-fuzz checkout)
#
# Builds with clang (clang++-19 when installed, else clang++) in build-fuzz/,
# with ASan+UBSan and -fsanitize=fuzzer. Each run starts from the seed corpus
# fuzz/corpus/NAME and keeps new inputs in fuzz/work/NAME/corpus (gitignored),
# using fuzz/NAME.options (dict, max_len, ...). A crash, leak or timeout is
# saved in fuzz/work/NAME/artifacts/ and printed with the commands that replay
# it; the script then exits non-zero.
#
# Environment: FUZZ_BUILD_DIR (default build-fuzz), CXX (clang++ to use).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}

log() { printf '\033[1m== %s\033[0m\n' "$*"; }

pick_cxx() {
    if [ -n "${CXX:-}" ]; then echo "$CXX"
    elif command -v clang++-19 >/dev/null; then echo clang++-19
    else echo clang++
    fi
}

harnesses() {
    local f
    for f in fuzz/*_fuzzer.cpp; do basename "$f" .cpp; done
}

configure() {
    if [ ! -f "$BUILD_DIR/build.ninja" ]; then
        local cxx
        cxx=$(pick_cxx)
        log "configuring $BUILD_DIR with $cxx (ASan+UBSan, -fsanitize=fuzzer)"
        if ! CXX=$cxx meson setup "$BUILD_DIR" --wrap-mode=nodownload \
            -Dfuzzer_ldflags=-fsanitize=fuzzer -Dfuzzing=enabled \
            -Dtests=disabled -Dbenchmarks=disabled -Dexamples=disabled >"$BUILD_DIR.log" 2>&1; then
            tail -n 20 "$BUILD_DIR.log" >&2
            rm -rf "$BUILD_DIR"
            exit 2
        fi
        rm -f "$BUILD_DIR.log"
    fi
}

build() {
    configure
    local targets=() n
    for n in "$@"; do targets+=("fuzz/$n"); done
    local out="$BUILD_DIR/fuzz-build.log"
    # Regenerates the build (and Meson's target list) if a meson.build changed.
    ninja -C "$BUILD_DIR" build.ninja >/dev/null 2>&1 || true
    if ! meson compile -C "$BUILD_DIR" "${targets[@]}" >"$out" 2>&1; then
        grep -E 'error|ERROR' "$out" | head -n 20 >&2 || tail -n 30 "$out" >&2
        echo "build failed (full log: $out)" >&2
        exit 2
    fi
}

# Reads fuzz/NAME.options' [libfuzzer] section as -key=value arguments
# (a dict path is relative to fuzz/, as on OSS-Fuzz).
option_args() {
    local file="fuzz/$1.options" key value in_section=0
    [ -f "$file" ] || return 0
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line%%#*}
        case "$line" in
            \[libfuzzer\]*) in_section=1; continue ;;
            \[*) in_section=0; continue ;;
        esac
        [ "$in_section" -eq 1 ] || continue
        [[ "$line" == *=* ]] || continue
        key=$(echo "${line%%=*}" | tr -d '[:space:]')
        value=$(echo "${line#*=}" | sed 's/^ *//; s/ *$//')
        [ "$key" = dict ] && value="fuzz/$value"
        echo "-$key=$value"
    done <"$file"
}

# Fuzzes one harness for $2 seconds; prints its figures; returns non-zero on a finding.
fuzz_one() {
    local name=$1 seconds=$2
    local work="fuzz/work/$name" bin="$BUILD_DIR/fuzz/$name"
    mkdir -p "$work/corpus" "$work/artifacts" "fuzz/corpus/$name"
    local args
    mapfile -t args < <(option_args "$name")
    log "fuzzing $name for ${seconds}s (log: $work/fuzz.log)"
    local status=0 marker
    marker=$(mktemp)
    "$bin" "${args[@]}" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/" "$work/corpus" "fuzz/corpus/$name" \
        >"$work/fuzz.log" 2>&1 || status=$?
    local last execs eps
    last=$(grep -E '^#[0-9]+.*cov:' "$work/fuzz.log" | tail -n1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -n1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/fuzz.log" | tail -n1)
    printf '   %-22s %s execs, %s exec/s | %s\n' "$name" "${execs:-?}" "${eps:-?}" \
        "$(echo "$last" | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' || echo "$last")"
    if [ "$status" -ne 0 ]; then
        echo "!! $name: finding (exit $status). The report:"
        grep -E '==ziggy-fuzz==|ERROR: |SUMMARY: |runtime error|Test unit written' "$work/fuzz.log" | head -n 20 | sed 's/^/   /'
        local f
        while IFS= read -r f; do
            echo "   reproduce: $bin $f"
            echo "   with g++ (sanitized replay): meson compile -C build fuzz/$name && build/fuzz/$name $f"
        done < <(find "$work/artifacts" -type f -newer "$marker")
    fi
    rm -f "$marker"
    return "$status"
}

cmd_fuzz() {
    local which=${1:-all} seconds=${2:-60} names=()
    if [ "$which" = all ]; then mapfile -t names < <(harnesses)
    else
        [ -f "fuzz/$which.cpp" ] || { echo "no harness fuzz/$which.cpp (try: $0 list)" >&2; exit 2; }
        names=("$which")
    fi
    build "${names[@]}"
    local failed=() n
    for n in "${names[@]}"; do fuzz_one "$n" "$seconds" || failed+=("$n"); done
    if [ ${#failed[@]} -ne 0 ]; then
        echo "findings in: ${failed[*]}"
        exit 1
    fi
    echo "no finding in ${#names[@]} harness(es)"
}

cmd_minimize() {
    local name=${1:?usage: $0 minimize NAME}
    build "$name"
    local out
    out=$(mktemp -d)
    # Regression inputs (regress-*) stay whatever coverage they add.
    find "fuzz/corpus/$name" -maxdepth 1 -name 'regress-*' -exec cp {} "$out/" \;
    "$BUILD_DIR/fuzz/$name" -merge=1 $(option_args "$name" | grep -v '^-dict=') \
        "$out" "fuzz/corpus/$name" "fuzz/work/$name/corpus" 2>&1 | grep -E 'MERGE-OUTER: [0-9]+ new' || true
    rm -rf "fuzz/corpus/$name"
    mv "$out" "fuzz/corpus/$name"
    echo "fuzz/corpus/$name: $(find "fuzz/corpus/$name" -type f | wc -l) inputs"
}

case "${1:-all}" in
    list) harnesses ;;
    minimize) shift; cmd_minimize "$@" ;;
    oss-fuzz-check) shift; exec bash oss-fuzz/check.sh "$@" ;;
    oss-fuzz-project) shift; exec bash oss-fuzz/make_project.sh "$@" ;;
    -h|--help|help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) cmd_fuzz "$@" ;;
esac
