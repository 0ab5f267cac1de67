// The yardstick for DebugAllocator: a 64-byte malloc/free pair in a program
// built with -fsanitize=address (ASan's allocator, red zones and quarantine),
// what a developer pays for the same class of checks without ziggyalloc.
// bench/meson.build builds this file alone with ASan; debug_bench.cpp holds
// the DebugAllocator pair.
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "bench_support.hpp"

namespace {

void BM_AsanMallocPair64(benchmark::State& state) {
    for (auto _ : state) {
        void* p = std::malloc(64);
        ziggy_bench::escape(p);
        std::free(p);
    }
}
BENCHMARK(BM_AsanMallocPair64);

} // namespace

BENCHMARK_MAIN();
