// Pools past the ids a TLS key holds. In a program of its own: once the
// next pool id is raised, every later pool in the process has no TLS slot,
// and the other pool tests must run with slots.
#include <ziggy/unmanaged_memory_pool.hpp>

#include "tracking_allocator.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace {

using ziggy::UnmanagedMemoryPool;
using ziggy_test::TrackingAllocator;

// Pools whose ids do not fit the 32 bits of a TLS key (a process gets there
// after four billion pools) have no slot: every operation takes the slow
// path, which finds the thread's cache by id. Everything works as usual, and
// such a pool never takes the cache of a pool whose id equals its own in the
// low 32 bits: `early` (the first pool of this program, id 1) has a pooled
// block in its cache, and pools 2^32 - 2 .. 2^32 + 5 (the last six without a
// slot) must each miss and allocate their own.
TEST(UnmanagedMemoryPoolTest, PoolsPastTheKeyedIdsWorkWithoutASlot) {
    TrackingAllocator base;
    UnmanagedMemoryPool early(base);
    void* early_block = early.allocate<std::uint8_t>(64).data(); // freed: in early's cache
    ziggy::detail::raise_next_pool_id(ziggy::detail::pool_max_keyed_id - 1);
    std::vector<std::unique_ptr<UnmanagedMemoryPool>> pools;
    for (int i = 0; i < 8; ++i) pools.push_back(std::make_unique<UnmanagedMemoryPool>(base));
    for (auto& pool : pools) {
        auto a = pool->allocate<std::uint8_t>(64);
        void* first = a.data();
        EXPECT_NE(first, early_block);
        a.reset(); // sized free
        auto b = pool->allocate<std::uint32_t>(16);
        EXPECT_EQ(static_cast<void*>(b.data()), first);
        std::uint32_t* raw = b.release();
        pool->free(raw); // free by pointer
        auto c = pool->allocate<std::uint8_t>(60);
        EXPECT_EQ(static_cast<void*>(c.data()), first);
        EXPECT_EQ(pool->total_allocated_bytes(), 60u);
        auto big = pool->allocate<std::uint8_t>(ziggy::detail::max_class_size + 1); // direct
        std::thread([&] { c.reset(); }).join(); // freed on another thread
        EXPECT_EQ(pool->total_allocated_bytes(), ziggy::detail::max_class_size + 1);
        big.reset();
        const auto stats = pool->statistics();
        EXPECT_EQ(stats.hits, 2u);
        EXPECT_EQ(stats.misses, 1u);
        EXPECT_EQ(stats.direct_allocations, 1u);
        EXPECT_EQ(pool->total_allocated_bytes(), 0u);
    }
    EXPECT_EQ(early.statistics().retained_blocks, 1u); // nobody took early's block
    auto again = early.allocate<std::uint8_t>(64);
    EXPECT_EQ(static_cast<void*>(again.data()), early_block);
    again.reset();
    pools.clear();
    early.clear();
    EXPECT_EQ(base.live_blocks(), 0u);
}

} // namespace
