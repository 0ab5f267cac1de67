#include <ziggy/debug_allocator.hpp>
#include <ziggy/errors.hpp>
#include <ziggy/failing_allocator.hpp>
#include <ziggy/hybrid_allocator.hpp>
#include <ziggy/scoped_allocator.hpp>

#include <ziggy/detail/sanitizer.hpp>

#include "exception_message.hpp"
#include "tracking_allocator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <barrier>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <span>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace {

using ziggy::HybridAllocator;
using ziggy::Route;
using ziggy_test::all_null;
using ziggy_test::TrackingAllocator;

struct Pair { // 8 bytes, like a double
    float x, y;
};
struct Vec3 { // 12 bytes: a "larger struct"
    float x, y, z;
};
struct Vec4 { // 16 bytes: a "larger struct" with a limit of its own (one load)
    float x, y, z, w;
};
struct alignas(16) Quad { // 16 bytes at 16-byte alignment
    std::int32_t v[4];
};
struct Short3 { // 6 bytes: computed threshold
    std::int16_t a, b, c;
};
struct alignas(128) Wide {
    char b[128];
};

// The default thresholds pool every request the pool's classes can hold
// (32 KiB), at and just past each edge, and the seed's old edges are pooled.
TEST(HybridAllocatorTest, DefaultRoutesPoolUpToTheLargestClass) {
    HybridAllocator h;
    EXPECT_EQ(h.route_for<std::uint8_t>(32768), Route::pooled);
    EXPECT_EQ(h.route_for<std::uint8_t>(32769), Route::direct);
    EXPECT_EQ(h.route_for<int>(8192), Route::pooled);
    EXPECT_EQ(h.route_for<int>(8193), Route::direct);
    EXPECT_EQ(h.route_for<double>(4096), Route::pooled);
    EXPECT_EQ(h.route_for<double>(4097), Route::direct);
    EXPECT_EQ(h.route_for<Pair>(4096), Route::pooled);
    EXPECT_EQ(h.route_for<Vec3>(2730), Route::pooled); // 32760 bytes
    EXPECT_EQ(h.route_for<Vec3>(2731), Route::direct); // 32772 bytes
    EXPECT_EQ(h.pooled_count_limit<Vec3>(), 2730u);
    EXPECT_EQ(h.route_for<Vec4>(2048), Route::pooled); // 32 KiB
    EXPECT_EQ(h.route_for<Vec4>(2049), Route::direct);
    // Just past each of the seed's edges (1024 / 512 / 128 / 64 elements).
    EXPECT_EQ(h.route_for<std::uint8_t>(1025), Route::pooled);
    EXPECT_EQ(h.route_for<int>(513), Route::pooled);
    EXPECT_EQ(h.route_for<double>(129), Route::pooled);
    EXPECT_EQ(h.route_for<Vec3>(65), Route::pooled);
}

// Element sizes without their own rule use byte_budget / sizeof(T).
TEST(HybridAllocatorTest, OtherSizesAreComputed) {
    HybridAllocator h;
    EXPECT_EQ(h.max_pooled_count(2), 16384u);
    EXPECT_EQ(h.max_pooled_count(sizeof(Short3)), 32768u / 6);
    EXPECT_EQ(h.route_for<std::int16_t>(16384), Route::pooled);
    EXPECT_EQ(h.route_for<std::int16_t>(16385), Route::direct);
    EXPECT_EQ(h.route_for<Short3>(5461), Route::pooled);
    EXPECT_EQ(h.route_for<Short3>(5462), Route::direct);
}

// Thresholds are configurable.
TEST(HybridAllocatorTest, ThresholdsAreConfigurable) {
    ziggy::HybridThresholds t;
    t.four_byte = 8;
    t.untyped_bytes = 100;
    HybridAllocator h(ziggy::default_allocator(), t);
    EXPECT_EQ(h.route_for<float>(8), Route::pooled);
    EXPECT_EQ(h.route_for<float>(9), Route::direct);
    EXPECT_EQ(h.route_for_bytes(100), Route::pooled);
    EXPECT_EQ(h.route_for_bytes(101), Route::direct);
}

// allocate<T> takes the route route_for<T> names at each edge, for every
// kind of threshold, including thresholds above the largest class (clamped to
// it) and 0 (everything direct): the fast path's one compare against the
// pooled count limit agrees with the documented decision, spelled out here
// from the thresholds.
template <class T>
bool documented_pooled(const HybridAllocator& h, std::size_t count) {
    return count <= h.max_pooled_count(sizeof(T)) &&
           alignof(T) <= ziggy::detail::max_pooled_alignment &&
           count <= ziggy::detail::max_class_size / sizeof(T);
}

template <class T>
void expect_allocations_follow_route(HybridAllocator& h, std::size_t count) {
    const auto before = h.pool().statistics().direct_allocations;
    const bool pooled = h.route_for<T>(count) == Route::pooled;
    EXPECT_EQ(pooled, documented_pooled<T>(h, count)) << sizeof(T) << " x " << count;
    {
        auto b = h.allocate<T>(count);
        ASSERT_EQ(b.size(), count);
    }
    EXPECT_EQ(h.pool().statistics().direct_allocations - before, pooled ? 0u : 1u)
        << sizeof(T) << " x " << count;
    EXPECT_EQ(h.total_allocated_bytes(), 0u);
}

// By default every struct larger than 8 bytes is pooled up to the classes'
// 32 KiB, whatever its size (until stop 29 the limit was 2048 elements for
// all of them, so a 12-byte struct went direct from 24 KiB on), and the
// allocation takes the pool at the limit and the backing just past it.
template <std::size_t N>
struct Chars {
    char c[N];
};
template <class T>
void expect_default_limit_is_the_largest_class() {
    HybridAllocator h;
    const std::size_t limit = ziggy::detail::max_class_size / sizeof(T);
    EXPECT_EQ(h.pooled_count_limit<T>(), limit) << sizeof(T);
    EXPECT_EQ(h.route_for<T>(limit), Route::pooled) << sizeof(T);
    EXPECT_EQ(h.route_for<T>(limit + 1), Route::direct) << sizeof(T);
    expect_allocations_follow_route<T>(h, limit);
    expect_allocations_follow_route<T>(h, limit + 1);
}
TEST(HybridAllocatorTest, DefaultsPoolEveryLargerStructUpToTheLargestClass) {
    expect_default_limit_is_the_largest_class<Chars<9>>();
    expect_default_limit_is_the_largest_class<Vec3>();
    expect_default_limit_is_the_largest_class<Chars<15>>();
    expect_default_limit_is_the_largest_class<Vec4>();
    expect_default_limit_is_the_largest_class<Chars<24>>();
    expect_default_limit_is_the_largest_class<Chars<1000>>();
}

