#include <ziggy/system_allocator.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <new>
#include <thread>
#include <vector>

namespace {

// Constant-initialised, so a static object's initialiser may use it whatever
// the order of initialisation across translation units (this line stops
// compiling when an allocator's construction needs code at run time).
constinit ziggy::SystemAllocator constant_initialised_allocator;

TEST(SystemAllocatorTest, ConstantInitialisedInstanceWorks) {
    {
        auto b = constant_initialised_allocator.allocate<std::uint32_t>(5);
        b[4] = 7;
        EXPECT_EQ(b[4], 7u);
        EXPECT_EQ(constant_initialised_allocator.total_allocated_bytes(), 20u);
        void* p = constant_initialised_allocator.allocate_bytes(100, 64);
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 64, 0u);
        constant_initialised_allocator.deallocate_bytes(p, 100, 64);
        EXPECT_EQ(constant_initialised_allocator.total_allocated_bytes(), 20u);
    } // the Buffer frees through the (non-pool) inline free path
    EXPECT_EQ(constant_initialised_allocator.total_allocated_bytes(), 0u);
}

// Accounting counts the requested bytes exactly, not malloc's rounding.
TEST(SystemAllocatorTest, AccountingIsExact) {
    ziggy::SystemAllocator sys;
    auto a = sys.allocate<char>(3);
    auto b = sys.allocate<char>(61);
    EXPECT_EQ(sys.total_allocated_bytes(), 64u);
    a.reset();
    EXPECT_EQ(sys.total_allocated_bytes(), 61u);
}

// Each instance counts only its own allocations.
TEST(SystemAllocatorTest, InstancesCountSeparately) {
    ziggy::SystemAllocator a, b;
    auto x = a.allocate<int>(10);
    EXPECT_EQ(a.total_allocated_bytes(), 40u);
    EXPECT_EQ(b.total_allocated_bytes(), 0u);
}

// Every power-of-two alignment up to a page is honoured, by both layers.
TEST(SystemAllocatorTest, HonoursEveryAlignment) {
    ziggy::SystemAllocator sys;
    for (std::size_t align = 1; align <= 8192; align *= 2) {
        void* p = sys.allocate_bytes(24, align);
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % align, 0u) << align;
        std::memset(p, 0xAB, 24);
        sys.deallocate_bytes(p, 24, align);
        void* q = sys.allocate_bytes(24, align);
        sys.free(q); // unsized free of an over-aligned block
    }
    EXPECT_EQ(sys.total_allocated_bytes(), 0u);
}

// Over-aligned element types get their alignment from the typed API.
TEST(SystemAllocatorTest, OverAlignedTypes) {
    struct alignas(128) Line {
        char b[128];
    };
    ziggy::SystemAllocator sys;
    auto lines = sys.allocate<Line>(5, true);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(lines.data()) % 128, 0u);
    for (const Line& l : lines)
        for (char c : l.b) EXPECT_EQ(c, 0);
}

// zero_memory zeroes, for plain and over-aligned blocks.
TEST(SystemAllocatorTest, ZeroMemory) {
    ziggy::SystemAllocator sys;
    for (std::size_t align : {8u, 16u, 64u, 4096u}) {
        auto* p = static_cast<unsigned char*>(sys.allocate_bytes(5000, align, true));
        for (std::size_t i = 0; i < 5000; ++i) ASSERT_EQ(p[i], 0) << i;
        sys.free(p);
    }
}

// An impossible size throws std::bad_alloc and leaves the accounting as it was.
TEST(SystemAllocatorTest, ImpossibleSizeThrowsBadAlloc) {
    ziggy::SystemAllocator sys;
    auto keep = sys.allocate<int>(1);
    EXPECT_THROW((void)sys.allocate<char>(std::size_t(1) << 60), std::bad_alloc);
    EXPECT_THROW((void)sys.allocate_bytes(ziggy::detail::max_object_size), std::bad_alloc);
    EXPECT_EQ(sys.try_allocate_bytes(std::size_t(1) << 60, 4096), nullptr);
    EXPECT_EQ(sys.total_allocated_bytes(), 4u);
}

// default_allocator() is one process-wide instance.
TEST(SystemAllocatorTest, DefaultAllocatorIsASingleton) {
    EXPECT_EQ(&ziggy::default_allocator(), &ziggy::default_allocator());
    EXPECT_TRUE(ziggy::default_allocator().supports_individual_deallocation());
}

// Concurrent allocations and frees keep the accounting exact.
TEST(SystemAllocatorTest, AccountingExactUnderConcurrency) {
    ziggy::SystemAllocator sys;
    constexpr int threads = 4;
    constexpr int rounds = 20000;
    std::atomic<bool> go{false};
    std::vector<std::thread> pool;
    std::vector<ziggy::Buffer<std::uint32_t>> kept(threads);
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            while (!go.load()) std::this_thread::yield();
            for (int i = 0; i < rounds; ++i) {
                auto b = sys.allocate<std::uint32_t>(1 + (i % 37));
                b.fill(static_cast<std::uint32_t>(t));
                for (auto v : b) ASSERT_EQ(v, static_cast<std::uint32_t>(t));
            }
            kept[t] = sys.allocate<std::uint32_t>(static_cast<std::size_t>(t) + 1);
        });
    }
    go = true;
    for (auto& th : pool) th.join();
    EXPECT_EQ(sys.total_allocated_bytes(), (1 + 2 + 3 + 4) * sizeof(std::uint32_t));
    kept.clear();
    EXPECT_EQ(sys.total_allocated_bytes(), 0u);
}

} // namespace
