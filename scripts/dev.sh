#!/usr/bin/env bash
# ziggyalloc's one entry point. Each subcommand first installs what it needs
# and is missing (Debian packages, as root or through sudo), then re-uses the
# build directory if it exists.
#
#   scripts/dev.sh setup          install everything the other commands need
#   scripts/dev.sh demo           build and run the tour of every allocator
#   scripts/dev.sh test           build and run every test suite (+ the consumer)
#   scripts/dev.sh fuzz [name] [seconds]  libFuzzer run of one or all harnesses
#   scripts/dev.sh fuzz oss-fuzz-project URL EMAIL DIR  write DIR/projects/ziggyalloc for an OSS-Fuzz submission
#   scripts/dev.sh bench [filter] run the benchmarks and print ratios against peers
#   scripts/dev.sh docs           API reference with Doxygen (build/docs/html/index.html)
#   scripts/dev.sh tsan           ThreadSanitizer build (build-tsan) running the test suites and
#                                 the pool_fuzzer and ops_fuzzer seeds
#   scripts/dev.sh heap-front     a -Dpool_tls_front=false build (build-heap-front): pool suites, ABI link check,
#                                 installed consumers, dlopen
#   scripts/dev.sh valgrind       the release test suites under Valgrind memcheck, and the
#                                 arena's and pools' with -Dvalgrind=true (build-valgrind), its
#                                 ABI link check, installed consumers and dlopen
#   scripts/dev.sh tidy           clang-tidy over src/ with the checked-in .clang-tidy
#   scripts/dev.sh format-check   fail if a file differs from .clang-format
#   scripts/dev.sh ensure PKG...  install the Debian packages that are missing
#
# Environment: BUILD_DIR (default build), CXX (compiler), MESON_ARGS (extra
# `meson setup` arguments, used when the build directory is first created).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD_DIR=${BUILD_DIR:-build}

BASE_PACKAGES=(meson ninja-build g++ pkg-config cmake python3 libgtest-dev libbenchmark-dev)
BENCH_PACKAGES=(libmimalloc-dev libjemalloc-dev libgoogle-perftools-dev libfoonathan-memory-dev gnuplot-nox)

log() { printf '\033[1m== %s\033[0m\n' "$*"; }

# Installs the Debian packages of "$@" that are not installed yet.
ensure_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "need root or sudo to install: ${missing[*]}" >&2; exit 1; }
        sudo=(sudo)
    fi
    log "installing ${missing[*]}"
    # One `apt-get update` per machine is enough; later installs reuse the lists.
    if [ ! -f /var/lib/apt/periodic/ziggyalloc-updated ] || [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v lock)" ]; then
        "${sudo[@]}" apt-get update -qq
        "${sudo[@]}" mkdir -p /var/lib/apt/periodic
        "${sudo[@]}" touch /var/lib/apt/periodic/ziggyalloc-updated
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Configures $BUILD_DIR once; later calls reuse it (meson regenerates itself).
configure() {
    if [ ! -f "$BUILD_DIR/build.ninja" ]; then
        log "configuring $BUILD_DIR"
        # shellcheck disable=SC2086
        meson setup "$BUILD_DIR" --wrap-mode=nodownload ${MESON_ARGS:-} "$@"
    fi
}

jobs() { nproc 2>/dev/null || echo 2; }

cmd_setup() {
    ensure_packages "${BASE_PACKAGES[@]}" "${BENCH_PACKAGES[@]}"
}

cmd_demo() {
    ensure_packages "${BASE_PACKAGES[@]}"
    configure
    meson compile -C "$BUILD_DIR" -j "$(jobs)" examples/tour
    log "running the tour"
    "$BUILD_DIR/examples/tour"
}

# Builds examples/consumer, a separate project that pulls ziggyalloc in as a
# wrap subproject, against both variants, and runs both programs.
consumer_test() {
    local dir="$BUILD_DIR/consumer"
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" examples/consumer --wrap-mode=nodownload >/dev/null
    fi
    meson compile -C "$dir" -j "$(jobs)" >/dev/null
    meson test -C "$dir" --print-errorlogs
}