TEST(HybridAllocatorTest, AllocationsMatchTheRouteAtEveryEdge) {
    ziggy::HybridThresholds t;
    t.one_byte = 1u << 20; // above the largest class: 32768 is the limit
    t.four_byte = 10;
    t.eight_byte = 0; // every double direct
    t.large_struct = 7;
    t.byte_budget = 60; // 2-byte elements: 30
    HybridAllocator h(ziggy::default_allocator(), t);
    EXPECT_EQ(h.pooled_count_limit<std::uint8_t>(), ziggy::detail::max_class_size);
    EXPECT_EQ(h.pooled_count_limit<float>(), 10u);
    EXPECT_EQ(h.pooled_count_limit<double>(), 0u);
    EXPECT_EQ(h.pooled_count_limit<Vec3>(), 7u);
    EXPECT_EQ(h.pooled_count_limit<Vec4>(), 7u);
    EXPECT_EQ(h.pooled_count_limit<Quad>(), 7u);
    EXPECT_EQ(h.pooled_count_limit<std::int16_t>(), 30u);
    EXPECT_EQ(h.pooled_count_limit<Wide>(), 0u);
    for (std::size_t c : {std::size_t{1}, std::size_t{32768}, std::size_t{32769}})
        expect_allocations_follow_route<std::uint8_t>(h, c);
    for (std::size_t c : {1, 10, 11}) expect_allocations_follow_route<float>(h, c);
    for (std::size_t c : {1, 2}) expect_allocations_follow_route<double>(h, c);
    for (std::size_t c : {1, 7, 8}) expect_allocations_follow_route<Vec3>(h, c);
    for (std::size_t c : {1, 7, 8}) expect_allocations_follow_route<Vec4>(h, c);
    for (std::size_t c : {1, 7, 8}) expect_allocations_follow_route<Quad>(h, c);
    for (std::size_t c : {1, 30, 31}) expect_allocations_follow_route<std::int16_t>(h, c);
    for (std::size_t c : {1, 2}) expect_allocations_follow_route<Wide>(h, c);
    // Zero allocates nothing on any route; too many throws and changes nothing.
    EXPECT_TRUE(h.allocate<double>(0).empty());
    EXPECT_TRUE(h.allocate<float>(0).empty());
    EXPECT_TRUE(h.allocate<std::uint8_t>(0).empty());
    EXPECT_TRUE(h.allocate<std::int16_t>(0).empty());
    EXPECT_TRUE(h.allocate<Vec3>(0).empty());
    EXPECT_TRUE(h.allocate<Vec4>(0).empty());
    for (auto zero : {h.allocate<double>(0).owns_memory(), h.allocate<std::uint8_t>(0).valid(),
                      h.allocate<Vec3>(0, true).owns_memory(), h.allocate<Wide>(0).owns_memory()})
        EXPECT_FALSE(zero); // owns nothing: its destructor frees nothing
    EXPECT_THROW((void)h.allocate<float>(~std::size_t{0}), std::bad_array_new_length);
    EXPECT_THROW((void)h.allocate<double>(~std::size_t{0} / 4), std::bad_array_new_length);
    EXPECT_EQ(h.total_allocated_bytes(), 0u);
}

// Thresholds beyond the classes are clamped to them for every kind of
// element: nothing larger than 32 KiB is pooled.
TEST(HybridAllocatorTest, PooledCountsStopAtTheLargestClass) {
    constexpr std::size_t huge = ~std::size_t{0};
    HybridAllocator h(ziggy::default_allocator(),
                      ziggy::HybridThresholds{huge, huge, huge, huge, huge, huge});
    EXPECT_EQ(h.pooled_count_limit<std::uint8_t>(), 32768u);
    EXPECT_EQ(h.pooled_count_limit<float>(), 8192u);
    EXPECT_EQ(h.pooled_count_limit<double>(), 4096u);
    EXPECT_EQ(h.pooled_count_limit<Vec3>(), 32768u / 12);
    EXPECT_EQ(h.pooled_count_limit<Vec4>(), 2048u);
    EXPECT_EQ(h.pooled_count_limit<Quad>(), 2048u);
    EXPECT_EQ(h.pooled_count_limit<std::int16_t>(), 16384u);
    EXPECT_EQ(h.route_for<double>(4097), Route::direct);
    expect_allocations_follow_route<double>(h, 4096);
    expect_allocations_follow_route<double>(h, 4097);
    expect_allocations_follow_route<Vec3>(h, 32768 / 12 + 1);
    expect_allocations_follow_route<Vec4>(h, 2048);
    expect_allocations_follow_route<Vec4>(h, 2049);
    expect_allocations_follow_route<Quad>(h, 2048);
    expect_allocations_follow_route<Quad>(h, 2049);
    // Counts whose byte size wraps, to a huge size and to 16 bytes (a
    // pooled class: the list is computed before the route's test), while
    // the list of 16 bytes holds a block: they throw, and the block stays.
    h.allocate<Vec4>(1).reset();
    const auto hits = h.pool().statistics().hits;
    EXPECT_THROW((void)h.allocate<Vec4>(~std::size_t{0} / 8), std::bad_array_new_length);
    EXPECT_THROW((void)h.allocate<Vec4>((std::size_t{1} << 60) + 1), std::bad_array_new_length);
    EXPECT_THROW((void)h.allocate<float>((std::size_t{1} << 62) + 4), std::bad_array_new_length);
    EXPECT_THROW((void)h.allocate<std::int16_t>((std::size_t{1} << 63) + 8),
                 std::bad_array_new_length);
    EXPECT_EQ(h.pool().statistics().hits, hits);
    EXPECT_EQ(h.pool().statistics().classes[0].retained_blocks, 1u); // the 16-byte class
    EXPECT_EQ(h.total_allocated_bytes(), 0u);
    auto again = h.allocate<Vec4>(1); // the block was kept for its own size
    EXPECT_EQ(h.pool().statistics().hits, hits + 1);
}

// A count of zero takes the pooled branch (the list of 0 bytes never holds
// a block) and allocates nothing: not from a cache holding blocks of the
// smallest class, not on a thread without a cache, not for a pool without
// a TLS slot, not in the 64-byte alignment set, not over a backing set to
// fail its first call (which a count of one then reaches), and with zeroing
// asked for.
TEST(HybridAllocatorTest, ZeroCountAllocatesNothingOnEveryPath) {
    TrackingAllocator backing;
    HybridAllocator h(backing);
    h.allocate<std::uint8_t>(1).reset(); // the 16-byte class holds a block
    h.allocate<Vec4>(1).reset();
    const auto before = h.pool().statistics();
    const auto calls = backing.allocation_calls();
    const auto expect_empty = [&h] {
        EXPECT_TRUE(h.allocate<std::uint8_t>(0).empty());
        EXPECT_TRUE(h.allocate<std::uint8_t>(0, true).empty());
        EXPECT_TRUE(h.allocate<float>(0).empty());
        EXPECT_TRUE(h.allocate<Vec3>(0).empty());
        EXPECT_TRUE(h.allocate<Vec4>(0, true).empty());
        EXPECT_TRUE(h.allocate<Short3>(0).empty());
        EXPECT_TRUE(h.allocate<Wide>(0).empty());
    };
    expect_empty();
    std::thread(expect_empty).join(); // a thread without a cache for the pool
    const auto after = h.pool().statistics();
    EXPECT_EQ(after.hits, before.hits);
    EXPECT_EQ(after.misses, before.misses);
    EXPECT_EQ(after.direct_allocations, before.direct_allocations);
    EXPECT_EQ(after.retained_blocks, before.retained_blocks);
    EXPECT_EQ(backing.allocation_calls(), calls);
    EXPECT_EQ(h.total_allocated_bytes(), 0u);
    struct alignas(64) Line { // the 64-byte alignment set
        char bytes[64];
    };
    EXPECT_TRUE(h.allocate<Line>(0).empty());
    EXPECT_EQ(h.pool().statistics().misses, before.misses);
    // A hybrid whose pool has no TLS slot (all 32 held by other pools).
    std::vector<std::unique_ptr<ziggy::UnmanagedMemoryPool>> holders;
    while (ziggy::detail::pool_free_slot_count() > 0)
        holders.push_back(std::make_unique<ziggy::UnmanagedMemoryPool>());
    HybridAllocator slotless(backing);
    slotless.allocate<std::uint8_t>(1).reset();
    const auto slotless_before = slotless.pool().statistics();
    EXPECT_TRUE(slotless.allocate<std::uint8_t>(0).empty());
    EXPECT_TRUE(slotless.allocate<Vec3>(0, true).empty());
    EXPECT_EQ(slotless.pool().statistics().hits, slotless_before.hits);
    EXPECT_EQ(slotless.pool().statistics().misses, slotless_before.misses);
    EXPECT_EQ(slotless.allocate<std::uint8_t>(1).size(), 1u); // and it still pools
    EXPECT_EQ(slotless.pool().statistics().hits, slotless_before.hits + 1);
    ziggy::FailingAllocator failing;
    failing.fail_at(0);
    HybridAllocator over_failing(failing);
    EXPECT_TRUE(over_failing.allocate<std::uint8_t>(0).empty());
    EXPECT_TRUE(over_failing.allocate<Vec3>(0).empty());
    EXPECT_EQ(failing.allocation_count(), 0u);
    EXPECT_THROW((void)over_failing.allocate<std::uint8_t>(1), std::bad_alloc);
}

