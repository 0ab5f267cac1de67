// std::vector<int> push_back growth (a vector built from empty to N elements,
// reallocating as it grows) on the pool through StdAllocator, against
// std::allocator, a minimal allocator over malloc, and pmr containers.
//
// Why the malloc allocator: libstdc++ moves a growing vector's elements with
// one memmove only when its allocator is std::allocator; with any other
// allocator (this one, StdAllocator, foonathan's adapters) it constructs and
// destroys them one by one through allocator_traits. For 1000 ints that loop,
// not the allocations (eleven, all pool hits), is most of the difference to
// std::allocator, so the pool is also compared with an allocator that pays
// the same loop.
#include <ziggy/memory_resource.hpp>
#include <ziggy/std_allocator.hpp>
#include <ziggy/unmanaged_memory_pool.hpp>

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <limits>
#include <memory_resource>
#include <new>
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

/// The least an allocator other than std::allocator can be: malloc and free.
template <class T>
struct MallocAllocator {
    using value_type = T;
    MallocAllocator() = default;
    template <class U>
    // NOLINTNEXTLINE(google-explicit-constructor): allocators rebind implicitly
    MallocAllocator(const MallocAllocator<U>& /*other*/) noexcept {}
    T* allocate(std::size_t n) {
        if (n > std::numeric_limits<std::size_t>::max() / sizeof(T))
            throw std::bad_array_new_length();
        if (void* p = std::malloc(n * sizeof(T))) return static_cast<T*>(p);
        throw std::bad_alloc();
    }
    void deallocate(T* p, std::size_t /*n*/) noexcept { std::free(p); }
    template <class U>
    bool operator==(const MallocAllocator<U>& /*other*/) const noexcept {
        return true;
    }
};

void BM_VectorMallocAllocator(benchmark::State& state) {
    grow(state, std::vector<int, MallocAllocator<int>>());
}
BENCHMARK(BM_VectorMallocAllocator)->Arg(16)->Arg(1000);

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
