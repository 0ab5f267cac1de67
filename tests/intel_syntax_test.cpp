// Built with -masm=intel (tests/meson.build, x86-64 only): the headers' inline
// asm (the size-class lookup, the pool's counters and its TLS slot load) has an
// Intel-syntax form, so a user's translation unit compiled that way builds and
// its pool fast paths work. The library itself is the ordinary build.
#include <ziggy/hybrid_allocator.hpp>
#include <ziggy/unmanaged_memory_pool.hpp>

#include <ziggy/detail/size_classes.hpp>

#include "tracking_allocator.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>

namespace {

// The asm dialect this file was compiled in: 2 for Intel, 1 for AT&T.
int asm_dialect() {
    int value = 0;
    asm("{movl $1, %0|mov %0, 2}" : "=r"(value));
    return value;
}

TEST(IntelSyntaxTest, ThisFileIsCompiledWithIntelSyntax) { EXPECT_EQ(asm_dialect(), 2); }

// The run-time lookup (asm) agrees with the constexpr table at every size,
// and declines 0 and sizes past the classes.
TEST(IntelSyntaxTest, SizeClassLookupMatchesTheTable) {
    using namespace ziggy::detail;
    volatile std::size_t limit = max_class_size; // a size the compiler cannot fold
    for (std::size_t n = 1; n <= limit; ++n)
        ASSERT_EQ(size_class_index(n), size_class_index_computed(n)) << n;
    volatile std::size_t zero = 0;
    EXPECT_EQ(size_class_index(zero), no_size_class);
    EXPECT_EQ(size_class_index(limit + 1), no_size_class);
}

// The inline fast paths (TLS slot load, counters) keep exact statistics and
// byte counts, and a freed block comes back.
TEST(IntelSyntaxTest, PoolFastPathsCountExactly) {
    ziggy_test::TrackingAllocator base;
    ziggy::UnmanagedMemoryPool pool(base);
    const std::uint8_t* first = nullptr;
    {
        auto buffer = pool.allocate<std::uint8_t>(64);
        first = buffer.data();
        EXPECT_EQ(pool.total_allocated_bytes(), 64U);
    }
    EXPECT_EQ(pool.total_allocated_bytes(), 0U);
    for (int i = 0; i < 10; ++i) {
        auto buffer = pool.allocate<std::uint8_t>(64);
        EXPECT_EQ(buffer.data(), first);
        buffer.fill(static_cast<std::uint8_t>(i));
        EXPECT_EQ(pool.total_allocated_bytes(), 64U);
    }
    void* raw = pool.allocate<std::uint64_t>(3).release();
    EXPECT_EQ(pool.total_allocated_bytes(), 24U);
    pool.free(raw);
    EXPECT_EQ(pool.total_allocated_bytes(), 0U);
    const ziggy::PoolStatistics stats = pool.statistics();
    EXPECT_EQ(stats.misses, 2U);
    EXPECT_EQ(stats.hits, 10U);
    pool.clear();
    EXPECT_EQ(base.total_allocated_bytes(), 0U);
}

TEST(IntelSyntaxTest, HybridRoutesAndFrees) {
    ziggy_test::TrackingAllocator base;
    ziggy::HybridAllocator hybrid(base);
    {
        auto pooled = hybrid.allocate<double>(16);
        auto direct = hybrid.allocate<double>(8192);
        pooled.fill(1.5);
        direct.fill(2.5);
        EXPECT_EQ(hybrid.total_allocated_bytes(), (16U + 8192U) * sizeof(double));
    }
    EXPECT_EQ(hybrid.total_allocated_bytes(), 0U);
    EXPECT_EQ(hybrid.pool().statistics().direct_allocations, 1U);
    hybrid.pool().clear();
    EXPECT_EQ(base.total_allocated_bytes(), 0U);
}

} // namespace