// Types the pool cannot serve go direct whatever the (nonzero) count: huge
// structs and alignments beyond 64. A count of 0 allocates nothing and
// reports pooled, as for every type.
TEST(HybridAllocatorTest, UnpoolableRequestsGoDirect) {
    struct Huge {
        char b[4096];
    };
    HybridAllocator h;
    EXPECT_EQ(h.route_for<Huge>(8), Route::pooled);
    EXPECT_EQ(h.route_for<Huge>(9), Route::direct); // above the largest class
    EXPECT_EQ(h.route_for<Wide>(1), Route::direct);
    EXPECT_EQ(h.route_for<Wide>(0), Route::pooled);
    EXPECT_TRUE(h.allocate<Wide>(0).empty());
    EXPECT_EQ(h.route_for_bytes(64, 128), Route::direct);
    EXPECT_EQ(h.route_for_bytes(32768), Route::pooled);
    EXPECT_EQ(h.route_for_bytes(32769), Route::direct);
}

// Allocations take the route the decision names: pooled ones are reused,
// direct ones reach the backing allocator every time.
TEST(HybridAllocatorTest, AllocationsFollowTheirRoute) {
    TrackingAllocator backing;
    HybridAllocator h(backing);
    for (int i = 0; i < 3; ++i) (void)h.allocate<double>(4096);
    EXPECT_EQ(backing.allocation_calls(), 1u);
    EXPECT_EQ(h.pool().statistics().hits, 2u);
    for (int i = 0; i < 3; ++i) (void)h.allocate<double>(4097);
    EXPECT_EQ(backing.allocation_calls(), 4u);
    EXPECT_EQ(h.pool().statistics().direct_allocations, 3u);
    EXPECT_EQ(backing.live_blocks(), 1u); // the pooled block
}

// The hybrid's pool takes its blocks from the hybrid's backing and keeps
// them by the hybrid's PoolOptions: with a total cap of two 64-byte blocks
// and no thread cache, a third freed block goes back to the backing.
TEST(HybridAllocatorTest, ThePoolUsesTheBackingAndTheOptions) {
    TrackingAllocator backing;
    ziggy::PoolOptions options;
    options.max_retained_bytes = 128;
    options.thread_cache_bytes_per_class = 0;
    HybridAllocator h(backing, {}, options);
    EXPECT_EQ(h.pool().options().max_retained_bytes, 128u);
    EXPECT_EQ(h.pool().options().thread_cache_bytes_per_class, 0u);
    EXPECT_EQ(&h.pool().base(), &backing);
    {
        auto a = h.allocate<std::uint8_t>(64);
        auto b = h.allocate<std::uint8_t>(64);
        auto c = h.allocate<std::uint8_t>(64);
        EXPECT_EQ(backing.live_blocks(), 3u);
        EXPECT_EQ(backing.total_allocated_bytes(), 3u * (64 + 16));
    }
    EXPECT_EQ(h.pool().statistics().retained_bytes, 128u);
    EXPECT_EQ(backing.live_blocks(), 2u);
    auto again = h.allocate<std::uint8_t>(64);
    EXPECT_EQ(h.pool().statistics().hits, 1u);
    EXPECT_EQ(backing.allocation_calls(), 3u);
    again.reset();
    h.pool().clear();
    EXPECT_EQ(backing.live_blocks(), 0u);
    EXPECT_EQ(backing.mismatches(), 0u);
}

// Allocators layered over one of their own type: `HybridAllocator
// outer(inner)` (and the same for a pool, an arena and a failing allocator)
// takes `inner` as its backing; without the constructor template it named
// the deleted copy constructor and did not compile. The outer allocator's
// blocks come from the inner one, and go back to it.
TEST(HybridAllocatorTest, AllocatorsOfOneTypeLayer) {
    TrackingAllocator tracking;
    {
        HybridAllocator inner(tracking);
        {
            HybridAllocator outer(inner);
            EXPECT_EQ(&outer.pool().base(), &inner);
            auto small = outer.allocate<std::uint8_t>(64); // pooled: a block of inner's
            auto large = outer.allocate<std::uint8_t>(ziggy::detail::max_class_size + 1);
            EXPECT_EQ(inner.total_allocated_bytes(),
                      (64 + 16) + (ziggy::detail::max_class_size + 1 + 16));
        }
        EXPECT_EQ(inner.total_allocated_bytes(), 0u);
        ziggy::UnmanagedMemoryPool pool_inner(tracking);
        ziggy::UnmanagedMemoryPool pool_outer(pool_inner);
        EXPECT_EQ(&pool_outer.base(), &pool_inner);
        ziggy::ScopedAllocator arena_inner(tracking);
        ziggy::ScopedAllocator arena_outer(arena_inner);
        EXPECT_EQ(&arena_outer.backing(), &arena_inner);
        ziggy::FailingAllocator failing_inner(tracking);
        ziggy::FailingAllocator failing_outer(failing_inner);
        failing_inner.fail_at(0);
        EXPECT_THROW((void)failing_outer.allocate<int>(4), std::bad_alloc);
        EXPECT_TRUE(failing_outer.allocate<int>(4).valid());
    }
    EXPECT_EQ(tracking.live_blocks(), 0u);
    EXPECT_EQ(tracking.mismatches(), 0u);
}

