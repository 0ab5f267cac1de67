// Pool benchmarks: UnmanagedMemoryPool and HybridAllocator against malloc
// replacements, std::pmr pools, foonathan/memory's memory_pool and a
// hand-written free list (the floor: nothing can pop and push faster).
//
// The same file is built once per malloc (bench/meson.build): ZIGGY_BENCH_PEER
// names the malloc the binary is linked with (glibc, mimalloc, jemalloc,
// tcmalloc), so BM_MallocPair in pool_bench-mimalloc measures mimalloc, and
// every ratio can be taken between two benchmarks of one process.
#include <ziggy/hybrid_allocator.hpp>
#include <ziggy/unmanaged_memory_pool.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory_resource>
#include <mutex>
#include <new>
#include <numeric>
#include <thread>
#include <utility>
#include <vector>

#if __has_include(<foonathan/memory/memory_pool.hpp>) && defined(ZIGGY_BENCH_FOONATHAN)
#include <foonathan/memory/memory_pool.hpp>
#define ZIGGY_HAVE_FOONATHAN 1
#else
#define ZIGGY_HAVE_FOONATHAN 0
#endif

#include "bench_support.hpp"

#ifndef ZIGGY_BENCH_PEER
#define ZIGGY_BENCH_PEER "glibc"
#endif

// Referencing one symbol of the replacement proves it is linked (and keeps
// --as-needed from dropping it).
#if defined(ZIGGY_BENCH_MIMALLOC)
extern "C" int mi_version(void);
static const int peer_version = mi_version();
#elif defined(ZIGGY_BENCH_JEMALLOC)
extern "C" int mallctl(const char*, void*, std::size_t*, void*, std::size_t);
static const int peer_version = [] {
    const char* v = nullptr;
    std::size_t n = sizeof(v);
    return mallctl("version", &v, &n, nullptr, 0) == 0 ? 1 : 0;
}();
#elif defined(ZIGGY_BENCH_TCMALLOC)
extern "C" const char* tc_version(int*, int*, const char**);
static const int peer_version = tc_version(nullptr, nullptr, nullptr) != nullptr ? 1 : 0;
#else
static const int peer_version = 0;
#endif

namespace {

using ziggy_bench::escape;

const std::vector<std::int64_t> sizes = {16, 64, 256, 1024, 4096};

void apply_sizes(benchmark::internal::Benchmark* b) {
    for (auto s : sizes) b->Arg(s);
}

// ---- one allocate + free pair -------------------------------------------

void BM_MallocPair(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    for (auto _ : state) {
        void* p = std::malloc(n);
        escape(p);
        std::free(p);
    }
    state.SetLabel(ZIGGY_BENCH_PEER);
}
BENCHMARK(BM_MallocPair)->Apply(apply_sizes);

// Through the Buffer API on the concrete pool type (inline typed allocate;
// the Buffer's destructor pushes onto the thread cache inline, through
// Allocator::deallocate_bytes).
void BM_PoolBufferPair(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    ziggy::UnmanagedMemoryPool pool;
    for (auto _ : state) {
        auto b = pool.allocate<unsigned char>(n);
        escape(b.data());
    }
}
BENCHMARK(BM_PoolBufferPair)->Apply(apply_sizes);

// The fast paths alone: no Buffer.
void BM_PoolInlinePair(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    ziggy::UnmanagedMemoryPool pool;
    for (auto _ : state) {
        void* p = pool.allocate_inline(n, 16, false);
        escape(p);
        pool.deallocate_inline(p);
    }
}
BENCHMARK(BM_PoolInlinePair)->Apply(apply_sizes);

// Mixed sizes: a fixed sequence of 256 sizes from 8 bytes to 4 KiB, spread
// evenly over the doublings (as many 8-16 byte requests as 2-4 KiB ones),
// in an order no branch predictor learns.
const std::vector<std::size_t>& mixed_sizes() {
    static const std::vector<std::size_t> v = [] {
        std::vector<std::size_t> out;
        std::uint64_t x = 0x9E3779B97F4A7C15u;
        for (int i = 0; i < 256; ++i) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;                 // xorshift64
            const unsigned shift = 3 + static_cast<unsigned>(x % 9); // 8 .. 2048
            const std::size_t low = std::size_t{1} << shift;
            out.push_back(low + static_cast<std::size_t>((x >> 8) % low)); // [low, 2 low)
        }
        return out;
    }();
    return v;
}

void BM_MallocMixedPair(benchmark::State& state) {
    const auto& sizes = mixed_sizes();
    std::size_t i = 0;
    for (auto _ : state) {
        void* p = std::malloc(sizes[i++ & 255]);
        escape(p);
        std::free(p);
    }
    state.SetLabel(ZIGGY_BENCH_PEER);
}
BENCHMARK(BM_MallocMixedPair);

void BM_PoolBufferMixedPair(benchmark::State& state) {
    const auto& sizes = mixed_sizes();
    ziggy::UnmanagedMemoryPool pool;
    std::size_t i = 0;
    for (auto _ : state) {
        auto b = pool.allocate<unsigned char>(sizes[i++ & 255]);
        escape(b.data());
    }
}
BENCHMARK(BM_PoolBufferMixedPair);

