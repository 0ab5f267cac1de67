#include <ziggy/allocator.hpp>
#include <ziggy/errors.hpp>
#include <ziggy/system_allocator.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "site_recorder.hpp"
#include "tracking_allocator.hpp"

namespace {

struct Pod {
    int a;
    double b;
};
struct WithDtor {
    ~WithDtor() {}
};

// Only trivially copyable, trivially destructible object types are Unmanaged.
static_assert(ziggy::Unmanaged<int>);
static_assert(ziggy::Unmanaged<Pod>);
static_assert(ziggy::Unmanaged<void*>);
static_assert(!ziggy::Unmanaged<std::string>);
static_assert(!ziggy::Unmanaged<std::vector<int>>);
static_assert(!ziggy::Unmanaged<WithDtor>);
static_assert(!ziggy::Unmanaged<int&>);
static_assert(!ziggy::Unmanaged<void>);
static_assert(!ziggy::Unmanaged<int[4]>);

// allocate<std::string> must not compile.
template <class T>
concept CanAllocate = requires(ziggy::Allocator& a) {
    a.allocate<T>(1);
};
static_assert(CanAllocate<int>);
static_assert(!CanAllocate<std::string>);

using ziggy_test::SiteRecorder;

// The typed allocate records the caller's file, line and function.
TEST(AllocatorTest, TypedAllocateCapturesCallerSite) {
    SiteRecorder rec;
    const int line = __LINE__ + 1;
    auto b = rec.allocate<int>(3);
    EXPECT_STREQ(rec.last_site.file, __FILE__);
    EXPECT_EQ(rec.last_site.line, line);
    // GoogleTest puts a test's body in a member function named TestBody.
    EXPECT_STREQ(rec.last_site.function, "TestBody");
}

// The byte layer records the caller's site too.
TEST(AllocatorTest, ByteLayerCapturesCallerSite) {
    SiteRecorder rec;
    const int line = __LINE__ + 1;
    void* p = rec.allocate_bytes(10);
    EXPECT_STREQ(rec.last_site.file, __FILE__);
    EXPECT_EQ(rec.last_site.line, line);
    rec.deallocate_bytes(p, 10);
}

// The typed allocate passes sizeof(T) * count, alignof(T) and the zero flag.
TEST(AllocatorTest, TypedAllocatePassesSizeAlignmentAndZero) {
    SiteRecorder rec;
    struct alignas(64) Wide {
        char c[100];
    };
    auto b = rec.allocate<Wide>(3, true);
    EXPECT_EQ(rec.last_size, 3 * sizeof(Wide));
    EXPECT_EQ(rec.last_alignment, 64u);
    EXPECT_TRUE(rec.last_zero);
}

// count * sizeof(T) overflow throws bad_array_new_length before allocating.
TEST(AllocatorTest, CountOverflowThrowsBeforeAllocating) {
    ziggy_test::TrackingAllocator t;
    const auto huge = std::numeric_limits<std::size_t>::max() / 4 + 1;
    EXPECT_THROW((void)t.allocate<int>(huge), std::bad_array_new_length);
    EXPECT_EQ(t.allocation_calls(), 0u);
    EXPECT_EQ(t.total_allocated_bytes(), 0u);
}

// A size above PTRDIFF_MAX is also a length error, not an allocation attempt.
TEST(AllocatorTest, SizeAbovePtrdiffMaxThrowsBadArrayNewLength) {
    ziggy_test::TrackingAllocator t;
    EXPECT_THROW((void)t.allocate<char>(ziggy::detail::max_object_size + 1),
                 std::bad_array_new_length);
    EXPECT_EQ(t.allocation_calls(), 0u);
}

// A failing backing allocation surfaces as std::bad_alloc.
TEST(AllocatorTest, FailedAllocationThrowsBadAlloc) {
    ziggy_test::TrackingAllocator t;
    t.fail_at(0);
    EXPECT_THROW((void)t.allocate<int>(4), std::bad_alloc);
    EXPECT_EQ(t.total_allocated_bytes(), 0u);
    auto ok = t.allocate<int>(4); // the next one works
    EXPECT_TRUE(ok.valid());
}

// count == 0 allocates nothing and gives an empty buffer.
TEST(AllocatorTest, ZeroCountAllocatesNothing) {
    ziggy_test::TrackingAllocator t;
    auto b = t.allocate<int>(0);
    EXPECT_TRUE(b.empty());
    EXPECT_FALSE(b.valid());
    EXPECT_EQ(t.allocation_calls(), 0u);
}

// Buffers free with the exact size and alignment they were allocated with.
TEST(AllocatorTest, BufferFreesWithSizedDeallocation) {
    ziggy_test::TrackingAllocator t;
    struct alignas(32) V {
        float f[8];
    };
    {
        auto a = t.allocate<V>(3);
        auto b = t.allocate<char>(7);
        EXPECT_EQ(t.live_blocks(), 2u);
    }
    EXPECT_EQ(t.live_blocks(), 0u);
    EXPECT_EQ(t.mismatches(), 0u);
}

// allocate_bytes rejects an alignment that is not a power of two.
TEST(AllocatorTest, AllocateBytesRejectsBadAlignment) {
    ziggy::SystemAllocator sys;
    EXPECT_THROW((void)sys.allocate_bytes(8, 3), std::invalid_argument);
    EXPECT_THROW((void)sys.allocate_bytes(8, 0), std::invalid_argument);
    EXPECT_EQ(sys.try_allocate_bytes(8, 24), nullptr);
    EXPECT_EQ(sys.total_allocated_bytes(), 0u);
}

// allocate_bytes(0) returns nullptr; deallocate_bytes(nullptr) is a no-op.
TEST(AllocatorTest, ZeroBytesIsNullptr) {
    ziggy::SystemAllocator sys;
    EXPECT_EQ(sys.allocate_bytes(0), nullptr);
    EXPECT_EQ(sys.try_allocate_bytes(0), nullptr);
    sys.deallocate_bytes(nullptr, 0);
    EXPECT_EQ(sys.total_allocated_bytes(), 0u);
}

// try_allocate_bytes returns nullptr instead of throwing when memory runs out.
TEST(AllocatorTest, TryAllocateReturnsNullOnExhaustion) {
    ziggy_test::TrackingAllocator t;
    t.fail_at(0);
    EXPECT_EQ(t.try_allocate_bytes(64), nullptr);
}

// free(nullptr) is a no-op on every allocator.
TEST(AllocatorTest, FreeNullptrIsNoop) {
    ziggy_test::TrackingAllocator t;
    t.free(nullptr);
    EXPECT_EQ(t.mismatches(), 0u);
}

} // namespace