// Edges of the size rules: an element size of 0 pools nothing; every size
// above 8 bytes takes `large_struct` before the classes' 32 KiB (3640 for a
// 12-byte element, whose classes then allow 2730), also when it is set;
// 64-byte-aligned types are pooled in the 64-byte alignment set, up to the
// classes' 32 KiB.
TEST(HybridAllocatorTest, SizeRuleEdges) {
    HybridAllocator h;
    EXPECT_EQ(h.max_pooled_count(0), 0u);
    EXPECT_EQ(h.max_pooled_count(12), 3640u);
    EXPECT_EQ(h.max_pooled_count(9), 3640u);
    EXPECT_EQ(h.max_pooled_count(4096), 3640u);
    EXPECT_EQ(h.pooled_count_limit<Vec3>(), 2730u);
    EXPECT_EQ(h.pooled_count_limit<Chars<33>>(), 32768u / 33);

    ziggy::HybridThresholds t;
    t.large_struct = 100;
    HybridAllocator custom(ziggy::default_allocator(), t);
    EXPECT_EQ(custom.max_pooled_count(40), 100u);
    EXPECT_EQ(custom.max_pooled_count(7), 32768u / 7); // below 8 bytes: the budget
    EXPECT_EQ(custom.pooled_count_limit<Chars<40>>(), 100u);
    EXPECT_EQ(custom.pooled_count_limit<Chars<1000>>(), 32u); // the classes first
    for (std::size_t c : {1, 100, 101}) expect_allocations_follow_route<Chars<40>>(custom, c);
    for (std::size_t c : {1, 32, 33}) expect_allocations_follow_route<Chars<1000>>(custom, c);

    struct alignas(64) Line {
        char bytes[64];
    };
    EXPECT_EQ(h.pooled_count_limit<Line>(), 512u);
    for (std::size_t c : {1, 512, 513}) expect_allocations_follow_route<Line>(h, c);
    const std::size_t aligned_list = ziggy::detail::pool_list_index(64, 64);
    const auto misses = h.pool().statistics().classes[aligned_list].misses;
    {
        auto line = h.allocate<Line>(1);
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(line.data()) % 64, 0u);
    }
    auto line = h.allocate<Line>(1);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(line.data()) % 64, 0u);
    const auto stats = h.pool().statistics();
    const auto& c = stats.classes[aligned_list];
    EXPECT_EQ(c.alignment, 64u);
    EXPECT_EQ(c.misses, misses); // both reused the block the edges freed
    EXPECT_GE(c.hits, 2u);
}

// Over a DebugAllocator, a direct block's record names the caller of the
// hybrid (typed and byte layer), not a line inside the library: its leak
// report points at the code that leaked. (Pooled blocks are the pool's,
// reused across callers.)
TEST(HybridAllocatorTest, DirectBlocksCarryTheCallersSiteToTheBacking) {
    ziggy::DebugAllocator debug("backing", ziggy::default_allocator(),
                                ziggy::LeakReportingMode::ignore);
    HybridAllocator h(debug);
    auto typed = h.allocate<double>(4097);
    const int typed_line = __LINE__ - 1; // the line above
    void* raw = h.allocate_bytes(50000);
    const int raw_line = __LINE__ - 1; // the line above
    const auto leaks = debug.leaks();
    ASSERT_EQ(leaks.size(), 2u);
    EXPECT_STREQ(leaks[0].site.file, __FILE__);
    EXPECT_EQ(leaks[0].site.line, typed_line);
    EXPECT_STREQ(leaks[0].site.function, __builtin_FUNCTION());
    EXPECT_STREQ(leaks[1].site.file, __FILE__);
    EXPECT_EQ(leaks[1].site.line, raw_line);
    h.deallocate_bytes(raw, 50000);
    typed.reset();
    EXPECT_TRUE(debug.leaks().empty());
    EXPECT_EQ(debug.total_allocated_bytes(), 0u);
}

// free(void*) finds the route of a released pointer from its header.
TEST(HybridAllocatorTest, ReleaseThenFreeOnBothRoutes) {
    TrackingAllocator backing;
    HybridAllocator h(backing);
    auto small = h.allocate<int>(10);
    auto large = h.allocate<int>(10000); // 40000 bytes: direct
    h.free(small.release());
    h.free(large.release());
    EXPECT_EQ(h.total_allocated_bytes(), 0u);
    EXPECT_EQ(backing.live_blocks(), 1u); // the small block stays pooled
    h.pool().clear();
    EXPECT_EQ(backing.live_blocks(), 0u);
    EXPECT_EQ(backing.mismatches(), 0u);
}

// The byte layer routes by size, and sized deallocation works on both routes.
TEST(HybridAllocatorTest, ByteLayerRoutesBySize) {
    TrackingAllocator backing;
    HybridAllocator h(backing);
    void* a = h.allocate_bytes(1000);
    void* b = h.allocate_bytes(50000);
    EXPECT_EQ(h.total_allocated_bytes(), 51000u);
    h.deallocate_bytes(a, 1000);
    h.deallocate_bytes(b, 50000);
    EXPECT_EQ(h.total_allocated_bytes(), 0u);
    EXPECT_EQ(h.pool().statistics().direct_allocations, 1u);
    EXPECT_EQ(h.pool().statistics().retained_blocks, 1u);
    EXPECT_EQ(backing.live_blocks(), 1u); // the pooled block
    EXPECT_EQ(backing.mismatches(), 0u);
}