# Installs the library into a temporary prefix and consumes it the two other
# ways users do: pkg-config on a compiler command line, and CMake's
# find_package, each for the release library and, where it is installed, the
# sanitized variant; checks that a program built with ASan does not link the
# release library (the pool's ABI symbol); then loads the release library
# with dlopen(), as a plugin host would. Args: a name, the environment
# dlopen() needs, then meson options. Adds to install_ok and install_fail.
install_ok=0
install_fail=0
install_result() { # install_result NAME WHAT STATUS
    if [ "$3" -eq 0 ]; then
        echo "install ($1): $2 OK"; install_ok=$((install_ok + 1))
    else
        echo "install ($1): $2 FAIL"; install_fail=$((install_fail + 1))
    fi
}
install_check() {
    local name=$1 dlopen_env=$2
    shift 2
    local dir="$ROOT/$BUILD_DIR/install-check/$name"
    rm -rf "$dir/prefix" "$dir/cmake"
    # A build configured with other options (an older script's) starts anew.
    if [ "$(cat "$dir/options" 2>/dev/null)" != "$*" ]; then
        rm -rf "$dir/build"
        mkdir -p "$dir"
        echo "$*" >"$dir/options"
    fi
    if [ ! -f "$dir/build/build.ninja" ]; then
        meson setup "$dir/build" --prefix="$dir/prefix" --wrap-mode=nodownload -Dtests=disabled \
            -Dbenchmarks=disabled -Dexamples=disabled -Dfuzzing=disabled "$@" >/dev/null
    fi
    meson install -C "$dir/build" --quiet >/dev/null
    local libdir
    libdir=$(dirname "$(find "$dir/prefix" -name ziggyalloc.pc | head -n1)")/..
    local cxx=${CXX:-c++} pc=("env" "PKG_CONFIG_PATH=$libdir/pkgconfig" "pkg-config")
    local sanitized=0 st
    [ -f "$libdir/pkgconfig/ziggyalloc-sanitized.pc" ] && sanitized=1
    # shellcheck disable=SC2046
    if $cxx examples/consumer/main.cpp -o "$dir/pkgconfig-consumer" \
        $("${pc[@]}" --cflags --libs ziggyalloc) -Wl,-rpath,"$libdir" &&
        "$dir/pkgconfig-consumer" | tee "$dir/out" && grep -q "(release)" "$dir/out"; then st=0; else st=1; fi
    install_result "$name" "pkg-config consumer" "$st"
    if [ "$sanitized" -eq 1 ]; then
        # shellcheck disable=SC2046
        if $cxx examples/consumer/main.cpp -o "$dir/pkgconfig-consumer-sanitized" \
            $("${pc[@]}" --cflags --libs ziggyalloc-sanitized) &&
            "$dir/pkgconfig-consumer-sanitized" | tee "$dir/out" && grep -q "(sanitized)" "$dir/out"; then st=0; else st=1; fi
        install_result "$name" "pkg-config consumer, ziggyalloc-sanitized" "$st"
    else
        echo "install ($name): no ziggyalloc-sanitized installed (-Dsanitized_variant=false)"
    fi
    # With ASan, the release library: the link must fail on the pool's ABI
    # symbol (the library would hand out blocks the program's frees poisoned).
    if echo 'int main() {}' | $cxx -x c++ - -fsanitize=address -o /dev/null 2>/dev/null; then
        # shellcheck disable=SC2046
        if $cxx examples/consumer/main.cpp -fsanitize=address -o "$dir/mixed-consumer" \
                $("${pc[@]}" --cflags --libs ziggyalloc) >"$dir/mixed.log" 2>&1; then
            echo "an ASan-built program linked the release library"
            st=1
        else
            if grep "undefined" "$dir/mixed.log" | grep -m1 "pool_abi_[0-9]*_[a-z_]*_asan"; then
                st=0
            else
                cat "$dir/mixed.log"
                st=1
            fi
        fi
        install_result "$name" "ASan-built program refused by the release library" "$st"
    fi
    if cmake -S examples/cmake_consumer -B "$dir/cmake" -DCMAKE_PREFIX_PATH="$dir/prefix" \
        -DCMAKE_CXX_COMPILER="$cxx" >"$dir/cmake.log" 2>&1 &&
        cmake --build "$dir/cmake" >>"$dir/cmake.log" 2>&1 &&
        "$dir/cmake/cmake_consumer" | tee "$dir/out" && grep -q "(release)" "$dir/out"; then
        st=0
    else
        cat "$dir/cmake.log"
        st=1
    fi
    install_result "$name" "CMake find_package consumer" "$st"
    if [ "$sanitized" -eq 1 ]; then
        if "$dir/cmake/cmake_consumer_sanitized" | tee "$dir/out" && grep -q "(sanitized)" "$dir/out"; then st=0; else st=1; fi
        install_result "$name" "CMake find_package consumer, ziggyalloc::ziggyalloc-sanitized" "$st"
    fi
    # shellcheck disable=SC2086
    if $cxx examples/dlopen_check.cpp -o "$dir/dlopen-check" -ldl &&
        env $dlopen_env "$dir/dlopen-check" "$libdir/libziggyalloc.so"; then st=0; else st=1; fi
    install_result "$name" "dlopen()" "$st"
}

