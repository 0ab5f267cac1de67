// DebugAllocator's cost: a 64-byte allocate/free pair through the debug
// allocator (tracking, guards, fills, quarantine). scripts/bench_report.py
// compares it with the SystemAllocator and malloc pairs of core_bench.cpp and
// with the ASan-instrumented malloc pair of debug_asan_bench.cpp (a separate
// program, since ASan instruments the whole binary).
#include <ziggy/debug_allocator.hpp>
#include <ziggy/system_allocator.hpp>

#include <benchmark/benchmark.h>

#include "bench_support.hpp"

namespace {

using ziggy_bench::escape;

// Default options: 16-byte guards, a 64-block quarantine (so each free also
// verifies and releases the block evicted from it).
void BM_DebugPair64(benchmark::State& state) {
    ziggy::SystemAllocator sys;
    ziggy::DebugAllocator debug("bench", sys, ziggy::LeakReportingMode::ignore);
    for (auto _ : state) {
        void* p = debug.allocate_bytes(64);
        escape(p);
        debug.deallocate_bytes(p, 64);
    }
}
BENCHMARK(BM_DebugPair64);

// The typed path: a Buffer<char> of 64 made and destroyed.
void BM_DebugBufferPair64(benchmark::State& state) {
    ziggy::SystemAllocator sys;
    ziggy::DebugAllocator debug("bench", sys, ziggy::LeakReportingMode::ignore);
    for (auto _ : state) {
        auto b = debug.allocate<char>(64);
        escape(b.data());
    }
}
BENCHMARK(BM_DebugBufferPair64);

// Without quarantine: the cost of tracking, guards and fills alone.
void BM_DebugPair64NoQuarantine(benchmark::State& state) {
    ziggy::SystemAllocator sys;
    ziggy::DebugOptions options;
    options.quarantine_count = 0;
    ziggy::DebugAllocator debug("bench", sys, ziggy::LeakReportingMode::ignore, options);
    for (auto _ : state) {
        void* p = debug.allocate_bytes(64);
        escape(p);
        debug.deallocate_bytes(p, 64);
    }
}
BENCHMARK(BM_DebugPair64NoQuarantine);

} // namespace

BENCHMARK_MAIN();