// Through `Allocator&` (as adapters call it) the byte layer keeps its route:
// with the default thresholds a request within the classes is the pool's
// cached block; with `untyped_bytes` below the largest class a request past
// it goes direct even when its class holds a block (put there by the typed
// route), and typed calls through the reference route by their bytes, as
// do_allocate does.
TEST(HybridAllocatorTest, CallsThroughAnAllocatorReferenceKeepTheByteRoute) {
    TrackingAllocator backing;
    {
        HybridAllocator full(backing);
        ziggy::Allocator& fa = full;
        EXPECT_TRUE(fa.inline_pool_allocation());
        void* v = fa.allocate_bytes(1000);
        std::memset(v, 0xCD, 1000);
        fa.deallocate_bytes(v, 1000);
        EXPECT_EQ(fa.allocate_bytes(1024, 16, true), v); // the 1 KiB class, zeroed
        for (std::size_t i = 0; i < 1024; ++i) ASSERT_EQ(static_cast<unsigned char*>(v)[i], 0) << i;
        fa.deallocate_bytes(v, 1024);
        {
            auto b = fa.allocate<double>(128);
            EXPECT_EQ(static_cast<void*>(b.data()), v);
            EXPECT_EQ(b.allocator(), &full);
        }
        EXPECT_EQ(fa.try_allocate_bytes(900), v);
        fa.deallocate_bytes(v, 900);
        void* big = fa.allocate_bytes(ziggy::detail::max_class_size + 1);
        fa.deallocate_bytes(big, ziggy::detail::max_class_size + 1);
        const auto stats = full.pool().statistics();
        EXPECT_EQ(stats.hits, 3u);
        EXPECT_EQ(stats.misses, 1u);
        EXPECT_EQ(stats.direct_allocations, 1u);
        EXPECT_EQ(full.total_allocated_bytes(), 0u);
    }
    {
        ziggy::HybridThresholds edge; // every class, and no more: still inline
        edge.untyped_bytes = ziggy::detail::max_class_size;
        EXPECT_TRUE(HybridAllocator(backing, edge).inline_pool_allocation());
        edge.untyped_bytes = ziggy::detail::max_class_size - 1;
        EXPECT_FALSE(HybridAllocator(backing, edge).inline_pool_allocation());
    }
    ziggy::HybridThresholds t;
    t.untyped_bytes = 256;
    HybridAllocator h(backing, t);
    ziggy::Allocator& a = h;
    EXPECT_FALSE(a.inline_pool_allocation());
    void* cached = nullptr;
    {
        auto b = h.allocate<std::uint8_t>(512); // pooled by the one-byte limit
        cached = b.data();
    }
    ASSERT_EQ(h.pool().statistics().retained_blocks, 1u);
    ASSERT_EQ(h.route_for_bytes(512), Route::direct);
    void* p = a.allocate_bytes(512);
    EXPECT_NE(p, cached);
    void* q = a.try_allocate_bytes(500);
    EXPECT_NE(q, cached);
    {
        auto b = a.allocate<std::uint8_t>(512); // through the reference: by bytes
        EXPECT_NE(static_cast<void*>(b.data()), cached);
    }
    a.deallocate_bytes(p, 512);
    a.deallocate_bytes(q, 500);
    EXPECT_EQ(h.pool().statistics().direct_allocations, 3u);
    EXPECT_EQ(h.pool().statistics().hits, 0u);
    // Within the bound: the cached block of its class.
    void* r = a.allocate_bytes(200);
    a.deallocate_bytes(r, 200);
    EXPECT_EQ(a.allocate_bytes(224, 16, true), r);
    EXPECT_EQ(h.pool().statistics().hits, 1u);
    a.deallocate_bytes(r, 224);
    EXPECT_EQ(h.total_allocated_bytes(), 0u);
    EXPECT_EQ(backing.mismatches(), 0u);

    // A bound of 0: every byte request goes direct.
    ziggy::HybridThresholds none;
    none.untyped_bytes = 0;
    HybridAllocator d(backing, none);
    ziggy::Allocator& da = d;
    void* s = da.allocate_bytes(64);
    da.deallocate_bytes(s, 64);
    void* u = da.allocate_bytes(64);
    da.deallocate_bytes(u, 64);
    EXPECT_EQ(d.pool().statistics().direct_allocations, 2u);
    EXPECT_EQ(d.pool().statistics().hits + d.pool().statistics().misses, 0u);

    // A lowered per-type threshold binds calls on the hybrid only: through
    // the reference the same request routes by its bytes, here pooled.
    ziggy::HybridThresholds typed;
    typed.one_byte = 1024;
    HybridAllocator e(backing, typed);
    ziggy::Allocator& ea = e;
    ASSERT_EQ(e.route_for<std::uint8_t>(4096), Route::direct);
    ASSERT_EQ(e.route_for_bytes(4096), Route::pooled);
    { auto direct = e.allocate<std::uint8_t>(4096); }
    EXPECT_EQ(e.pool().statistics().direct_allocations, 1u);
    { auto pooled = ea.allocate<std::uint8_t>(4096); }
    EXPECT_EQ(e.pool().statistics().direct_allocations, 1u);
    EXPECT_EQ(e.pool().statistics().misses, 1u);
    EXPECT_EQ(e.total_allocated_bytes(), 0u);
}

// With thresholds below the pool's largest class, direct blocks of class
// sizes are freed by size too (through the header), typed and untyped.
TEST(HybridAllocatorTest, DirectBlocksWithinTheClassesFreeBySize) {
    TrackingAllocator backing;
    ziggy::HybridThresholds t;
    t.untyped_bytes = 100;
    t.four_byte = 25;
    HybridAllocator h(backing, t);
    ASSERT_EQ(h.route_for_bytes(101), Route::direct);
    ASSERT_EQ(h.route_for<float>(26), Route::direct);
    void* p = h.allocate_bytes(101);
    {
        auto f = h.allocate<float>(26); // 104 bytes, direct
        EXPECT_EQ(h.total_allocated_bytes(), 101u + 104u);
    }
    EXPECT_EQ(h.total_allocated_bytes(), 101u);
    h.deallocate_bytes(p, 101);
    EXPECT_EQ(h.total_allocated_bytes(), 0u);
    EXPECT_EQ(h.pool().statistics().direct_allocations, 2u);
    EXPECT_EQ(h.pool().retained_bytes(), 0u);
    EXPECT_EQ(backing.live_blocks(), 0u);
    EXPECT_EQ(backing.mismatches(), 0u);
}

// A second free of a direct block over a backing that leaves freed bytes in
// place (an arena, for any block but its newest) is refused: the first
// marked the block's header freed.
TEST(HybridAllocatorTest, SecondFreeOfADirectBlockOverAnArenaIsRefused) {
    ziggy::ScopedAllocator arena;
    HybridAllocator h(arena);
    const std::size_t n = h.pooled_count_limit<double>() + 1;
    ASSERT_EQ(h.route_for<double>(n), Route::direct);
    double* p = h.allocate<double>(n).release();
    auto keep = h.allocate<double>(n); // the arena's newest: `p`'s bytes stay
    h.free(p);
    const std::size_t arena_after = arena.total_allocated_bytes();
    EXPECT_THROW(h.free(p), ziggy::InvalidFreeError);
    h.deallocate_bytes(p, n * sizeof(double), alignof(double));
    EXPECT_EQ(h.total_allocated_bytes(), n * sizeof(double)); // `keep` alone
    EXPECT_EQ(arena.total_allocated_bytes(), arena_after);
    keep.reset();
    EXPECT_EQ(h.total_allocated_bytes(), 0u);
    EXPECT_EQ(arena.total_allocated_bytes(), 0u);
}

// Over a SystemAllocator (the default backing), the direct route costs the
// backing exactly the user's bytes, and direct blocks of class sizes (below
// lowered thresholds) free by size, unsized and through Buffers alike.
TEST(HybridAllocatorTest, DirectBlocksOverASystemAllocator) {
    ziggy::SystemAllocator sys;
    ziggy::HybridThresholds t;
    t.untyped_bytes = 100;
    t.four_byte = 25;
    HybridAllocator h(sys, t);
    void* p = h.allocate_bytes(101);
    void* q = h.allocate_bytes(200, 64);
    {
        auto f = h.allocate<float>(26);     // 104 bytes, direct
        auto d = h.allocate<double>(40000); // 320000 bytes, direct
        EXPECT_EQ(h.total_allocated_bytes(), 101u + 200u + 104u + 320000u);
        EXPECT_EQ(sys.total_allocated_bytes(), 101u + 200u + 104u + 320000u);
        std::fill(d.begin(), d.end(), 1.5);
        int* raw = h.allocate<int>(30).release(); // 120 bytes, direct
        h.free(raw);
    }
    h.deallocate_bytes(p, 101);
    h.free(q);
    EXPECT_EQ(h.total_allocated_bytes(), 0u);
    EXPECT_EQ(sys.total_allocated_bytes(), 0u);
    EXPECT_EQ(h.pool().statistics().direct_allocations, 5u);
    EXPECT_EQ(h.pool().retained_bytes(), 0u);
}

// Buffers of the hybrid name the hybrid as their allocator.
TEST(HybridAllocatorTest, BuffersAreOwnedByTheHybrid) {
    HybridAllocator h;
    auto b = h.allocate<char>(10);
    EXPECT_EQ(b.allocator(), &h);
}

