#include <ziggy/debug_allocator.hpp>
#include <ziggy/memory_resource.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <memory_resource>
#include <string>
#include <unordered_map>
#include <vector>

#include "allocator_cases.hpp"
#include "tracking_allocator.hpp"

namespace {

template <class Case>
class MemoryResourceOnEveryAllocator : public ::testing::Test {
protected:
    std::unique_ptr<ziggy::Allocator> alloc_ = Case::make();
};
TYPED_TEST_SUITE(MemoryResourceOnEveryAllocator, ziggy_test::AllAllocatorCases);

// pmr containers of non-trivial types run on every allocator and give all
// their memory back.
TYPED_TEST(MemoryResourceOnEveryAllocator, PmrContainersOfStrings) {
    const auto before = this->alloc_->total_allocated_bytes();
    {
        ziggy::MemoryResource resource(*this->alloc_);
        std::pmr::vector<std::pmr::string> v(&resource);
        std::pmr::unordered_map<int, std::pmr::string> m(&resource);
        for (int i = 0; i < 200; ++i) {
            v.emplace_back("a string that is long enough to live on the heap #" +
                           std::to_string(i));
            m.emplace(i, v.back());
        }
        EXPECT_GT(this->alloc_->total_allocated_bytes(), before);
        EXPECT_EQ(v[150], "a string that is long enough to live on the heap #150");
        EXPECT_EQ(m.at(199), v[199]);
    }
    if (this->alloc_->supports_individual_deallocation()) {
        EXPECT_EQ(this->alloc_->total_allocated_bytes(), before);
    }
}

// Over-aligned requests through pmr keep their alignment.
TYPED_TEST(MemoryResourceOnEveryAllocator, HonoursAlignment) {
    ziggy::MemoryResource resource(*this->alloc_);
    for (std::size_t align = 1; align <= 4096; align *= 2) {
        void* p = resource.allocate(100, align);
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % align, 0u) << align;
        resource.deallocate(p, 100, align);
    }
}

// pmr may allocate 0 bytes; it gets a real pointer and can give it back.
TEST(MemoryResourceTest, ZeroBytesGivesAPointer) {
    ziggy_test::TrackingAllocator t;
    ziggy::MemoryResource resource(t);
    void* p = resource.allocate(0, 8);
    EXPECT_NE(p, nullptr);
    resource.deallocate(p, 0, 8);
    EXPECT_EQ(t.live_blocks(), 0u);
    EXPECT_EQ(t.mismatches(), 0u);
}

// Size and alignment pass through unchanged to the byte layer.
TEST(MemoryResourceTest, PassesSizeAndAlignmentThrough) {
    ziggy_test::TrackingAllocator t;
    ziggy::MemoryResource resource(t);
    void* p = resource.allocate(48, 64);
    EXPECT_EQ(t.total_allocated_bytes(), 48u);
    resource.deallocate(p, 48, 64);
    EXPECT_EQ(t.mismatches(), 0u);
    EXPECT_EQ(t.total_allocated_bytes(), 0u);
}

// Exhaustion surfaces as std::bad_alloc, as pmr requires.
TEST(MemoryResourceTest, ExhaustionThrowsBadAlloc) {
    ziggy_test::TrackingAllocator t;
    ziggy::MemoryResource resource(t);
    t.fail_at(0);
    EXPECT_THROW((void)resource.allocate(16), std::bad_alloc);
}

// Resources are equal exactly when they forward to the same allocator.
TEST(MemoryResourceTest, EqualityFollowsTheAllocator) {
    ziggy::SystemAllocator a, b;
    ziggy::MemoryResource ra1(a), ra2(a), rb(b);
    EXPECT_TRUE(ra1.is_equal(ra1));
    EXPECT_TRUE(ra1.is_equal(ra2));
    EXPECT_TRUE(ra1 == ra2);
    EXPECT_FALSE(ra1.is_equal(rb));
    EXPECT_FALSE(ra1.is_equal(*std::pmr::new_delete_resource()));
}

// A pmr container on one resource moves its memory to an equal one without
// copying element by element.
TEST(MemoryResourceTest, EqualResourcesShareMemory) {
    ziggy::SystemAllocator a;
    ziggy::MemoryResource r1(a), r2(a);
    std::pmr::vector<int> v1({1, 2, 3}, &r1);
    const int* data = v1.data();
    std::pmr::vector<int> v2(std::move(v1), &r2);
    EXPECT_EQ(v2.data(), data);
}

// The resource remembers who created it, for attributing its allocations.
TEST(MemoryResourceTest, RecordsCreationSite) {
    ziggy::SystemAllocator a;
    const int line = __LINE__ + 1;
    ziggy::MemoryResource r(a);
    EXPECT_STREQ(r.site().file, __FILE__);
    EXPECT_EQ(r.site().line, line);
    EXPECT_EQ(&r.allocator(), &a);
}

// A pmr container left alive shows up in the debug allocator's leak report,
// attributed to where its resource was created.
TEST(MemoryResourceTest, DebugAllocatorReportsContainerLeakWithSite) {
    ziggy::DebugAllocator debug("pmr", ziggy::default_allocator(),
                                ziggy::LeakReportingMode::throw_exception);
    const int line = __LINE__ + 1;
    ziggy::MemoryResource resource(debug);
    auto* forgotten = new std::pmr::vector<int>(100, 7, &resource);
    try {
        debug.report_memory_leaks();
        ADD_FAILURE() << "no leak reported";
    } catch (const ziggy::MemoryLeakError& e) {
        ASSERT_EQ(e.leaks().size(), 1u);
        EXPECT_EQ(e.leaks()[0].size, 100 * sizeof(int));
        EXPECT_STREQ(e.leaks()[0].site.file, __FILE__);
        EXPECT_EQ(e.leaks()[0].site.line, line);
        EXPECT_NE(std::string(e.what()).find(":" + std::to_string(line)), std::string::npos)
            << e.what();
    }
    delete forgotten;
    EXPECT_EQ(debug.report_memory_leaks(), 0u);
}

} // namespace