# The default build: its 86 KiB of initial-exec TLS loads late only with
# glibc's tunable (see the README). `scripts/dev.sh heap-front` checks the
# build that dlopen() loads without it. Prints "Ok: N" / "Fail: N" like
# meson test.
install_test() {
    install_check default GLIBC_TUNABLES=glibc.rtld.optional_static_tls=131072
    echo "Ok: $install_ok"
    echo "Fail: $install_fail"
    [ "$install_fail" -eq 0 ]
}

# Reads the Ok/Fail counts of a `meson test` log.
count() { sed -n "s/^$1: *\([0-9]*\).*/\1/p" "$2" | tail -n1; }

cmd_test() {
    ensure_packages "${BASE_PACKAGES[@]}"
    configure
    log "building"
    meson compile -C "$BUILD_DIR" -j "$(jobs)"
    local status=0 passed=0 failed=0 out
    out=$(mktemp)
    log "unit tests (suites: release, sanitized, link, fuzz)"
    meson test -C "$BUILD_DIR" --print-errorlogs --num-processes "$(jobs)" 2>&1 | tee "$out" || status=1
    passed=$((passed + $(count Ok "$out") + 0))
    failed=$((failed + $(count Fail "$out") + $(count Timeout "$out") + 0))
    log "consumer project (wrap subproject, both variants)"
    consumer_test 2>&1 | tee "$out" || status=1
    passed=$((passed + $(count Ok "$out") + 0))
    failed=$((failed + $(count Fail "$out") + 0))
    log "installed library (pkg-config, CMake find_package)"
    install_test 2>&1 | tee "$out" || status=1
    passed=$((passed + $(count Ok "$out") + 0))
    failed=$((failed + $(count Fail "$out") + 0))
    rm -f "$out"
    [ "$failed" -eq 0 ] || status=1
    echo
    echo "ziggyalloc: $passed passed, $failed failed"
    return $status
}

cmd_bench() {
    ensure_packages "${BASE_PACKAGES[@]}" "${BENCH_PACKAGES[@]}"
    configure
    meson compile -C "$BUILD_DIR" -j "$(jobs)"
    python3 scripts/bench_report.py "$BUILD_DIR" "$@"
}

cmd_docs() {
    ensure_packages doxygen
    mkdir -p build/docs
    doxygen docs/Doxyfile
    echo "API reference: $ROOT/build/docs/html/index.html"
}

cmd_tsan() {
    ensure_packages "${BASE_PACKAGES[@]}"
    BUILD_DIR=${BUILD_DIR_TSAN:-build-tsan}
    MESON_ARGS="${MESON_ARGS:-} -Db_sanitize=thread -Dsanitized_variant=false -Dbenchmarks=disabled -Dexamples=disabled -Dfuzzing=enabled"
    # A build directory made before the replays joined this command has
    # the harnesses disabled.
    if [ -f "$BUILD_DIR/build.ninja" ]; then
        meson configure "$BUILD_DIR" -Dfuzzing=enabled >/dev/null
    fi
    configure
    # The suites of the thread-safe allocators and the stress test.
    local tests=(system_allocator contract stress unmanaged_memory_pool hybrid_allocator
                 debug_allocator failing_allocator)
    release_suites "test suites under ThreadSanitizer" "${tests[@]}" -- "$@"
    # The seeds of the harnesses that drive the pool and the hybrid, whose
    # thread rounds free and allocate on a worker thread that then exits
    # (the command's extra `meson test` arguments go to the suites above).
    meson compile -C "$BUILD_DIR" -j "$(jobs)" fuzz/pool_fuzzer fuzz/ops_fuzzer
    log "pool_fuzzer and ops_fuzzer seeds under ThreadSanitizer"
    meson test -C "$BUILD_DIR" --no-rebuild --print-errorlogs --num-processes "$(jobs)" \
        --suite fuzz pool_fuzzer ops_fuzzer
}