// Four threads on both routes keep contents and exact accounting.
TEST(HybridAllocatorTest, ConcurrentUseOnBothRoutes) {
    TrackingAllocator backing;
    HybridAllocator h(backing);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 2000; ++i) {
                // 2 bytes to 40 KiB: both routes
                auto b = h.allocate<std::uint16_t>(1 + (i * 997) % 20000);
                b.fill(static_cast<std::uint16_t>(t));
                for (auto v : b) ASSERT_EQ(v, t);
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(h.total_allocated_bytes(), 0u);
    h.pool().clear();
    EXPECT_EQ(backing.total_allocated_bytes(), 0u);
}

// Four threads each keep a window of buffers on both routes, stamped with
// the thread and the allocation, and hand every third one to the next
// thread, which checks and frees it: contents survive other threads' reuse,
// and the accounting ends at zero.
TEST(HybridAllocatorTest, ConcurrentWindowsAndHandoffsKeepContents) {
    TrackingAllocator backing;
    HybridAllocator h(backing);
    constexpr int threads = 4;
    struct Mailbox {
        std::mutex m;
        std::vector<std::pair<std::uint32_t, ziggy::Buffer<std::uint32_t>>> items;
    };
    std::vector<Mailbox> boxes(threads);
    std::barrier done(threads);
    const auto count_of = [](std::uint32_t i, int t) {
        return 1 + (i * 2654435761u + static_cast<std::uint32_t>(t)) % 12000u; // to 48 KiB
    };
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            const auto stamp = [t](std::uint32_t i) {
                return static_cast<std::uint32_t>(t) << 24 | i;
            };
            // EXPECT, not ASSERT, in this body: a return before the
            // barrier would leave the other threads waiting at it.
            const auto holds = [](const ziggy::Buffer<std::uint32_t>& b, std::uint32_t s) {
                return std::all_of(b.begin(), b.end(), [s](std::uint32_t v) { return v == s; });
            };
            const auto check_mail = [&] {
                std::vector<std::pair<std::uint32_t, ziggy::Buffer<std::uint32_t>>> mine;
                {
                    std::lock_guard lock(boxes[t].m);
                    mine.swap(boxes[t].items);
                }
                for (auto& [s, b] : mine) EXPECT_TRUE(holds(b, s)) << std::hex << s;
            }; // freed here, on another thread than their own
            std::vector<std::pair<std::uint32_t, ziggy::Buffer<std::uint32_t>>> window;
            for (std::uint32_t i = 0; i < 1500; ++i) {
                auto b = h.allocate<std::uint32_t>(count_of(i, t));
                EXPECT_EQ(b.size(), count_of(i, t));
                b.fill(stamp(i));
                window.emplace_back(stamp(i), std::move(b));
                if (window.size() > 24) {
                    auto& [s, old] = window.front();
                    EXPECT_TRUE(holds(old, s)) << std::hex << s;
                    if (i % 3 == 0) {
                        std::lock_guard lock(boxes[(t + 1) % threads].m);
                        boxes[(t + 1) % threads].items.emplace_back(s, std::move(old));
                    }
                    window.erase(window.begin());
                }
                if (i % 50 == 0) check_mail();
            }
            for (auto& [s, b] : window) EXPECT_TRUE(holds(b, s)) << std::hex << s;
            window.clear();
            done.arrive_and_wait(); // no more mail after this
            check_mail();
        });
    }
    for (auto& w : workers) w.join();
    EXPECT_EQ(h.total_allocated_bytes(), 0u);
    EXPECT_GT(h.pool().statistics().hits, 0u);
    EXPECT_GT(h.pool().statistics().direct_allocations, 0u);
    h.pool().clear();
    EXPECT_EQ(backing.total_allocated_bytes(), 0u);
    EXPECT_EQ(backing.mismatches(), 0u);
}

// In ASan builds a pooled block returned through the hybrid is poisoned.
TEST(HybridAllocatorTest, UseAfterReturnIsReported) {
    if (!ziggy::detail::asan_enabled) GTEST_SKIP() << "release variant: no ASan";
    HybridAllocator h;
    auto b = h.allocate<char>(32);
    char* stale = b.data();
    b.reset();
    EXPECT_DEATH({ stale[0] = 1; }, "use-after-poison");
}

// A second free of a pooled pointer is refused by the hybrid too.
TEST(HybridAllocatorTest, FreeTwiceThrows) {
    ziggy::HybridAllocator hybrid;
    auto b = hybrid.allocate<int>(8);
    int* p = b.release();
    hybrid.free(p);
    EXPECT_THROW(hybrid.free(p), ziggy::InvalidFreeError);
    // The message names the allocator the caller used.
    EXPECT_EQ(ziggy_test::message_of<ziggy::InvalidFreeError>([&] { hybrid.free(p); }),
              "HybridAllocator::free: the pointer was not allocated by this HybridAllocator "
              "(or was already freed)");
}

// Pointers that are no block of the hybrid, on both routes: `free` refuses
// an interior or misaligned one, a sized or bulk free ignores it; nothing is
// counted, the block stays live, and in sanitized builds the bytes in front
// of the pointer are not poisoned by the refusal.
TEST(HybridAllocatorTest, FreesOfAPointerThatIsNoBlockChangeNothing) {
    ziggy::HybridAllocator hybrid;
    for (std::size_t size : {std::size_t{64}, std::size_t{100000}}) {
        SCOPED_TRACE(size);
        auto* p = static_cast<unsigned char*>(hybrid.allocate_bytes(size));
        std::memset(p, 0, size);
        for (std::size_t offset : {std::size_t{1}, std::size_t{8}, std::size_t{32}})
            EXPECT_THROW(hybrid.free(p + offset), ziggy::InvalidFreeError) << offset;
        alignas(64) unsigned char stack[128] = {};
        for (unsigned char* q : {p + 32, stack + 64}) {
            hybrid.deallocate_bytes(q, size - 32);
            void* one[] = {q};
            hybrid.deallocate_bulk(one, size - 32);
            for (int i = -16; i < 0; ++i) EXPECT_FALSE(ziggy::detail::is_poisoned(q + i)) << i;
            std::memset(q - 16, 2, 16);
        }
        EXPECT_EQ(hybrid.total_allocated_bytes(), size);
        std::memset(p, 1, size);
        hybrid.free(p);
        EXPECT_EQ(hybrid.total_allocated_bytes(), 0u);
    }
}

// ---- bulk calls ------------------------------------------------------------

bool aligned_to(const void* p, std::size_t alignment) {
    return reinterpret_cast<std::uintptr_t>(p) % alignment == 0;
}

