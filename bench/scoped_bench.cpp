// Arena and defer benchmarks.
//
// Arena: 64-byte, 16-aligned allocations from ScopedAllocator (typed API and
// byte layer on the concrete type, and the virtual path through Allocator&)
// against std::pmr::monotonic_buffer_resource and a hand-written bump pointer,
// the floor. Method, identical for all: each benchmark iteration makes
// `batch` allocations (each pointer escapes) and then resets the arena
// (`reset()`, `release()`, rewinding the pointer). All three work in one region
// of `region_bytes` that they keep across resets (the arena's retained block,
// the pmr resource's initial buffer, the bump's buffer), so no iteration
// touches the backing allocator; the figure is time per allocation including
// 1/batch of a reset.
//
// Defer: registering `n` small actions (two captured words) and running them
// at scope end, DeferScope against std::vector<std::function<void()>>.
#include <ziggy/defer_scope.hpp>
#include <ziggy/scoped_allocator.hpp>

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <memory_resource>
#include <new>
#include <vector>

#include "bench_support.hpp"

namespace {

using ziggy_bench::escape;

constexpr std::size_t batch = 1024;
constexpr std::size_t object_size = 64;
constexpr std::size_t object_alignment = 16;
constexpr std::size_t region_bytes = 256 * 1024; // > batch * object_size + headers

struct alignas(object_alignment) Object {
    unsigned char bytes[object_size];
};

// Hides where `p` points from the optimiser, so calls through it stay virtual.
template <class T>
T* opaque(T* p) {
    asm volatile("" : "+r"(p));
    return p;
}

void count_items(benchmark::State& state) {
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
}

constexpr ziggy::ScopedAllocatorOptions arena_options{.initial_block_size = region_bytes,
                                                      .max_block_size = region_bytes};

// The floor: what a bump allocator cannot beat.
struct Bump {
    char* begin;
    char* cur;
    char* end;
    [[gnu::always_inline]] void* allocate(std::size_t size, std::size_t alignment) {
        const auto v = reinterpret_cast<std::uintptr_t>(cur);
        char* p = cur + (((v + alignment - 1) & ~(alignment - 1)) - v);
        if (static_cast<std::size_t>(end - p) < size) [[unlikely]]
            throw std::bad_alloc();
        cur = p + size;
        return p;
    }
    void reset() { cur = begin; }
};

void BM_BumpPointer64(benchmark::State& state) {
    auto region = std::make_unique<char[]>(region_bytes);
    Bump bump{region.get(), region.get(), region.get() + region_bytes};
    for (auto _ : state) {
        for (std::size_t i = 0; i < batch; ++i)
            escape(bump.allocate(object_size, object_alignment));
        bump.reset();
    }
    count_items(state);
}
BENCHMARK(BM_BumpPointer64);

void BM_ArenaTyped64(benchmark::State& state) {
    ziggy::ScopedAllocator arena(ziggy::default_allocator(), arena_options);
    for (auto _ : state) {
        for (std::size_t i = 0; i < batch; ++i) {
            auto b = arena.allocate<Object>(1);
            escape(b.release());
        }
        arena.reset();
    }
    count_items(state);
}
BENCHMARK(BM_ArenaTyped64);

void BM_ArenaBytes64(benchmark::State& state) {
    ziggy::ScopedAllocator arena(ziggy::default_allocator(), arena_options);
    for (auto _ : state) {
        for (std::size_t i = 0; i < batch; ++i)
            escape(arena.allocate_bytes(object_size, object_alignment));
        arena.reset();
    }
    count_items(state);
}
BENCHMARK(BM_ArenaBytes64);

// Through the abstract interface: one virtual call per allocation.
void BM_ArenaVirtual64(benchmark::State& state) {
    ziggy::ScopedAllocator arena(ziggy::default_allocator(), arena_options);
    ziggy::Allocator& base = *opaque<ziggy::Allocator>(&arena);
    for (auto _ : state) {
        for (std::size_t i = 0; i < batch; ++i)
            escape(base.allocate_bytes(object_size, object_alignment));
        arena.reset();
    }
    count_items(state);
}
BENCHMARK(BM_ArenaVirtual64);

void BM_PmrMonotonic64(benchmark::State& state) {
    auto region = std::make_unique<char[]>(region_bytes);
    std::pmr::monotonic_buffer_resource pmr(region.get(), region_bytes,
                                            std::pmr::new_delete_resource());
    for (auto _ : state) {
        for (std::size_t i = 0; i < batch; ++i) escape(pmr.allocate(object_size, object_alignment));
        pmr.release();
    }
    count_items(state);
}
BENCHMARK(BM_PmrMonotonic64);

// As pmr containers call it: through memory_resource&, one virtual call each.
void BM_PmrMonotonicVirtual64(benchmark::State& state) {
    auto region = std::make_unique<char[]>(region_bytes);
    std::pmr::monotonic_buffer_resource pmr(region.get(), region_bytes,
                                            std::pmr::new_delete_resource());
    std::pmr::memory_resource& r = *opaque<std::pmr::memory_resource>(&pmr);
    for (auto _ : state) {
        for (std::size_t i = 0; i < batch; ++i) escape(r.allocate(object_size, object_alignment));
        pmr.release();
    }
    count_items(state);
}
BENCHMARK(BM_PmrMonotonicVirtual64);

// Allocate and free at once: a Buffer destroyed right away (the arena
// reclaims it) against pmr allocate + deallocate (a no-op there).
void BM_ArenaBufferPair64(benchmark::State& state) {
    ziggy::ScopedAllocator arena(ziggy::default_allocator(), arena_options);
    for (auto _ : state) {
        for (std::size_t i = 0; i < batch; ++i) {
            auto b = arena.allocate<Object>(1);
            escape(b.data());
        }
        arena.reset();
    }
    count_items(state);
}
BENCHMARK(BM_ArenaBufferPair64);

void BM_PmrMonotonicPair64(benchmark::State& state) {
    auto region = std::make_unique<char[]>(region_bytes);
    std::pmr::monotonic_buffer_resource pmr(region.get(), region_bytes,
                                            std::pmr::new_delete_resource());
    for (auto _ : state) {
        for (std::size_t i = 0; i < batch; ++i) {
            void* p = pmr.allocate(object_size, object_alignment);
            escape(p);
            pmr.deallocate(p, object_size, object_alignment);
        }
        pmr.release();
    }
    count_items(state);
}
BENCHMARK(BM_PmrMonotonicPair64);

// ---- defer

void BM_DeferScope(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::size_t sum = 0;
    for (auto _ : state) {
        ziggy::DeferScope defer;
        for (std::size_t i = 0; i < n; ++i) defer.defer([&sum, i] { sum += i; });
    }
    escape(&sum);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
BENCHMARK(BM_DeferScope)->Arg(4)->Arg(16);

void BM_VectorOfFunction(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::size_t sum = 0;
    for (auto _ : state) {
        std::vector<std::function<void()>> actions;
        for (std::size_t i = 0; i < n; ++i) actions.emplace_back([&sum, i] { sum += i; });
        for (auto it = actions.rbegin(); it != actions.rend(); ++it) (*it)();
    }
    escape(&sum);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
BENCHMARK(BM_VectorOfFunction)->Arg(4)->Arg(16);

} // namespace

BENCHMARK_MAIN();
