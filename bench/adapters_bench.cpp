// std::vector<int> push_back growth (a vector built from empty to N elements,
// reallocating as it grows) on the pool through StdAllocator, against
// std::allocator and against pmr containers.
#include <ziggy/memory_resource.hpp>
#include <ziggy/std_allocator.hpp>
#include <ziggy/unmanaged_memory_pool.hpp>

#include <benchmark/benchmark.h>

#include <memory_resource>
#include <vector>

#include "bench_support.hpp"

namespace {

template <class Vector>
void grow(benchmark::State& state, Vector v) {
    const int n = static_cast<int>(state.range(0));
    for (auto _ : state) {
        Vector w(v.get_allocator());
        for (int i = 0; i < n; ++i) w.push_back(i);
        ziggy_bench::escape(w.data());
    }
    state.SetItemsProcessed(state.iterations() * n);
}

void BM_VectorStdAllocator(benchmark::State& state) { grow(state, std::vector<int>()); }
BENCHMARK(BM_VectorStdAllocator)->Arg(16)->Arg(1000);

void BM_VectorOnPool(benchmark::State& state) {
    ziggy::UnmanagedMemoryPool pool;
    grow(state, std::vector<int, ziggy::StdAllocator<int>>(ziggy::StdAllocator<int>(pool)));
}
BENCHMARK(BM_VectorOnPool)->Arg(16)->Arg(1000);

void BM_PmrVectorOnPool(benchmark::State& state) {
    ziggy::UnmanagedMemoryPool pool;
    ziggy::MemoryResource resource(pool);
    grow(state, std::pmr::vector<int>(&resource));
}
BENCHMARK(BM_PmrVectorOnPool)->Arg(16)->Arg(1000);

void BM_PmrVectorOnPmrPool(benchmark::State& state) {
    std::pmr::unsynchronized_pool_resource resource;
    grow(state, std::pmr::vector<int>(&resource));
}
BENCHMARK(BM_PmrVectorOnPmrPool)->Arg(16)->Arg(1000);

} // namespace

BENCHMARK_MAIN();