// The raw bulk call follows the byte layer's route: pooled sizes come from
// the thread's cache (the blocks as many allocate_bytes calls would give,
// newest first), sizes past `untyped_bytes` (even within the classes) and
// alignments past 64 are direct blocks of the backing. One bulk free takes
// blocks of either route back, as sized frees would.
TEST(HybridAllocatorTest, BulkFollowsTheByteRoute) {
    TrackingAllocator backing;
    ziggy::HybridThresholds t;
    t.untyped_bytes = 256;
    HybridAllocator h(backing, t);
    std::vector<void*> freed(10);
    for (auto& p : freed) p = h.allocate_bytes(64);
    for (void* p : freed) h.deallocate_bytes(p, 64);
    std::vector<void*> pooled(10);
    h.allocate_bulk(pooled, 64);
    for (std::size_t i = 0; i < pooled.size(); ++i)
        EXPECT_EQ(pooled[i], freed[freed.size() - 1 - i]) << i;
    EXPECT_EQ(h.pool().statistics().hits, 10u);

    std::vector<void*> direct(5);
    h.allocate_bulk(direct, 512); // within the classes, past untyped_bytes: direct
    for (void* p : direct) std::memset(p, 0xFF, 512);
    h.deallocate_bulk(direct, 512);
    h.allocate_bulk(direct, 512, 16, true); // again, zeroed (the backing's memory was 0xFF)
    std::vector<void*> wide(3);
    h.allocate_bulk(wide, 100, 128); // aligned beyond the classes
    EXPECT_EQ(h.pool().statistics().direct_allocations, 13u);
    EXPECT_EQ(backing.allocation_calls(), 10u + 13u);
    for (void* p : direct) {
        ASSERT_TRUE(aligned_to(p, 16));
        const auto* bytes = static_cast<const unsigned char*>(p);
        EXPECT_TRUE(std::all_of(bytes, bytes + 512, [](unsigned char c) { return c == 0; }));
    }
    for (void* p : wide) EXPECT_TRUE(aligned_to(p, 128));
    EXPECT_EQ(h.total_allocated_bytes(), 10u * 64 + 5u * 512 + 3u * 100);

    h.deallocate_bulk(pooled, 64);
    h.deallocate_bulk(direct, 512);
    h.deallocate_bulk(wide, 100, 128);
    EXPECT_EQ(h.total_allocated_bytes(), 0u);
    EXPECT_EQ(backing.live_blocks(), 10u); // the pooled blocks, cached again
    h.pool().clear();
    EXPECT_EQ(backing.live_blocks(), 0u);
    EXPECT_EQ(backing.mismatches(), 0u);
}

// Bad input on either route, as allocate_bytes treats it: an alignment that
// is not a power of two throws std::invalid_argument, an impossible size
// std::bad_alloc, both leaving only nullptr; a size of 0 gives nullptr;
// nothing reaches the backing.
TEST(HybridAllocatorTest, BulkBadInputAllocatesNothing) {
    TrackingAllocator backing;
    HybridAllocator h(backing);
    std::vector<void*> out(6, &backing);
    EXPECT_THROW(h.allocate_bulk(out, 64, 24), std::invalid_argument); // pooled route
    EXPECT_TRUE(all_null(out));
    std::fill(out.begin(), out.end(), &backing);
    EXPECT_THROW(h.allocate_bulk(out, 64, 96), std::invalid_argument); // direct route
    EXPECT_TRUE(all_null(out));
    std::fill(out.begin(), out.end(), &backing);
    EXPECT_THROW(h.allocate_bulk(out, 0, 96), std::invalid_argument);
    EXPECT_TRUE(all_null(out));
    std::fill(out.begin(), out.end(), &backing);
    EXPECT_THROW(h.allocate_bulk(out, 64, 0), std::invalid_argument);
    EXPECT_TRUE(all_null(out));
    std::fill(out.begin(), out.end(), &backing);
    EXPECT_THROW(h.allocate_bulk(out, SIZE_MAX), std::bad_alloc);
    EXPECT_TRUE(all_null(out));
    std::fill(out.begin(), out.end(), &backing);
    EXPECT_THROW(h.allocate_bulk(out, 64, std::size_t{1} << 31), std::bad_alloc); // > 1 GiB
    EXPECT_TRUE(all_null(out));
    std::fill(out.begin(), out.end(), &backing);
    EXPECT_THROW(h.allocate_bulk(out, std::size_t{1} << 47), std::bad_alloc); // no header holds it
    EXPECT_TRUE(all_null(out));
    EXPECT_THROW(h.allocate_bulk(std::span<void*>(), SIZE_MAX), std::bad_alloc); // as the pool's
    std::fill(out.begin(), out.end(), &backing);
    h.allocate_bulk(out, 0, 128); // size 0, direct route: nullptr
    EXPECT_TRUE(all_null(out));
    std::fill(out.begin(), out.end(), &backing);
    h.allocate_bulk(out, 0); // size 0, pooled route: nullptr
    EXPECT_TRUE(all_null(out));
    h.allocate_bulk(std::span<void*>(), 50000);
    h.deallocate_bulk(std::span<void* const>(), 50000);
    h.deallocate_bulk(out, 64); // nulls only: nothing to free
    EXPECT_EQ(backing.allocation_calls(), 0u);
    EXPECT_EQ(h.total_allocated_bytes(), 0u);
}

// The backing running out midway through a direct bulk: bad_alloc, the
// direct blocks already taken go back to the backing, `out` holds only
// nullptr, and the hybrid works afterwards. The same through Buffers.
TEST(HybridAllocatorTest, BulkDirectFailureGivesEverythingBack) {
    TrackingAllocator backing;
    HybridAllocator h(backing);
    std::vector<void*> out(10);
    backing.fail_at(4);
    EXPECT_THROW(h.allocate_bulk(out, 50000), std::bad_alloc);
    EXPECT_TRUE(all_null(out));
    EXPECT_EQ(backing.live_blocks(), 0u);
    EXPECT_EQ(h.total_allocated_bytes(), 0u);
    h.allocate_bulk(out, 50000);
    EXPECT_EQ(backing.live_blocks(), 10u);
    h.deallocate_bulk(out, 50000);
    EXPECT_EQ(backing.live_blocks(), 0u);

    std::vector<ziggy::Buffer<double>> bufs(200);
    bufs[7] = h.allocate<double>(3); // freed first, as allocate_bulk promises
    backing.fail_at(150);            // after the first chunk of 128 is adopted
    EXPECT_THROW(h.allocate_bulk<double>(bufs, 5000), std::bad_alloc); // 40000 B: direct
    for (const auto& b : bufs) EXPECT_TRUE(b.empty() && !b.valid());
    EXPECT_EQ(h.total_allocated_bytes(), 0u);
    EXPECT_EQ(backing.live_blocks(), h.pool().statistics().retained_blocks);
    EXPECT_EQ(backing.mismatches(), 0u);
}

