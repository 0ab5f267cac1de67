// bench/bench_support.hpp — compiler barriers for the benchmarks.
//
// Debian's Google Benchmark 1.7.1 `benchmark::DoNotOptimize(T&)` miscompiles
// under g++ 12 -O2 (a captured value reads back as 0), so every benchmark here
// uses these instead.
#pragma once

namespace ziggy_bench {

/// Makes the optimiser assume `p` (and what it points to) escapes and is read.
inline void escape(const void* p) { asm volatile("" : : "g"(p) : "memory"); }

/// Makes the optimiser assume all memory was read and written.
inline void clobber() { asm volatile("" : : : "memory"); }

/// Keeps a computed value alive without a store to memory.
template <class T>
inline void keep(const T& value) {
    asm volatile("" : : "r,m"(value) : "memory");
}

} // namespace ziggy_bench