// The byte layer through an Allocator&, as adapters and code written
// against the interface call it: Allocator's inline pop and push, a
// virtual call only on a miss.
void BM_PoolBytesPair(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    ziggy::UnmanagedMemoryPool pool;
    ziggy::Allocator& a = pool;
    for (auto _ : state) {
        void* p = a.allocate_bytes(n);
        escape(p);
        a.deallocate_bytes(p, n);
    }
}
BENCHMARK(BM_PoolBytesPair)->Apply(apply_sizes);

// Buffers through an Allocator& (Allocator::allocate<T>, not the pool's own).
void BM_PoolErasedBufferPair(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    ziggy::UnmanagedMemoryPool pool;
    ziggy::Allocator& a = pool;
    for (auto _ : state) {
        auto b = a.allocate<unsigned char>(n);
        escape(b.data());
    }
}
BENCHMARK(BM_PoolErasedBufferPair)->Apply(apply_sizes);

void BM_PmrUnsyncPair(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::pmr::unsynchronized_pool_resource r;
    for (auto _ : state) {
        void* p = r.allocate(n, 16);
        escape(p);
        r.deallocate(p, n, 16);
    }
}
BENCHMARK(BM_PmrUnsyncPair)->Apply(apply_sizes);

void BM_PmrSyncPair(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::pmr::synchronized_pool_resource r;
    for (auto _ : state) {
        void* p = r.allocate(n, 16);
        escape(p);
        r.deallocate(p, n, 16);
    }
}
BENCHMARK(BM_PmrSyncPair)->Apply(apply_sizes);

#if ZIGGY_HAVE_FOONATHAN
void BM_FoonathanPoolPair(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    foonathan::memory::memory_pool<> pool(n,
                                          foonathan::memory::memory_pool<>::min_block_size(n, 256));
    for (auto _ : state) {
        void* p = pool.allocate_node();
        escape(p);
        pool.deallocate_node(p);
    }
}
BENCHMARK(BM_FoonathanPoolPair)->Apply(apply_sizes);
#endif

// The floor: an intrusive singly linked free list, pop and push, no checks.
struct FreeNode {
    FreeNode* next;
};

// `Head` is `FreeNode*` for the floor proper (the head stays in a register)
// and `FreeNode* volatile` for the head in memory, as every allocator keeps
// it (the list outlives the call): each pop and push loads and stores the
// head. (A volatile pointer to a plain head was optimised into a register by
// g++ 12; the head itself must be the volatile object.)
template <class Head>
[[gnu::always_inline]] inline void free_list_pop_push(Head& head) {
    FreeNode* p = head;
    head = p->next;
    escape(p);
    p->next = head;
    head = p;
}

template <class Head>
void free_list_floor_pair(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<std::max_align_t> storage(n / sizeof(std::max_align_t) + 1);
    Head head = reinterpret_cast<FreeNode*>(storage.data());
    head->next = nullptr;
    for (auto _ : state) free_list_pop_push(head);
}

void BM_FreeListFloorPair(benchmark::State& state) { free_list_floor_pair<FreeNode*>(state); }
BENCHMARK(BM_FreeListFloorPair)->Apply(apply_sizes);

void BM_FreeListMemoryFloorPair(benchmark::State& state) {
    free_list_floor_pair<FreeNode* volatile>(state);
}
BENCHMARK(BM_FreeListMemoryFloorPair)->Apply(apply_sizes);

// ---- 1000 allocations, then 1000 frees ----------------------------------

constexpr std::size_t batch = 1000;

