// Every composing allocator under failure injection: for each allocation the
// backing allocator sees, a run fails exactly that one. The failure must reach
// the caller as std::bad_alloc, nothing may leak (the counting base shows 0
// once the allocator is gone), and the allocator must still work afterwards.
#include <ziggy/ziggy.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <memory_resource>
#include <new>
#include <string>
#include <vector>

#include "debug_over.hpp"

namespace {

// A workload that mixes sizes (pooled classes and direct sizes), keeps some
// buffers alive across later allocations, and checks their contents.
void mixed_workload(ziggy::Allocator& a) {
    std::vector<ziggy::Buffer<std::uint32_t>> kept;
    for (std::uint32_t i = 0; i < 12; ++i) {
        const std::size_t count = (i % 3 == 0) ? 10000 : 1 + i * 7; // 40000 B goes direct
        auto b = a.allocate<std::uint32_t>(count);
        b.fill(i);
        if (i % 2 == 0) kept.push_back(std::move(b));
    }
    for (std::size_t k = 0; k < kept.size(); ++k)
        for (auto v : kept[k]) ASSERT_EQ(v, 2 * k);
    void* raw = a.allocate_bytes(300, 64);
    a.deallocate_bytes(raw, 300, 64);
}

using Maker = std::function<std::unique_ptr<ziggy::Allocator>(ziggy::Allocator&)>;

// Runs `work` once per backing allocation with exactly that one failing.
void expect_failures_surface_and_recover(const Maker& make,
                                         const std::function<void(ziggy::Allocator&)>& work) {
    std::size_t calls = 0;
    {
        ziggy::SystemAllocator base;
        ziggy::FailingAllocator failing(base);
        auto allocator = make(failing);
        work(*allocator);
        calls = failing.allocation_count();
    }
    ASSERT_GT(calls, 0u);
    for (std::size_t n = 0; n < calls; ++n) {
        ziggy::SystemAllocator base;
        {
            ziggy::FailingAllocator failing(base);
            failing.fail_at(n);
            auto allocator = make(failing);
            bool threw = false;
            try {
                work(*allocator);
            } catch (const std::bad_alloc&) {
                threw = true;
            }
            if (failing.failure_count() != 0) {
                EXPECT_TRUE(threw) << "backing allocation " << n << " failed silently";
            }
            failing.never_fail();
            EXPECT_NO_THROW(work(*allocator)) << "not usable after failure " << n;
        }
        EXPECT_EQ(base.total_allocated_bytes(), 0u) << "leak after failure " << n;
    }
}

template <class A, class... Args>
Maker maker(Args... args) {
    return [=](ziggy::Allocator& backing) -> std::unique_ptr<ziggy::Allocator> {
        return std::make_unique<A>(backing, args...);
    };
}

// The arena surfaces block allocation failures and keeps working.
TEST(FailureInjectionTest, ScopedAllocator) {
    expect_failures_surface_and_recover(
        maker<ziggy::ScopedAllocator>(ziggy::ScopedAllocatorOptions{.initial_block_size = 256}),
        mixed_workload);
}

// The debug allocator surfaces failures without a record of the failed block.
TEST(FailureInjectionTest, DebugAllocator) {
    expect_failures_surface_and_recover(
        [](ziggy::Allocator& backing) -> std::unique_ptr<ziggy::Allocator> {
            return std::make_unique<ziggy::DebugAllocator>("inject", backing,
                                                           ziggy::LeakReportingMode::abort);
        },
        mixed_workload);
}

// The pool surfaces refill and direct failures and keeps working.
TEST(FailureInjectionTest, UnmanagedMemoryPool) {
    expect_failures_surface_and_recover(maker<ziggy::UnmanagedMemoryPool>(), mixed_workload);
}

// The hybrid surfaces failures on both routes.
TEST(FailureInjectionTest, HybridAllocator) {
    expect_failures_surface_and_recover(maker<ziggy::HybridAllocator>(), mixed_workload);
}

// A debug allocator over a pool over the failing allocator: failures cross
// two layers intact.
TEST(FailureInjectionTest, DebugOverPool) {
    expect_failures_surface_and_recover(
        maker<ziggy_test::DebugOver<ziggy::UnmanagedMemoryPool>>(ziggy::LeakReportingMode::abort),
        mixed_workload);
}

// pmr containers over the pool see std::bad_alloc and leak nothing.
TEST(FailureInjectionTest, MemoryResourceOverPool) {
    expect_failures_surface_and_recover(maker<ziggy::UnmanagedMemoryPool>(),
                                        [](ziggy::Allocator& a) {
                                            ziggy::MemoryResource resource(a);
                                            std::pmr::vector<std::pmr::string> v(&resource);
                                            for (int i = 0; i < 30; ++i)
                                                v.emplace_back(std::string(50 + i * 40, 'x'));
                                            ASSERT_EQ(v[29].size(), 50u + 29 * 40);
                                        });
}

// Standard containers over the debug allocator see std::bad_alloc and leak nothing.
TEST(FailureInjectionTest, StdAllocatorOverDebug) {
    expect_failures_surface_and_recover(
        [](ziggy::Allocator& backing) -> std::unique_ptr<ziggy::Allocator> {
            return std::make_unique<ziggy::DebugAllocator>("std", backing,
                                                           ziggy::LeakReportingMode::abort);
        },
        [](ziggy::Allocator& a) {
            std::vector<long, ziggy::StdAllocator<long>> v{ziggy::StdAllocator<long>(a)};
            for (long i = 0; i < 2000; ++i) v.push_back(i);
            auto shared = std::allocate_shared<long>(ziggy::StdAllocator<long>(a), 7);
            ASSERT_EQ(v[1999] + *shared, 2006);
        });
}

// allocate_deferred over the hybrid: the scope frees what was allocated before
// the failure.
TEST(FailureInjectionTest, DeferredAllocationsOverHybrid) {
    expect_failures_surface_and_recover(maker<ziggy::HybridAllocator>(), [](ziggy::Allocator& a) {
        ziggy::DeferScope scope;
        for (int i = 0; i < 10; ++i) {
            auto b = ziggy::allocate_deferred<double>(a, scope, 1 + i * 50);
            b.fill(i);
        }
        auto one = ziggy::allocate_single_deferred<int>(a, scope, true);
        ASSERT_EQ(one[0], 0);
    });
}

// The public helper agrees for every composing allocator.
TEST(FailureInjectionTest, CheckAllAllocationFailuresOverEveryAllocator) {
    const auto scenario = [](auto make) {
        return ziggy::check_all_allocation_failures([&](ziggy::Allocator& backing) {
            auto allocator = make(backing);
            mixed_workload(*allocator);
        });
    };
    for (const auto& report :
         {scenario(maker<ziggy::ScopedAllocator>()), scenario(maker<ziggy::UnmanagedMemoryPool>()),
          scenario(maker<ziggy::HybridAllocator>())}) {
        EXPECT_GT(report.allocations, 0u);
        EXPECT_TRUE(report.ok()) << report.problems.front();
    }
}

} // namespace