# Builds the release suites named before `--` in $BUILD_DIR, logs the label,
# and runs them (meson test arguments after `--`).
release_suites() {
    local label=$1
    shift
    local tests=() targets=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        tests+=("$1")
        targets+=("tests/$1_test-release")
        shift
    done
    [ $# -gt 0 ] && shift
    meson compile -C "$BUILD_DIR" -j "$(jobs)" "${targets[@]}"
    log "$label"
    meson test -C "$BUILD_DIR" --no-rebuild --print-errorlogs --num-processes "$(jobs)" \
        --suite release "${tests[@]}" "$@"
}

# The test of suite `link` in $BUILD_DIR (not wrapped: it runs the compiler):
# code compiled for another pool ABI than this build's fails to link.
abi_link_check() {
    log "ABI link check (suite link)"
    meson test -C "$BUILD_DIR" --print-errorlogs --suite link
}

# A build with -Dpool_tls_front=false (the pools' per-thread state in the
# heap, a library dlopen() loads late): the pool suites, then the installed
# library's consumers (the option's define must reach them, or they fail to
# link) and dlopen() without help.
cmd_heap_front() {
    ensure_packages "${BASE_PACKAGES[@]}"
    BUILD_DIR=${BUILD_DIR_HEAP_FRONT:-build-heap-front}
    MESON_ARGS="${MESON_ARGS:-} -Dpool_tls_front=false -Dsanitized_variant=false -Dbenchmarks=disabled -Dexamples=disabled -Dfuzzing=disabled"
    configure
    release_suites "pool suites with the fronts in the heap" contract stress unmanaged_memory_pool \
        pool_out_of_memory \
        hybrid_allocator allocator std_allocator memory_resource -- "$@"
    abi_link_check
    log "installed library (pkg-config, CMake find_package, dlopen)"
    install_check heap-front "" -Dpool_tls_front=false -Dsanitized_variant=false
    [ "$install_fail" -eq 0 ]
}

cmd_valgrind() {
    ensure_packages "${BASE_PACKAGES[@]}" valgrind
    configure
    meson compile -C "$BUILD_DIR" -j "$(jobs)"
    log "release test suites under Valgrind memcheck"
    local memcheck="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --suppressions=$ROOT/scripts/valgrind.supp -q"
    # Death tests fork a child that dies on purpose; memcheck would only slow them down.
    GTEST_FILTER='-*Death*:*DeathTest*' meson test -C "$BUILD_DIR" --suite release --print-errorlogs \
        --num-processes "$(jobs)" --timeout-multiplier 10 --wrapper "$memcheck" "$@"
    # -Dvalgrind=true: the arena and the pools describe their memory to
    # memcheck (client requests), so memcheck checks them as it checks malloc.
    # Their suites (not the bad-input ones, whose misuse memcheck then
    # reports; the command's arguments go to the first run only), and the
    # -masm=intel suite: the client requests are made out of line, so a
    # caller compiled with Intel syntax builds against this library too.
    BUILD_DIR=${BUILD_DIR_VALGRIND:-build-valgrind}
    MESON_ARGS="${MESON_ARGS:-} -Dvalgrind=true -Dsanitized_variant=false -Dbenchmarks=disabled -Dexamples=disabled -Dfuzzing=disabled"
    configure
    (
        export GTEST_FILTER='-*Death*:*DeathTest*'
        release_suites "arena and pool suites under memcheck, with client requests (-Dvalgrind=true)" \
            unmanaged_memory_pool hybrid_allocator scoped_allocator intel_syntax -- \
            --timeout-multiplier 10 --wrapper "$memcheck"
    )
    # Its users must compile with ZIGGY_VALGRIND too (or fail to link, see
    # ZIGGY_POOL_ABI_SYMBOL): the define reaches them through pkg-config and
    # the CMake package.
    abi_link_check
    log "installed library, -Dvalgrind=true (pkg-config, CMake find_package, dlopen)"
    install_check memcheck GLIBC_TUNABLES=glibc.rtld.optional_static_tls=131072 -Dvalgrind=true -Dsanitized_variant=false
    [ "$install_fail" -eq 0 ]
}

cmd_tidy() {
    ensure_packages "${BASE_PACKAGES[@]}" clang-tidy
    configure
    log "clang-tidy over src/"
    clang-tidy -p "$BUILD_DIR" --quiet src/*.cpp 2> >(grep -v "warnings generated" >&2)
}

cmd_format_check() {
    ensure_packages clang-format
    local bad=0 f
    while IFS= read -r f; do
        if ! clang-format --dry-run -Werror "$f" 2>/dev/null; then
            echo "not formatted: $f (clang-format -i $f)"
            bad=1
        fi
    done < <(git ls-files '*.hpp' '*.cpp' '*.h')
    [ "$bad" -eq 0 ] && echo "format: every file follows .clang-format"
    return $bad
}

usage() {
    sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'
}

case "${1:-}" in
    setup) shift; cmd_setup "$@" ;;
    demo) shift; cmd_demo "$@" ;;
    test) shift; cmd_test "$@" ;;
    bench) shift; cmd_bench "$@" ;;
    ensure) shift; ensure_packages "$@" ;;
    tsan) shift; cmd_tsan "$@" ;;
    heap-front) shift; cmd_heap_front "$@" ;;
    docs) shift; cmd_docs "$@" ;;
    valgrind) shift; cmd_valgrind "$@" ;;
    tidy) shift; cmd_tidy "$@" ;;
    format-check) shift; cmd_format_check "$@" ;;
    fuzz) shift; ensure_packages "${BASE_PACKAGES[@]}" clang libclang-rt-14-dev; exec bash scripts/fuzz.sh "$@" ;;
    -h|--help|help|"") usage ;;
    *) echo "unknown command: $1" >&2; usage >&2; exit 2 ;;
esac