void BM_MallocBatch(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<void*> ptrs(batch);
    for (auto _ : state) {
        for (auto& p : ptrs) p = std::malloc(n);
        escape(ptrs.data());
        for (void* p : ptrs) std::free(p);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
    state.SetLabel(ZIGGY_BENCH_PEER);
}
BENCHMARK(BM_MallocBatch)->Arg(64);

void BM_PoolBufferBatch(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    ziggy::UnmanagedMemoryPool pool;
    std::vector<ziggy::Buffer<unsigned char>> bufs(batch);
    for (auto _ : state) {
        for (auto& b : bufs) b = pool.allocate<unsigned char>(n);
        escape(bufs.data());
        for (auto& b : bufs) b.reset();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
}
BENCHMARK(BM_PoolBufferBatch)->Arg(64);

// The same through the fast paths alone (no Buffer), freeing by pointer
// alone (deallocate_inline, as free(void*) goes) or by size
// (Allocator::deallocate_bytes, as a Buffer frees).
template <bool Sized>
void pool_raw_batch(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    ziggy::UnmanagedMemoryPool pool;
    std::vector<void*> ptrs(batch);
    for (auto _ : state) {
        for (auto& p : ptrs) p = pool.allocate_inline(n, 16, false);
        escape(ptrs.data());
        for (void* p : ptrs) {
            if constexpr (Sized)
                pool.deallocate_bytes(p, n);
            else
                pool.deallocate_inline(p);
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
}

void BM_PoolInlineBatch(benchmark::State& state) { pool_raw_batch<false>(state); }
BENCHMARK(BM_PoolInlineBatch)->Arg(64);

void BM_PoolSizedBatch(benchmark::State& state) { pool_raw_batch<true>(state); }
BENCHMARK(BM_PoolSizedBatch)->Arg(64);

// The same through the bulk calls: one allocate_bulk for the 1000 blocks
// and one deallocate_bulk (sized frees) for them; on the pool, and on a
// HybridAllocator (64 B: its pooled route, the same pool's bulk calls after
// its route test).
template <class A>
void raw_bulk_batch(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    A a;
    std::vector<void*> ptrs(batch);
    for (auto _ : state) {
        a.allocate_bulk(ptrs, n, 16);
        escape(ptrs.data());
        a.deallocate_bulk(ptrs, n, 16);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
}
void BM_PoolBulkBatch(benchmark::State& state) {
    raw_bulk_batch<ziggy::UnmanagedMemoryPool>(state);
}
BENCHMARK(BM_PoolBulkBatch)->Arg(64);
void BM_HybridBulkBatch(benchmark::State& state) { raw_bulk_batch<ziggy::HybridAllocator>(state); }
BENCHMARK(BM_HybridBulkBatch)->Arg(64);

// And through the Buffer API: allocate_bulk<T> fills the 1000 Buffers,
// deallocate_bulk<T> empties them.
template <class A>
void buffer_bulk_batch(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    A a;
    std::vector<ziggy::Buffer<unsigned char>> bufs(batch);
    for (auto _ : state) {
        a.template allocate_bulk<unsigned char>(bufs, n);
        escape(bufs.data());
        a.template deallocate_bulk<unsigned char>(bufs);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
}
void BM_PoolBufferBulkBatch(benchmark::State& state) {
    buffer_bulk_batch<ziggy::UnmanagedMemoryPool>(state);
}
BENCHMARK(BM_PoolBufferBulkBatch)->Arg(64);
void BM_HybridBufferBulkBatch(benchmark::State& state) {
    buffer_bulk_batch<ziggy::HybridAllocator>(state);
}
BENCHMARK(BM_HybridBufferBulkBatch)->Arg(64);

#if defined(ZIGGY_BENCH_JEMALLOC)
// The peer with a bulk call of its own: jemalloc 5.3's
// `experimental.batch_alloc` mallctl fills the 1000 pointers in one call
// (the rest, if it fills fewer, from malloc), and sdallocx (jemalloc's sized
// free) frees them one by one, as jemalloc has no bulk free.
extern "C" void sdallocx(void*, std::size_t, int);
struct JemallocBatchPacket { // jemalloc's batch_alloc_packet_t
    void** ptrs;
    std::size_t num;
    std::size_t size;
    int flags;
};
void BM_JemallocBulkBatch(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<void*> ptrs(batch);
    for (auto _ : state) {
        JemallocBatchPacket packet{ptrs.data(), batch, n, 0};
        std::size_t filled = 0;
        std::size_t len = sizeof(filled);
        if (mallctl("experimental.batch_alloc", &filled, &len, &packet, sizeof(packet)) != 0)
            filled = 0;
        for (std::size_t i = filled; i < batch; ++i) ptrs[i] = std::malloc(n);
        escape(ptrs.data());
        for (void* p : ptrs) sdallocx(p, n, 0);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
    state.SetLabel(ZIGGY_BENCH_PEER);
}
BENCHMARK(BM_JemallocBulkBatch)->Arg(64);
#endif

void BM_PmrUnsyncBatch(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::pmr::unsynchronized_pool_resource r;
    std::vector<void*> ptrs(batch);
    for (auto _ : state) {
        for (auto& p : ptrs) p = r.allocate(n, 16);
        escape(ptrs.data());
        for (void* p : ptrs) r.deallocate(p, n, 16);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
}
BENCHMARK(BM_PmrUnsyncBatch)->Arg(64);

#if ZIGGY_HAVE_FOONATHAN
void BM_FoonathanPoolBatch(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    foonathan::memory::memory_pool<> pool(
        n, foonathan::memory::memory_pool<>::min_block_size(n, batch));
    std::vector<void*> ptrs(batch);
    for (auto _ : state) {
        for (auto& p : ptrs) p = pool.allocate_node();
        escape(ptrs.data());
        for (void* p : ptrs) pool.deallocate_node(p);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
}
BENCHMARK(BM_FoonathanPoolBatch)->Arg(64);
#endif

// ---- the batch, modelled: what each piece of the pool's fast paths costs --
//
// BM_PoolSizedBatch's loops over a model of the pool's thread cache as it
// was until stop 31 (a hot slot and an array stack over a null slot, 32
// bytes a list, the hot slot and counters in the cache; since stop 32 those
// are in the thread's TLS slot, and since stop 48 a list's hot slot, stack
// and hit count are again one 32-byte entry, there: detail::PoolFrontList),
// the cache found by
// one load a call (the pool's is %fs-relative; here a volatile pointer),
// the list by the pool's own size-class lookup, the counters by the pool's
// own `bump`. No slow path: the stack holds the whole batch. Each piece the
// pool adds to a bare stack can be switched off: the block header (written
// by each allocation and each free), the three counters (hits, bytes
// allocated, bytes freed), and the sized free's check of the header.
// BM_BatchModel<false, false, false> is a floor for the batch; <true, true,
// true> a lower bound for BM_PoolSizedBatch, which also loads the pool's TLS
// place and the allocator's, tests the pointer for null and the allocator
// for a pool, and finds its cache %fs-relative.
namespace batch_model {

struct List {
    std::uintptr_t hot = ziggy::detail::pool_hot_empty;
    void** top = nullptr;
    void** end = nullptr;
    std::atomic<std::uint64_t> pops{0};
};
struct alignas(64) Cache {
    List lists[ziggy::detail::pool_list_count + 1];
    std::atomic<std::uint64_t> allocated_bytes{0};
    std::atomic<std::uint64_t> freed_bytes{0};
};
Cache* volatile current_cache = nullptr;

template <bool Header, bool Counters>
[[gnu::always_inline]] inline void* pop(std::size_t n) {
    using namespace ziggy::detail;
    Cache* cache = current_cache;
    const std::size_t list = pool_list_index(n, 16);
    List& l = cache->lists[list];
    void* p = nullptr;
    if (pool_hot_holds(l.hot)) {
        p = pool_hot_block(l.hot);
        l.hot = pool_hot_empty;
    } else {
        void** top = l.top;
        p = top[-1];
        if (p == nullptr) std::abort(); // the stack holds the whole batch
        l.top = top - 1;
    }
    // The pool's word: the header holds it, and the byte counters add it
    // (its low 48 bits are the size, detail::pool_info).
    const std::uint64_t info = pool_info(n, list);
    if constexpr (Header) pool_header_of(p)->info = info;
    if constexpr (Counters) {
        bump_one(l.pops);
        bump(cache->allocated_bytes, info);
    }
    return p;
}

template <bool Header, bool Counters, bool Check>
[[gnu::always_inline]] inline void push(void* p, std::size_t n) {
    using namespace ziggy::detail;
    Cache* cache = current_cache;
    const std::size_t list = pool_list_index(n, 16);
    List& l = cache->lists[list];
    const std::uintptr_t hot = l.hot;
    const std::uint64_t info = pool_info(n, list);
    if constexpr (Check)
        if (pool_header_of(p)->info != info) std::abort();
    if constexpr (Counters) bump(cache->freed_bytes, info);
    if (hot == pool_hot_empty) {
        l.hot = reinterpret_cast<std::uintptr_t>(p);
    } else {
        void** top = l.top;
        if (top == l.end) std::abort();
        l.top = top + 1;
        l.hot = reinterpret_cast<std::uintptr_t>(p);
        *top = pool_hot_block(hot);
    }
    if constexpr (Header) pool_header_of(p)->info = pool_freed_info;
}

} // namespace batch_model

template <bool Header, bool Counters, bool Check>
void BM_BatchModel(benchmark::State& state) {
    using namespace ziggy::detail;
    const auto n = static_cast<std::size_t>(state.range(0));
    batch_model::Cache cache;
    batch_model::current_cache = &cache;
    batch_model::List& l = cache.lists[pool_list_index(n, 16)];
    std::vector<void*> stack(batch + 1, nullptr); // stack[0]: the null slot
    l.top = stack.data() + 1;
    l.end = stack.data() + stack.size();
    // Blocks as the pool's: [16-byte gap ending in the header][n bytes], from malloc.
    std::vector<void*> blocks(batch);
    for (auto& b : blocks) {
        b = std::malloc(pool_header_size + n);
        void* user = static_cast<char*>(b) + pool_header_size;
        pool_header_of(user)->info = pool_info(n, pool_list_index(n, 16));
        batch_model::push<false, false, false>(user, n); // the header stays allocated: Check passes
    }
    std::vector<void*> ptrs(batch);
    for (auto _ : state) {
        for (auto& p : ptrs) p = batch_model::pop<Header, Counters>(n);
        escape(ptrs.data());
        for (void* p : ptrs) batch_model::push<Header, Counters, Check>(p, n);
    }
    for (auto& b : blocks) std::free(b);
    batch_model::current_cache = nullptr;
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
}
BENCHMARK_TEMPLATE(BM_BatchModel, false, false, false)->Arg(64);
BENCHMARK_TEMPLATE(BM_BatchModel, true, false, false)->Arg(64);
BENCHMARK_TEMPLATE(BM_BatchModel, false, true, false)->Arg(64);
BENCHMARK_TEMPLATE(BM_BatchModel, false, false, true)->Arg(64);
BENCHMARK_TEMPLATE(BM_BatchModel, true, true, false)->Arg(64);
BENCHMARK_TEMPLATE(BM_BatchModel, true, true, true)->Arg(64);

// ---- threads: one shared allocator, pairs on every thread ----------------

// Shared by every thread of every thread benchmark (never destroyed: thread
// caches of Google Benchmark's threads may outlive a benchmark).
ziggy::UnmanagedMemoryPool& shared_pool() {
    static auto* pool = new ziggy::UnmanagedMemoryPool();
    return *pool;
}

std::pmr::synchronized_pool_resource& shared_pmr_sync() {
    static auto* r = new std::pmr::synchronized_pool_resource();
    return *r;
}

// `n` 64 B Buffer pairs on `pool` (the in-turn thread benchmarks' job).
void pool_pairs(ziggy::UnmanagedMemoryPool& pool, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        auto b = pool.allocate<unsigned char>(64);
        escape(b.data());
    }
}

void BM_PoolPairThreads(benchmark::State& state) {
    ziggy::UnmanagedMemoryPool* pool = &shared_pool();
    for (auto _ : state) {
        auto b = pool->allocate<unsigned char>(64);
        escape(b.data());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PoolPairThreads)->Threads(1)->Threads(2)->UseRealTime();

void BM_PmrSyncPairThreads(benchmark::State& state) {
    std::pmr::synchronized_pool_resource* r = &shared_pmr_sync();
    for (auto _ : state) {
        void* p = r->allocate(64, 16);
        escape(p);
        r->deallocate(p, 64, 16);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PmrSyncPairThreads)->Threads(1)->Threads(2)->UseRealTime();

void BM_MallocPairThreads(benchmark::State& state) {
    for (auto _ : state) {
        void* p = std::malloc(64);
        escape(p);
        std::free(p);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetLabel(ZIGGY_BENCH_PEER);
}
BENCHMARK(BM_MallocPairThreads)->Threads(1)->Threads(2)->UseRealTime();

// ---- hybrid against each of its routes, at and past each threshold -------

struct Vec4 { // 16 bytes: a "larger struct"
    float x, y, z, w;
};
struct Vec3 { // 12 bytes: a "larger struct" whose limit is computed (a minimum)
    float x, y, z;
};
struct Rgb { // 3 bytes: a limit computed by a division
    std::uint8_t r, g, b;
};

// Counts just past the seed's threshold (C#'s defaults, which ziggyalloc's
// replaced), a quarter of the default limit, at and past it, and 4x it.
template <class T>
void hybrid_counts(benchmark::internal::Benchmark* b) {
    const std::size_t seed = sizeof(T) == 1   ? 1024
                             : sizeof(T) == 4 ? 512
                             : sizeof(T) == 8 ? 128
                                              : 64;
    // The limit allocate<T> applies (the threshold within the classes'
    // 32 KiB), so that t + 1 is the first direct count.
    const std::size_t t = ziggy::HybridAllocator().pooled_count_limit<T>();
    for (std::size_t c : {seed + 1, t / 4, t, t + 1, 4 * t}) b->Arg(static_cast<std::int64_t>(c));
}

template <class T>
void BM_HybridTyped(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    ziggy::HybridAllocator h;
    for (auto _ : state) {
        auto b = h.allocate<T>(n);
        escape(b.data());
    }
    state.SetLabel(h.route_for<T>(n) == ziggy::Route::pooled ? "pooled" : "direct");
    state.counters["retained_bytes"] = static_cast<double>(h.pool().retained_bytes());
}

template <class T>
void BM_PooledRouteTyped(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    ziggy::UnmanagedMemoryPool pool;
    for (auto _ : state) {
        auto b = pool.allocate<T>(n);
        escape(b.data());
    }
    state.counters["retained_bytes"] = static_cast<double>(pool.retained_bytes());
}

template <class T>
void BM_DirectRouteTyped(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    ziggy::SystemAllocator& sys = ziggy::default_allocator();
    for (auto _ : state) {
        auto b = sys.allocate<T>(n);
        escape(b.data());
    }
}

// The hybrid and the route it takes (a pool of its own, or the backing
// allocator), measured in one loop: blocks of 256 pairs of each, in turn,
// alternating which goes first, each block timed on its own (less the cost
// of reading the clock, measured first). Past the thresholds a pair is a
// large malloc and free, whose cost changes with the malloc's state (the
// same request has read 25 ns in one benchmark and 36 ns in the next, and
// 170 or 280 ns with jemalloc); in turn, both sides see the same state.
//
// Where each side's objects and code sit matters as much as what they do,
// on this core: a pair is a few nanoseconds, and
// - at about 3% of stack placements (stop 24, shifting the stack with
//   address randomisation off) one side read 1.1-4.5x slower, most likely
//   4K aliasing between reloads of the allocator objects' fields (then on
//   the stack) and heap stores;
// - with the objects off the stack and the count in a register, the same
//   loops, compiled once, read the hybrid at a steady 1.19x the pool for
//   bytes and 0.87-0.89x for 4-byte elements in every binary and at every
//   stack shift, while the same two paths as separate benchmarks (other
//   copies of the code) read the other way round (stop 25).
// So each side has `placements` objects of its own, each at another offset
// in a page of its own (PlacedObjects), and `code_copies` copies of its loop
// (`pairs_block<T, Copy, A>`), each shifted 16 bytes further from its function's
// start (`code_shift`; functions are 16-byte aligned, so two copies may
// still share an offset from a 64-byte line, and the copies differ in the
// higher address bits anyway); successive pairs of iterations (one of each
// order) take the next object placement and the next code copy, so every
// combination is measured. The counter `hybrid_per_route` is the (upper)
// median, over the combinations, of each one's median (over its iterations) of the hybrid
// block's time over the route block's; `placement_min` and `placement_max`
// are the lowest and highest of those medians, `hybrid_pair_ns` and
// `route_pair_ns` each side's pair (the median over its blocks).
using steady = std::chrono::steady_clock;

steady::duration clock_read_cost() {
    std::vector<steady::duration> reads(101);
    for (auto& r : reads) {
        const auto t0 = steady::now();
        r = steady::now() - t0;
    }
    std::nth_element(reads.begin(), reads.begin() + 50, reads.end());
    return reads[50];
}

template <class F>
double timed_ns(F&& block, steady::duration clock_cost) {
    const auto t0 = steady::now();
    block();
    const auto t = steady::now() - t0 - clock_cost;
    return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(t).count());
}

double median_of(std::vector<double> v) {
    const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
    std::nth_element(v.begin(), mid, v.end());
    return *mid;
}

constexpr std::size_t placements = 5;
constexpr std::size_t code_copies = 4;
constexpr std::size_t page = 4096;
constexpr int pairs_per_block = 256;

// `placements` objects of type A, object i in page 2i of a page-aligned
// region, at byte offset `first + i * step` (mod a page, within the page,
// rounded down to A's alignment): the low twelve bits of their addresses
// differ, and so does what they alias.
template <class A>
class PlacedObjects {
public:
    PlacedObjects(std::size_t first, std::size_t step)
        : region_(static_cast<std::byte*>(
              ::operator new (placements * 2 * page, std::align_val_t{page}))) {
        static_assert(sizeof(A) <= page && alignof(A) <= page);
        std::size_t made = 0;
        try {
            for (; made < placements; ++made) {
                std::size_t offset = (first + made * step) % page;
                offset = std::min(offset, page - sizeof(A)) / alignof(A) * alignof(A);
                objects_[made] = new (region_ + 2 * made * page + offset) A();
            }
        } catch (...) {
            while (made > 0) objects_[--made]->~A();
            ::operator delete (region_, std::align_val_t{page});
            throw;
        }
    }
    PlacedObjects(const PlacedObjects&) = delete;
    PlacedObjects& operator=(const PlacedObjects&) = delete;
    PlacedObjects(PlacedObjects&&) = delete;
    PlacedObjects& operator=(PlacedObjects&&) = delete;
    ~PlacedObjects() {
        for (A* o : objects_) o->~A();
        ::operator delete (region_, std::align_val_t{page});
    }
    A& operator[](std::size_t i) { return *objects_[i]; }

private:
    std::byte* region_;
    A* objects_[placements] = {};
};

// Moves the code after it by `Copy` x 16 bytes (nops, run once a block),
// so that each copy's loop starts at another offset from its function's.
template <int Copy>
[[gnu::always_inline]] inline void code_shift() {
#if defined(__x86_64__)
    // (`.if`: copy 0 skips nothing, and gas warns of a zero-byte `.skip`.)
    asm volatile(".if %c0\n\t.skip %c0, 0x90\n\t.endif" : : "i"(Copy * 16));
#endif
}

// One block of pairs on one side (the hybrid, the pool alone, or the
// backing): noinline, each copy a function of its own, the count a
// parameter (in a register, not reloaded after `escape`).
template <class T, int Copy, class A>
[[gnu::noinline]] void pairs_block(A& allocator, std::size_t n) {
    code_shift<Copy>();
    for (int i = 0; i < pairs_per_block; ++i) {
        auto b = allocator.template allocate<T>(n);
        escape(b.data());
    }
}

// The `code_copies` copies of pairs_block<T, Copy, A>.
template <class T, class A>
using PairsBlock = void (*)(A&, std::size_t);
template <class T, class A, int... Copy>
constexpr std::array<PairsBlock<T, A>, sizeof...(Copy)> pairs_blocks(
    std::integer_sequence<int, Copy...>) {
    return {pairs_block<T, Copy, A>...};
}
template <class T, class A>
constexpr auto block_copies = pairs_blocks<T, A>(std::make_integer_sequence<int, code_copies>{});

template <class T>
void BM_HybridInTurnWithRoute(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    // Offsets spread over a page, and the two sides' apart.
    PlacedObjects<ziggy::HybridAllocator> hybrids(0, 832);
    PlacedObjects<ziggy::UnmanagedMemoryPool> pools(416, 832);
    ziggy::SystemAllocator& sys = ziggy::default_allocator();
    const bool pooled = hybrids[0].route_for<T>(n) == ziggy::Route::pooled;
    constexpr auto& hybrid_blocks = block_copies<T, ziggy::HybridAllocator>;
    constexpr auto& pool_blocks = block_copies<T, ziggy::UnmanagedMemoryPool>;
    constexpr auto& system_blocks = block_copies<T, ziggy::SystemAllocator>;
    const steady::duration clock_cost = clock_read_cost();
    constexpr std::size_t combinations = placements * code_copies;
    // Round r takes placement r mod 5 and copy r mod 4: every combination
    // once in 20 rounds, as the two counts are coprime.
    static_assert(std::gcd(placements, code_copies) == 1);
    std::vector<double> ratios[combinations];
    std::vector<double> hybrid_times;
    std::vector<double> route_times;
    std::size_t iteration = 0;
    for (auto _ : state) {
        const std::size_t round = iteration / 2;
        const std::size_t at = round % placements;
        const std::size_t copy = round % code_copies;
        ziggy::HybridAllocator& h = hybrids[at];
        ziggy::UnmanagedMemoryPool& pool = pools[at];
        const auto run_hybrid = [&] { hybrid_blocks[copy](h, n); };
        const auto run_route = [&] {
            if (pooled)
                pool_blocks[copy](pool, n);
            else
                system_blocks[copy](sys, n);
        };
        double hybrid_ns = 0;
        double route_ns = 0;
        if (iteration % 2 == 0) {
            hybrid_ns = timed_ns(run_hybrid, clock_cost);
            route_ns = timed_ns(run_route, clock_cost);
        } else {
            route_ns = timed_ns(run_route, clock_cost);
            hybrid_ns = timed_ns(run_hybrid, clock_cost);
        }
        if (route_ns > 0) ratios[at * code_copies + copy].push_back(hybrid_ns / route_ns);
        hybrid_times.push_back(hybrid_ns / pairs_per_block);
        route_times.push_back(route_ns / pairs_per_block);
        ++iteration;
    }
    state.SetLabel(pooled ? "pooled" : "direct");
    std::vector<double> medians;
    for (auto& r : ratios)
        if (!r.empty()) medians.push_back(median_of(r));
    if (!medians.empty()) {
        state.counters["hybrid_per_route"] = median_of(medians);
        state.counters["placement_min"] = *std::min_element(medians.begin(), medians.end());
        state.counters["placement_max"] = *std::max_element(medians.begin(), medians.end());
        // Each side's pair, ns (the median over every block of that side).
        state.counters["hybrid_pair_ns"] = median_of(hybrid_times);
        state.counters["route_pair_ns"] = median_of(route_times);
    }
}

// Two threads against one, measured in turn. Each iteration runs each job
// on this thread alone, then on two threads (this one and a helper, started
// together), alternating which goes first, and times both (two threads: from
// the start until both are done). A job's counter is the median, over the
// iterations, of throughput at two threads over that at one (2 x one
// thread's time / two threads' time). Between its blocks the helper waits on
// a condition variable, so a one-thread block runs with the other core idle.
//
// Every benchmark here also runs three controls in the same iterations, so
// that the host's share of the ratio shows. This host's second vCPU is
// shared (in one session glibc malloc's own pair scaled anywhere from 1.07
// to 1.97 between runs a second apart, with no steal time reported):
// - `multiply_two_per_one`: a chain of multiplies in a register (latency
//   bound, touches no memory): whether the host gave a second core at all;
// - `own_pool_two_per_one`: the same 64 B pairs, each thread on a pool of
//   its own (nothing shared, the same instructions as the shared pool);
// - `floor_two_per_one`: each thread's own free list, head in memory (the
//   memory floor's loop).
// The last two are what code that shares nothing between threads gets from
// the host in those iterations; the shared pool reading below them would be
// the cost of sharing.
class ScalingInTurn {
public:
    struct Job {
        const char* counter;
        std::function<void(int thread)> run; // thread 0 (this one) or 1 (the helper)
    };

    static void measure(benchmark::State& state, Job work) {
        std::vector<Job> jobs = {std::move(work),
                                 {"multiply_two_per_one", multiply_chain},
                                 {"own_pool_two_per_one", own_pool_pairs},
                                 {"floor_two_per_one", own_free_list_pairs}};
        ScalingInTurn s;
        std::thread helper([&] { s.helper_loop(jobs); });
        std::vector<std::vector<double>> ratios(jobs.size());
        bool one_first = true;
        for (auto _ : state) {
            for (std::size_t j = 0; j < jobs.size(); ++j)
                ratios[j].push_back(s.ratio(one_first, j, jobs[j]));
            one_first = !one_first;
        }
        {
            std::lock_guard lock(s.mutex_);
            s.quit_ = true;
        }
        s.wake_.notify_one();
        helper.join();
        for (std::size_t j = 0; j < jobs.size(); ++j)
            state.counters[jobs[j].counter] = median(ratios[j]);
    }

private:
    // Each job is a few milliseconds on one thread on this machine.
    static void multiply_chain(int) {
        std::uint64_t x = 0x9E3779B97F4A7C15u;
        for (std::size_t i = 0; i < (std::size_t{1} << 22); ++i) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            asm volatile("" : "+r"(x)); // one step per iteration, in a register
        }
        ziggy_bench::keep(x);
    }

    static void own_pool_pairs(int thread) {
        static auto* pools = new ziggy::UnmanagedMemoryPool[2]; // never destroyed
        pool_pairs(pools[thread], std::size_t{1} << 20);
    }

    static void own_free_list_pairs(int) {
        FreeNode node{nullptr};
        FreeNode* volatile head = &node; // in memory, as in BM_FreeListMemoryFloorPair
        for (std::size_t i = 0; i < (std::size_t{1} << 22); ++i) free_list_pop_push(head);
    }

    static double median(std::vector<double>& v) {
        if (v.empty()) return 0;
        const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
        std::nth_element(v.begin(), mid, v.end());
        return *mid;
    }

    static std::int64_t now_ns() {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   steady::now().time_since_epoch())
            .count();
    }
    static void pause() {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#else
        std::this_thread::yield();
#endif
    }

    double ratio(bool one_first, std::size_t job_index, const Job& job) {
        double one = 0;
        double two = 0;
        if (one_first) {
            one = one_thread(job);
            two = two_threads(job_index, job);
        } else {
            two = two_threads(job_index, job);
            one = one_thread(job);
        }
        return two > 0 ? 2.0 * one / two : 0;
    }

    static double one_thread(const Job& job) {
        const std::int64_t t0 = now_ns();
        job.run(0);
        return static_cast<double>(now_ns() - t0);
    }

    double two_threads(std::size_t job_index, const Job& job) {
        ready_.store(false, std::memory_order_relaxed);
        go_.store(false, std::memory_order_relaxed);
        done_.store(false, std::memory_order_relaxed);
        {
            std::lock_guard lock(mutex_);
            job_ = job_index;
            ++round_;
        }
        wake_.notify_one();
        while (!ready_.load(std::memory_order_acquire)) pause();
        const std::int64_t start = now_ns();
        go_.store(true, std::memory_order_release);
        job.run(0);
        const std::int64_t mine = now_ns();
        while (!done_.load(std::memory_order_acquire)) pause();
        return static_cast<double>(std::max(mine, helper_end_) - start);
    }

    void helper_loop(const std::vector<Job>& jobs) {
        std::uint64_t seen = 0;
        for (;;) {
            std::size_t job = 0;
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [&] { return quit_ || round_ != seen; });
                if (quit_) return;
                seen = round_;
                job = job_;
            }
            ready_.store(true, std::memory_order_release);
            while (!go_.load(std::memory_order_acquire)) pause();
            jobs[job].run(1);
            helper_end_ = now_ns();
            done_.store(true, std::memory_order_release); // publishes helper_end_
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::uint64_t round_ = 0;
    std::size_t job_ = 0;
    bool quit_ = false;
    std::atomic<bool> ready_{false};
    std::atomic<bool> go_{false};
    std::atomic<bool> done_{false};
    std::int64_t helper_end_ = 0;
};

void BM_PoolScalingInTurn(benchmark::State& state) {
    ScalingInTurn::measure(
        state, {"two_per_one", [](int) { pool_pairs(shared_pool(), std::size_t{1} << 20); }});
}
BENCHMARK(BM_PoolScalingInTurn)->UseRealTime()->MinTime(0.3);

void BM_PmrSyncScalingInTurn(benchmark::State& state) {
    ScalingInTurn::measure(state, {"two_per_one", [](int) {
                                       std::pmr::synchronized_pool_resource& r = shared_pmr_sync();
                                       for (std::size_t i = 0; i < (std::size_t{1} << 14); ++i) {
                                           void* p = r.allocate(64, 16);
                                           escape(p);
                                           r.deallocate(p, 64, 16);
                                       }
                                   }});
}
BENCHMARK(BM_PmrSyncScalingInTurn)->UseRealTime()->MinTime(0.3);

void BM_MallocScalingInTurn(benchmark::State& state) {
    ScalingInTurn::measure(state, {"two_per_one", [](int) {
                                       for (std::size_t i = 0; i < (std::size_t{1} << 18); ++i) {
                                           void* p = std::malloc(64);
                                           escape(p);
                                           std::free(p);
                                       }
                                   }});
    state.SetLabel(ZIGGY_BENCH_PEER);
}
BENCHMARK(BM_MallocScalingInTurn)->UseRealTime()->MinTime(0.3);

#define ZIGGY_HYBRID_BENCH(T)                                            \
    BENCHMARK_TEMPLATE(BM_HybridTyped, T)->Apply(hybrid_counts<T>);      \
    BENCHMARK_TEMPLATE(BM_PooledRouteTyped, T)->Apply(hybrid_counts<T>); \
    BENCHMARK_TEMPLATE(BM_DirectRouteTyped, T)->Apply(hybrid_counts<T>); \
    BENCHMARK_TEMPLATE(BM_HybridInTurnWithRoute, T)->Apply(hybrid_counts<T>);

ZIGGY_HYBRID_BENCH(std::uint8_t)
ZIGGY_HYBRID_BENCH(std::uint32_t)
ZIGGY_HYBRID_BENCH(double)
ZIGGY_HYBRID_BENCH(Vec4)
ZIGGY_HYBRID_BENCH(Vec3)
ZIGGY_HYBRID_BENCH(Rgb)

} // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    benchmark::AddCustomContext("malloc", ZIGGY_BENCH_PEER);
    benchmark::AddCustomContext("malloc_linked", peer_version != 0 ? "yes" : "default");
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
