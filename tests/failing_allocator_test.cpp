#include <ziggy/failing_allocator.hpp>
#include <ziggy/memory_resource.hpp>
#include <ziggy/std_allocator.hpp>

#include <gtest/gtest.h>

#include <memory_resource>
#include <new>
#include <string>
#include <vector>

namespace {

// fail_at(n) fails exactly the n-th allocation call and no other.
TEST(FailingAllocatorTest, FailsExactlyTheChosenCall) {
    ziggy::SystemAllocator base;
    ziggy::FailingAllocator f(base);
    f.fail_at(2);
    auto a = f.allocate<int>(1);
    auto b = f.allocate<int>(1);
    EXPECT_THROW((void)f.allocate<int>(1), std::bad_alloc);
    auto d = f.allocate<int>(1);
    EXPECT_EQ(f.allocation_count(), 4u);
    EXPECT_EQ(f.failure_count(), 1u);
    EXPECT_EQ(base.total_allocated_bytes(), 12u);
}

// A seeded random run fails about the asked share of calls, and replays exactly.
TEST(FailingAllocatorTest, RandomFailuresAreSeededAndProportional) {
    auto run = [](std::uint64_t seed) {
        ziggy::FailingAllocator f;
        f.fail_randomly(0.25, seed);
        std::vector<bool> failed;
        for (int i = 0; i < 4000; ++i) {
            void* p = f.try_allocate_bytes(8);
            failed.push_back(p == nullptr);
            f.free(p);
        }
        return failed;
    };
    const auto a = run(42);
    EXPECT_EQ(a, run(42));
    EXPECT_NE(a, run(43));
    const auto fails = std::count(a.begin(), a.end(), true);
    EXPECT_GT(fails, 800);
    EXPECT_LT(fails, 1200);
}

// Probability 1 fails every call; 0 and never_fail() fail none.
TEST(FailingAllocatorTest, ProbabilityEdges) {
    ziggy::FailingAllocator f;
    f.fail_randomly(1.0, 1);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(f.try_allocate_bytes(8), nullptr);
    f.never_fail();
    void* p = f.allocate_bytes(8);
    f.free(p);
    f.fail_randomly(0.0, 1);
    p = f.allocate_bytes(8);
    f.free(p);
    EXPECT_EQ(f.failure_count(), 100u);
}

// A correct scenario passes: every failure surfaces as bad_alloc, nothing leaks.
TEST(CheckAllAllocationFailuresTest, CorrectScenarioPasses) {
    auto report = ziggy::check_all_allocation_failures([](ziggy::Allocator& a) {
        auto x = a.allocate<int>(10);
        auto y = a.allocate<double>(20);
        auto z = a.allocate<char>(30);
    });
    EXPECT_EQ(report.allocations, 3u);
    EXPECT_TRUE(report.ok()) << report.problems.front();
}

// A scenario that leaks when an allocation fails is reported, with the index.
TEST(CheckAllAllocationFailuresTest, LeakOnFailureIsReported) {
    std::vector<void*> leaked;
    auto report = ziggy::check_all_allocation_failures([&leaked](ziggy::Allocator& a) {
        void* first = a.allocate_bytes(64);
        leaked.push_back(first);
        void* second = a.allocate_bytes(64); // if this throws, `first` leaks
        leaked.pop_back();
        a.free(second);
        a.free(first);
    });
    // Give the leaked block back so LeakSanitizer stays quiet: SystemAllocator
    // blocks carry their size in a header, so any instance can free them (this
    // one's counter wraps, and it is thrown away).
    ziggy::SystemAllocator cleaner;
    for (void* p : leaked) cleaner.free(p);
    ASSERT_EQ(report.problems.size(), 1u);
    EXPECT_NE(report.problems[0].find("allocation 1: leaks 64 bytes"), std::string::npos)
        << report.problems[0];
}

// A scenario that swallows the failure is reported.
TEST(CheckAllAllocationFailuresTest, SwallowedFailureIsReported) {
    auto report = ziggy::check_all_allocation_failures([](ziggy::Allocator& a) {
        void* p = a.try_allocate_bytes(64);
        a.free(p);
    });
    ASSERT_EQ(report.problems.size(), 1u);
    EXPECT_NE(report.problems[0].find("swallowed"), std::string::npos) << report.problems[0];
}

// The standard adapters surface every injected failure as bad_alloc, leak-free.
TEST(CheckAllAllocationFailuresTest, AdaptersPropagateFailures) {
    auto report = ziggy::check_all_allocation_failures([](ziggy::Allocator& a) {
        ziggy::MemoryResource r(a);
        std::pmr::vector<std::pmr::string> v(&r);
        for (int i = 0; i < 20; ++i) v.emplace_back(std::string(40, 'x'));
        std::vector<int, ziggy::StdAllocator<int>> w{ziggy::StdAllocator<int>(a)};
        for (int i = 0; i < 100; ++i) w.push_back(i);
    });
    EXPECT_GT(report.allocations, 20u);
    EXPECT_TRUE(report.ok()) << report.problems.front();
}

} // namespace
