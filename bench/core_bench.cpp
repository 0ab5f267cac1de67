// Core benchmarks: the SystemAllocator pair against malloc/free, and element
// access through a Buffer (span loop, checked operator[]) against a raw
// pointer loop.
#include <ziggy/system_allocator.hpp>

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <span>

#include "bench_support.hpp"

namespace {

using ziggy_bench::escape;
using ziggy_bench::keep;

void BM_MallocPair64(benchmark::State& state) {
    for (auto _ : state) {
        void* p = std::malloc(64);
        escape(p);
        std::free(p);
    }
}
BENCHMARK(BM_MallocPair64);

void BM_SystemPair64(benchmark::State& state) {
    ziggy::SystemAllocator sys;
    for (auto _ : state) {
        auto b = sys.allocate<char>(64);
        escape(b.data());
    }
}
BENCHMARK(BM_SystemPair64);

void BM_SystemBytesPair64(benchmark::State& state) {
    ziggy::SystemAllocator sys;
    for (auto _ : state) {
        void* p = sys.allocate_bytes(64);
        escape(p);
        sys.deallocate_bytes(p, 64);
    }
}
BENCHMARK(BM_SystemBytesPair64);

// Loops come in pairs of the same shape, because the shape decides what the
// optimiser does: raw pointer vs Buffer's span, index form and range form,
// and the bounds-checked operator[] against the raw index loop. The size is a
// run-time value in each loop (as in most code), so g++ -O2 keeps them scalar.
constexpr std::size_t loop_elements = 4096;

template <class Body>
void run_loop(benchmark::State& state, Body body) {
    auto buf = ziggy::default_allocator().allocate<int>(loop_elements, true);
    for (auto _ : state) {
        escape(buf.data());
        keep(body(buf));
    }
    state.SetItemsProcessed(static_cast<long>(state.iterations() * loop_elements));
}

// Each loop is its own function, not inlined, starting on a 64-byte
// boundary: loops that compile to the same instructions then also sit at the
// same offset from a cache-line boundary. (-falign-loops=64 alone did not do
// it: g++ aligns only the loops it expects to be entered by a jump, and which
// those are changed with unrelated edits, moving one loop of identical code
// across a line and doubling its time.)
#define ZIGGY_LOOP_BODY [[gnu::noinline, gnu::aligned(64)]] int

ZIGGY_LOOP_BODY raw_index_sum(const ziggy::Buffer<int>& buf) {
    const int* p = buf.data();
    const std::size_t n = buf.size();
    int sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum += p[i];
    return sum;
}

ZIGGY_LOOP_BODY span_index_sum(const ziggy::Buffer<int>& buf) {
    std::span<const int> s = buf.as_read_only_span();
    int sum = 0;
    for (std::size_t i = 0; i < s.size(); ++i) sum += s[i];
    return sum;
}

ZIGGY_LOOP_BODY checked_index_sum(const ziggy::Buffer<int>& buf) {
    int sum = 0;
    for (std::size_t i = 0; i < buf.size(); ++i) sum += buf[i];
    return sum;
}

ZIGGY_LOOP_BODY raw_range_sum(const ziggy::Buffer<int>& buf) {
    const int* p = buf.data();
    const int* end = p + buf.size();
    int sum = 0;
    for (; p != end; ++p) sum += *p;
    return sum;
}

ZIGGY_LOOP_BODY span_range_sum(const ziggy::Buffer<int>& buf) {
    int sum = 0;
    for (int x : buf.as_span()) sum += x;
    return sum;
}

void BM_RawIndexLoop(benchmark::State& state) { run_loop(state, raw_index_sum); }
BENCHMARK(BM_RawIndexLoop);

void BM_SpanIndexLoop(benchmark::State& state) { run_loop(state, span_index_sum); }
BENCHMARK(BM_SpanIndexLoop);

void BM_CheckedIndexLoop(benchmark::State& state) { run_loop(state, checked_index_sum); }
BENCHMARK(BM_CheckedIndexLoop);

void BM_RawRangeLoop(benchmark::State& state) { run_loop(state, raw_range_sum); }
BENCHMARK(BM_RawRangeLoop);

void BM_SpanRangeLoop(benchmark::State& state) { run_loop(state, span_range_sum); }
BENCHMARK(BM_SpanRangeLoop);

} // namespace

BENCHMARK_MAIN();
