#include <ziggy/debug_allocator.hpp>
#include <ziggy/std_allocator.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "allocator_cases.hpp"
#include "tracking_allocator.hpp"

namespace {

using ziggy::StdAllocator;

// The allocator requirements: rebinding keeps the allocator, traits as documented.
static_assert(std::is_same_v<std::allocator_traits<StdAllocator<int>>::rebind_alloc<double>,
                             StdAllocator<double>>);
static_assert(std::allocator_traits<StdAllocator<int>>::propagate_on_container_swap::value);
static_assert(
    std::allocator_traits<StdAllocator<int>>::propagate_on_container_move_assignment::value);
static_assert(!std::allocator_traits<StdAllocator<int>>::is_always_equal::value);

template <class Case>
class StdAllocatorOnEveryAllocator : public ::testing::Test {
protected:
    std::unique_ptr<ziggy::Allocator> alloc_ = Case::make();
};
TYPED_TEST_SUITE(StdAllocatorOnEveryAllocator, ziggy_test::AllAllocatorCases);

// Containers of std::string run on every allocator and give everything back.
TYPED_TEST(StdAllocatorOnEveryAllocator, ContainersOfStrings) {
    using Str = std::basic_string<char, std::char_traits<char>, StdAllocator<char>>;
    const auto before = this->alloc_->total_allocated_bytes();
    {
        StdAllocator<Str> a(*this->alloc_);
        std::vector<Str, StdAllocator<Str>> v(a);
        std::list<int, StdAllocator<int>> l(StdAllocator<int>(*this->alloc_));
        std::map<int, Str, std::less<>, StdAllocator<std::pair<const int, Str>>> m(a);
        for (int i = 0; i < 300; ++i) {
            v.emplace_back("long enough to allocate on the heap, number " + std::to_string(i), a);
            l.push_back(i);
            m.emplace(i, v.back());
        }
        EXPECT_EQ(v[299], m.at(299));
        EXPECT_EQ(l.back(), 299);
        EXPECT_GT(this->alloc_->total_allocated_bytes(), before);
    }
    if (this->alloc_->supports_individual_deallocation()) {
        EXPECT_EQ(this->alloc_->total_allocated_bytes(), before);
    }
}

// std::allocate_shared places the control block and object in the allocator.
TYPED_TEST(StdAllocatorOnEveryAllocator, AllocateShared) {
    const auto before = this->alloc_->total_allocated_bytes();
    {
        auto sp = std::allocate_shared<std::string>(StdAllocator<std::string>(*this->alloc_),
                                                    "shared and long enough for the heap");
        EXPECT_GT(this->alloc_->total_allocated_bytes(), before);
        EXPECT_EQ(*sp, "shared and long enough for the heap");
    }
    if (this->alloc_->supports_individual_deallocation()) {
        EXPECT_EQ(this->alloc_->total_allocated_bytes(), before);
    }
}

// Over-aligned element types keep their alignment in a vector.
TYPED_TEST(StdAllocatorOnEveryAllocator, OverAlignedElements) {
    struct alignas(128) Wide {
        int x;
    };
    std::vector<Wide, StdAllocator<Wide>> v{StdAllocator<Wide>(*this->alloc_)};
    for (int i = 0; i < 40; ++i) {
        v.push_back(Wide{i});
        ASSERT_EQ(reinterpret_cast<std::uintptr_t>(v.data()) % 128, 0u);
    }
    EXPECT_EQ(v[39].x, 39);
}

// Allocators are equal when they refer to the same ziggy allocator, across rebinds.
TEST(StdAllocatorTest, EqualityFollowsTheAllocator) {
    ziggy::SystemAllocator a, b;
    StdAllocator<int> ia(a), ia2(a), ib(b);
    StdAllocator<double> da(ia);
    EXPECT_TRUE(ia == ia2);
    EXPECT_TRUE(ia == da);
    EXPECT_FALSE(ia == ib);
    EXPECT_TRUE(ia != ib);
    EXPECT_EQ(&da.allocator(), &a);
}

// Default-constructed, it uses the process-wide default allocator.
TEST(StdAllocatorTest, DefaultUsesDefaultAllocator) {
    StdAllocator<int> a;
    EXPECT_EQ(&a.allocator(), &ziggy::default_allocator());
    std::vector<int, StdAllocator<int>> v{1, 2, 3};
    EXPECT_EQ(v.get_allocator(), a);
}

// Size and alignment reach the byte layer intact and come back the same.
TEST(StdAllocatorTest, SizedDeallocationMatches) {
    ziggy_test::TrackingAllocator t;
    {
        std::vector<double, StdAllocator<double>> v{StdAllocator<double>(t)};
        for (int i = 0; i < 1000; ++i) v.push_back(i);
    }
    EXPECT_EQ(t.mismatches(), 0u);
    EXPECT_EQ(t.live_blocks(), 0u);
}

// n * sizeof(T) overflow throws bad_array_new_length; exhaustion throws bad_alloc.
TEST(StdAllocatorTest, BadSizesThrow) {
    ziggy_test::TrackingAllocator t;
    StdAllocator<std::uint64_t> a(t);
    EXPECT_THROW((void)a.allocate(std::size_t(1) << 62), std::bad_array_new_length);
    t.fail_at(0);
    EXPECT_THROW((void)a.allocate(4), std::bad_alloc);
    EXPECT_EQ(t.live_blocks(), 0u);
}

// Move assignment propagates the allocator, so memory returns where it came from.
TEST(StdAllocatorTest, MoveAssignmentPropagates) {
    ziggy::SystemAllocator a, b;
    std::vector<int, StdAllocator<int>> va({1, 2, 3}, StdAllocator<int>(a));
    std::vector<int, StdAllocator<int>> vb({4}, StdAllocator<int>(b));
    vb = std::move(va);
    EXPECT_EQ(&vb.get_allocator().allocator(), &a);
    EXPECT_EQ(b.total_allocated_bytes(), 0u);
    EXPECT_EQ(a.total_allocated_bytes(), 3 * sizeof(int));
}

// A container still holding memory is a leak record naming where its
// StdAllocator was made.
TEST(StdAllocatorTest, DebugAllocatorReportsContainerLeakWithSite) {
    ziggy::DebugAllocator debug("std", ziggy::default_allocator(),
                                ziggy::LeakReportingMode::ignore);
    {
        const int line = __LINE__ + 1;
        std::vector<long, StdAllocator<long>> v(50, 1, StdAllocator<long>(debug));
        const auto leaks = debug.leaks();
        ASSERT_EQ(leaks.size(), 1u);
        EXPECT_EQ(leaks[0].size, 50 * sizeof(long));
        EXPECT_EQ(leaks[0].alignment, alignof(long));
        EXPECT_STREQ(leaks[0].site.file, __FILE__);
        EXPECT_EQ(leaks[0].site.line, line);
    }
    EXPECT_EQ(debug.report_memory_leaks(), 0u);
}

} // namespace