// Buffers in bulk on both routes: owned by the hybrid, of the right size
// and alignment, pooled below the type's threshold and direct past it
// (and for types aligned beyond the classes); one typed bulk free empties
// them all, another allocator's buffers by their owner.
TEST(HybridAllocatorTest, BulkOfBuffersOnBothRoutes) {
    TrackingAllocator backing;
    ziggy::HybridThresholds t;
    t.four_byte = 8;
    HybridAllocator h(backing, t);
    std::vector<ziggy::Buffer<float>> bufs(300);
    h.allocate_bulk<float>(bufs, 8); // pooled: 32 bytes each
    for (std::size_t i = 0; i < bufs.size(); ++i) {
        ASSERT_EQ(bufs[i].allocator(), &h);
        ASSERT_EQ(bufs[i].size(), 8u);
        bufs[i].fill(static_cast<float>(i));
    }
    for (std::size_t i = 0; i < bufs.size(); ++i) EXPECT_EQ(bufs[i][7], static_cast<float>(i));
    EXPECT_EQ(h.pool().statistics().direct_allocations, 0u);
    EXPECT_EQ(h.total_allocated_bytes(), 300u * 32);

    std::vector<ziggy::Buffer<float>> direct(5);
    h.allocate_bulk<float>(direct, 9); // past the threshold: direct
    for (auto& b : direct) b.fill(-1.0f);
    h.allocate_bulk<float>(direct, 9, true); // freed first, then zeroed direct blocks
    EXPECT_EQ(h.pool().statistics().direct_allocations, 10u);
    for (const auto& b : direct) {
        EXPECT_EQ(b.allocator(), &h);
        EXPECT_EQ(b[8], 0.0f);
    }
    std::vector<ziggy::Buffer<Wide>> wide(3);
    h.allocate_bulk<Wide>(wide, 1);
    EXPECT_EQ(h.pool().statistics().direct_allocations, 13u);
    for (const auto& b : wide) EXPECT_TRUE(aligned_to(b.data(), alignof(Wide)));

    // One free of pooled and direct buffers of several sizes, another
    // allocator's, an empty one and a view.
    ziggy::SystemAllocator other;
    float view_memory[3] = {};
    direct.push_back(other.allocate<float>(4));
    direct.emplace_back();
    direct.push_back(ziggy::wrap_existing(view_memory, 3));
    for (std::size_t i = 0; i < 20; ++i) direct.push_back(std::move(bufs[i]));
    direct.push_back(h.allocate<float>(2));
    h.deallocate_bulk<float>(bufs);
    h.deallocate_bulk<float>(direct);
    h.deallocate_bulk<Wide>(wide);
    for (const auto& b : bufs) EXPECT_TRUE(b.empty());
    for (const auto& b : direct) EXPECT_TRUE(b.empty());
    for (const auto& b : wide) EXPECT_TRUE(b.empty());
    EXPECT_EQ(other.total_allocated_bytes(), 0u);
    EXPECT_EQ(h.total_allocated_bytes(), 0u);
    EXPECT_EQ(backing.live_blocks(), h.pool().statistics().retained_blocks);

    h.allocate_bulk<float>(bufs, 0); // count 0: every element empty
    for (const auto& b : bufs) EXPECT_TRUE(b.empty());
    EXPECT_THROW(h.allocate_bulk<float>(bufs, SIZE_MAX / 2), std::bad_array_new_length);
    // A count whose bytes overflow changes nothing: the buffers keep their memory.
    bufs[0] = h.allocate<float>(4);
    bufs[1] = h.allocate<float>(5000);
    bufs[1][4999] = 1.5F;
    EXPECT_THROW(h.allocate_bulk<float>(bufs, SIZE_MAX / 2), std::bad_array_new_length);
    ASSERT_TRUE(bufs[0].valid() && bufs[1].valid());
    EXPECT_EQ(bufs[1][4999], 1.5F);
    // So does a size no allocator of the pool's grants (2^47 bytes and up).
    EXPECT_THROW(h.allocate_bulk<float>(bufs, std::size_t{1} << 45), std::bad_alloc);
    ASSERT_TRUE(bufs[0].valid() && bufs[1].valid());
    EXPECT_EQ(bufs[1][4999], 1.5F);
    EXPECT_EQ(h.total_allocated_bytes(), 4u * 4 + 5000u * 4);
    h.deallocate_bulk<float>(bufs);
    EXPECT_EQ(h.total_allocated_bytes(), 0u);
    std::vector<ziggy::Buffer<const float>> read_only(4); // const elements, both routes
    h.allocate_bulk<const float>(read_only, 8);
    EXPECT_EQ(h.total_allocated_bytes(), 4u * 32);
    h.deallocate_bulk<const float>(read_only);
    h.allocate_bulk<const float>(read_only, 100);
    EXPECT_EQ(h.total_allocated_bytes(), 4u * 400);
    h.deallocate_bulk<const float>(read_only);
    EXPECT_EQ(h.total_allocated_bytes(), 0u);
    h.pool().clear();
    EXPECT_EQ(backing.live_blocks(), 0u);
    EXPECT_EQ(backing.mismatches(), 0u);
}

// Over a DebugAllocator, direct blocks from a bulk call name its caller.
TEST(HybridAllocatorTest, BulkDirectBlocksCarryTheCallersSite) {
    ziggy::DebugAllocator debug("backing", ziggy::default_allocator(),
                                ziggy::LeakReportingMode::ignore);
    HybridAllocator h(debug);
    std::vector<void*> raw(2);
    h.allocate_bulk(raw, 50000);
    const int raw_line = __LINE__ - 1; // the line above
    std::vector<ziggy::Buffer<double>> typed(1);
    h.allocate_bulk<double>(typed, 5000);
    const int typed_line = __LINE__ - 1; // the line above
    const auto leaks = debug.leaks();
    ASSERT_EQ(leaks.size(), 3u);
    for (std::size_t i = 0; i < leaks.size(); ++i) {
        EXPECT_STREQ(leaks[i].site.file, __FILE__);
        EXPECT_EQ(leaks[i].site.line, i < 2 ? raw_line : typed_line);
    }
    h.deallocate_bulk(raw, 50000);
    h.deallocate_bulk<double>(typed);
    EXPECT_TRUE(debug.leaks().empty());
}

// Two threads at once, for several rounds: each allocates in bulk on both
// routes and marks its blocks, then (after a barrier) checks the other
// thread's marks and frees its blocks in bulk.
TEST(HybridAllocatorTest, BulkAcrossThreads) {
    TrackingAllocator backing;
    HybridAllocator h(backing);
    constexpr std::size_t sizes[2] = {48, 40000}; // pooled, direct
    constexpr int rounds = 20;
    std::vector<void*> blocks[2][2] = {{std::vector<void*>(200), std::vector<void*>(8)},
                                       {std::vector<void*>(200), std::vector<void*>(8)}};
    std::barrier sync(2);
    const auto work = [&](int me) {
        const int other = 1 - me;
        const auto mark = static_cast<unsigned char>(0xA0 + me);
        for (int r = 0; r < rounds; ++r) {
            for (int s = 0; s < 2; ++s) {
                h.allocate_bulk(blocks[me][s], sizes[s]);
                for (void* p : blocks[me][s]) std::memset(p, mark, sizes[s]);
            }
            sync.arrive_and_wait(); // both sets written
            for (int s = 0; s < 2; ++s) {
                for (void* p : blocks[other][s]) {
                    const auto* bytes = static_cast<const unsigned char*>(p);
                    EXPECT_EQ(bytes[0], 0xA0 + other);
                    EXPECT_EQ(bytes[sizes[s] - 1], 0xA0 + other);
                }
                h.deallocate_bulk(blocks[other][s], sizes[s]);
            }
            sync.arrive_and_wait(); // both sets freed before the next round
        }
    };
    std::thread a(work, 0);
    std::thread b(work, 1);
    a.join();
    b.join();
    EXPECT_EQ(h.total_allocated_bytes(), 0u);
    EXPECT_EQ(h.pool().statistics().direct_allocations, 2u * rounds * 8);
    EXPECT_EQ(backing.mismatches(), 0u);
}

} // namespace
