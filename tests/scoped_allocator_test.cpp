// ScopedAllocator: the arena's own promises (blocks, reclaim, reset, accounting,
// sanitizer poisoning). The shared Allocator promises are in contract_test.cpp.
#include <ziggy/detail/sanitizer.hpp>
#include <ziggy/errors.hpp>
#include <ziggy/failing_allocator.hpp>
#include <ziggy/scoped_allocator.hpp>
#include <ziggy/system_allocator.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tracking_allocator.hpp"

namespace {

using ziggy::ScopedAllocator;
using Options = ziggy::ScopedAllocatorOptions;

std::uintptr_t addr(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

// Bytes one allocation of `n` (on an 8-aligned start) occupies in the arena.
std::size_t footprint(std::size_t n) {
    return ScopedAllocator::red_zone == 0 ? n : (n + 7) / 8 * 8 + ScopedAllocator::red_zone;
}

// free() throws NotSupportedError whose message says why and what to do instead.
TEST(ScopedAllocatorTest, FreeThrowsNotSupported) {
    ScopedAllocator arena;
    auto b = arena.allocate<int>(4);
    int* raw = b.release();
    try {
        arena.free(raw);
        FAIL() << "free() did not throw";
    } catch (const ziggy::NotSupportedError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("cannot free one allocation"), std::string::npos) << what;
        EXPECT_NE(what.find("reset()"), std::string::npos) << what;
        EXPECT_NE(what.find("deallocate_bytes"), std::string::npos) << what;
    }
    EXPECT_FALSE(arena.supports_individual_deallocation());
}

// Constructing an arena takes no memory; the first allocation takes one block.
TEST(ScopedAllocatorTest, FirstAllocationTakesInitialBlock) {
    ziggy::SystemAllocator sys;
    ScopedAllocator arena(sys, {.initial_block_size = 1024});
    EXPECT_EQ(sys.total_allocated_bytes(), 0u);
    EXPECT_EQ(arena.block_count(), 0u);
    auto b = arena.allocate<char>(10);
    EXPECT_EQ(sys.total_allocated_bytes(), 1024u);
    EXPECT_EQ(arena.reserved_bytes(), 1024u);
    EXPECT_EQ(arena.block_count(), 1u);
}

// Options below the minimum block size, or a max below the initial size, are rejected.
TEST(ScopedAllocatorTest, BadOptionsThrowInvalidArgument) {
    ziggy::SystemAllocator sys;
    EXPECT_THROW(ScopedAllocator(sys, {.initial_block_size = 0}), std::invalid_argument);
    EXPECT_THROW(ScopedAllocator(sys, {.initial_block_size = 63}), std::invalid_argument);
    EXPECT_THROW(ScopedAllocator(sys, {.initial_block_size = 4096, .max_block_size = 2048}),
                 std::invalid_argument);
    EXPECT_NO_THROW(ScopedAllocator(sys, {.initial_block_size = 64, .max_block_size = 64}));
    EXPECT_EQ(sys.total_allocated_bytes(), 0u);
}

// Regular blocks double in size and stop growing at max_block_size.
TEST(ScopedAllocatorTest, BlocksGrowGeometricallyUpToMax) {
    ziggy::SystemAllocator sys;
    ScopedAllocator arena(sys, {.initial_block_size = 256, .max_block_size = 1024});
    std::vector<std::size_t> reserved;
    while (arena.block_count() < 5) {
        const auto before = arena.block_count();
        (void)arena.allocate_bytes(32);
        if (arena.block_count() != before) reserved.push_back(arena.reserved_bytes());
    }
    EXPECT_EQ(reserved, (std::vector<std::size_t>{256, 768, 1792, 2816, 3840}));
    EXPECT_EQ(arena.next_block_size(), 1024u);
}

// A request larger than half the next block gets a dedicated block; the
// current block keeps serving small requests right where it left off.
TEST(ScopedAllocatorTest, LargeRequestGetsDedicatedBlock) {
    ziggy::SystemAllocator sys;
    ScopedAllocator arena(sys, {.initial_block_size = 1024});
    auto small1 = arena.allocate<std::uint64_t>(2);
    auto large = arena.allocate<char>(1500); // > 2048 / 2, the next block's half
    auto small2 = arena.allocate<std::uint64_t>(2);
    EXPECT_EQ(arena.block_count(), 2u);
    EXPECT_EQ(addr(small2.data()), addr(small1.data()) + footprint(16));
    EXPECT_GE(arena.reserved_bytes(), 1024u + 1500u);
    EXPECT_LE(arena.reserved_bytes(), 1024u + 1500u + ScopedAllocator::block_header_size + 64);
}

// Every power-of-two alignment from 1 to 4096 is honoured, through both layers,
// and the memory keeps what is written to it.
TEST(ScopedAllocatorTest, AlignmentsFrom1To4096) {
    ScopedAllocator arena(ziggy::default_allocator(), {.initial_block_size = 512});
    std::vector<std::pair<unsigned char*, std::size_t>> blocks;
    for (std::size_t align = 1; align <= 4096; align *= 2) {
        for (std::size_t size : {1u, 7u, 64u, 300u}) {
            auto* p = static_cast<unsigned char*>(arena.allocate_bytes(size, align));
            ASSERT_EQ(addr(p) % align, 0u) << "align " << align << " size " << size;
            std::memset(p, static_cast<int>(blocks.size() & 0xFF), size);
            blocks.emplace_back(p, size);
        }
    }
    for (std::size_t i = 0; i < blocks.size(); ++i)
        for (std::size_t j = 0; j < blocks[i].second; ++j)
            ASSERT_EQ(blocks[i].first[j], static_cast<unsigned char>(i & 0xFF));
    struct alignas(4096) Page {
        char bytes[100];
    };
    auto pages = arena.allocate<Page>(3);
    EXPECT_EQ(addr(pages.data()) % 4096, 0u);
}

// An impossible size throws bad_alloc and changes neither the arena's nor the
// backing allocator's accounting.
TEST(ScopedAllocatorTest, HugeSizeThrowsBadAllocAccountingUnchanged) {
    ziggy::SystemAllocator sys;
    ScopedAllocator arena(sys);
    auto keep = arena.allocate<int>(3);
    const auto live = arena.total_allocated_bytes();
    const auto reserved = arena.reserved_bytes();
    const auto backing = sys.total_allocated_bytes();
    EXPECT_THROW((void)arena.allocate<char>(std::size_t(1) << 60), std::bad_alloc);
    EXPECT_THROW((void)arena.allocate_bytes(std::numeric_limits<std::size_t>::max()),
                 std::bad_alloc);
    EXPECT_THROW((void)arena.allocate_bytes(64, std::size_t(1) << 62), std::bad_alloc);
    EXPECT_EQ(arena.try_allocate_bytes(std::numeric_limits<std::size_t>::max() - 3), nullptr);
    EXPECT_EQ(arena.total_allocated_bytes(), live);
    EXPECT_EQ(arena.reserved_bytes(), reserved);
    EXPECT_EQ(sys.total_allocated_bytes(), backing);
}

// count * sizeof(T) overflow on the concrete typed path throws bad_array_new_length.
TEST(ScopedAllocatorTest, OverflowThrowsBadArrayNewLength) {
    ScopedAllocator arena;
    EXPECT_THROW((void)arena.allocate<std::uint64_t>(std::numeric_limits<std::size_t>::max() / 4),
                 std::bad_array_new_length);
    EXPECT_EQ(arena.total_allocated_bytes(), 0u);
    EXPECT_EQ(arena.block_count(), 0u);
}

// The concrete byte layer rejects bad alignments and returns nullptr for size 0.
TEST(ScopedAllocatorTest, ByteLayerBadInput) {
    ScopedAllocator arena;
    EXPECT_THROW((void)arena.allocate_bytes(8, 3), std::invalid_argument);
    EXPECT_THROW((void)arena.allocate_bytes(8, 0), std::invalid_argument);
    EXPECT_EQ(arena.allocate_bytes(0), nullptr);
    EXPECT_TRUE(arena.allocate<int>(0).empty());
    EXPECT_EQ(arena.total_allocated_bytes(), 0u);
}

// A failing backing allocator gives bad_alloc with nothing changed, and the
// arena stays usable.
TEST(ScopedAllocatorTest, BackingFailureThrowsBadAlloc) {
    ziggy_test::TrackingAllocator backing;
    {
        ScopedAllocator arena(backing);
        backing.fail_at(0);
        EXPECT_THROW((void)arena.allocate<int>(4), std::bad_alloc);
        EXPECT_EQ(arena.total_allocated_bytes(), 0u);
        EXPECT_EQ(arena.block_count(), 0u);
        auto ok = arena.allocate<int>(4);
        EXPECT_EQ(arena.total_allocated_bytes(), 16u);
    }
    EXPECT_EQ(backing.live_blocks(), 0u);
    EXPECT_EQ(backing.mismatches(), 0u);
}

// Every backing failure in an arena session (regular, dedicated and reused
// blocks, nested arenas) reaches the caller as bad_alloc and nothing leaks.
TEST(ScopedAllocatorTest, EveryBackingFailureIsBadAllocWithoutLeak) {
    auto report = ziggy::check_all_allocation_failures([](ziggy::Allocator& a) {
        ScopedAllocator arena(a, {.initial_block_size = 256, .max_block_size = 1024});
        for (std::size_t i = 0; i < 40; ++i) (void)arena.allocate_bytes(8 * (1 + i % 9));
        auto big = arena.allocate<char>(5000);
        arena.reset();
        ScopedAllocator inner(arena, {.initial_block_size = 128});
        for (std::size_t i = 0; i < 20; ++i) (void)inner.allocate_bytes(40);
    });
    EXPECT_GT(report.allocations, 5u);
    EXPECT_TRUE(report.ok()) << report.problems.front();
}

// total_allocated_bytes counts requested sizes (not padding) of live
// allocations: any deallocation subtracts, reclaimed or not.
TEST(ScopedAllocatorTest, TotalAllocatedBytesIsExact) {
    ScopedAllocator arena;
    void* a = arena.allocate_bytes(3, 1);
    void* b = arena.allocate_bytes(10, 64);
    void* c = arena.allocate_bytes(5, 8);
    EXPECT_EQ(arena.total_allocated_bytes(), 18u);
    const auto reserved = arena.reserved_bytes();
    arena.deallocate_bytes(b, 10, 64); // not the last: no longer live, space kept
    EXPECT_EQ(arena.total_allocated_bytes(), 8u);
    EXPECT_EQ(arena.reserved_bytes(), reserved);
    arena.deallocate_bytes(c, 5, 8); // the last: reclaimed
    EXPECT_EQ(arena.total_allocated_bytes(), 3u);
    (void)a;
    arena.reset();
    EXPECT_EQ(arena.total_allocated_bytes(), 0u);
}

// Destroying the most recent buffer reclaims its bytes: the next allocation
// reuses its address.
TEST(ScopedAllocatorTest, LastAllocationIsReclaimed) {
    ScopedAllocator arena;
    auto keep = arena.allocate<double>(2);
    double* first = nullptr;
    {
        auto tmp = arena.allocate<double>(8);
        first = tmp.data();
    }
    EXPECT_EQ(arena.total_allocated_bytes(), 16u);
    auto again = arena.allocate<double>(8);
    EXPECT_EQ(again.data(), first);
}

// Buffers destroyed in LIFO order (same alignment, sizes without padding) all
// give their bytes back.
TEST(ScopedAllocatorTest, LifoBuffersAreAllReclaimed) {
    ScopedAllocator arena;
    {
        auto a = arena.allocate<std::uint64_t>(4);
        auto b = arena.allocate<std::uint64_t>(7);
        auto c = arena.allocate<std::uint64_t>(1);
        EXPECT_EQ(arena.total_allocated_bytes(), 96u);
    }
    EXPECT_EQ(arena.total_allocated_bytes(), 0u);
}

// Destroying a buffer that is not the last is allowed, never throws, and
// leaves the others intact; its bytes are no longer counted as live.
TEST(ScopedAllocatorTest, OutOfOrderBufferDestructionIsHarmless) {
    ScopedAllocator arena;
    auto a = arena.allocate<int>(4);
    auto b = arena.allocate<int>(4);
    b.fill(7);
    EXPECT_NO_THROW(a.reset());
    EXPECT_EQ(arena.total_allocated_bytes(), 16u);
    for (int x : b) EXPECT_EQ(x, 7);
}

// Sanitized builds: memory of a buffer destroyed out of order is poisoned, so
// a use after its destruction is an ASan report.
TEST(ScopedAllocatorTest, OutOfOrderDestroyedMemoryIsPoisoned) {
    if (!ziggy::detail::asan_enabled) GTEST_SKIP() << "release variant: no ASan";
    ScopedAllocator arena;
    auto a = arena.allocate<int>(4);
    auto b = arena.allocate<int>(4);
    int* stale = a.data();
    a.reset();
    EXPECT_TRUE(ziggy::detail::is_poisoned(stale));
    EXPECT_FALSE(ziggy::detail::is_poisoned(b.data()));
}

// Deallocating the most recent dedicated block returns it to the backing allocator.
TEST(ScopedAllocatorTest, DedicatedBlockIsReturnedOnDeallocate) {
    ziggy::SystemAllocator sys;
    ScopedAllocator arena(sys, {.initial_block_size = 1024});
    auto small = arena.allocate<int>(1);
    const auto backing_before = sys.total_allocated_bytes();
    {
        auto big = arena.allocate<char>(100000);
        EXPECT_GT(sys.total_allocated_bytes(), backing_before + 100000);
        EXPECT_EQ(arena.total_allocated_bytes(), 4u + 100000u);
    }
    EXPECT_EQ(sys.total_allocated_bytes(), backing_before);
    EXPECT_EQ(arena.total_allocated_bytes(), 4u);
    EXPECT_EQ(arena.block_count(), 1u);
}

// reset() returns all but the newest block and serves new allocations from it
// without asking the backing allocator.
TEST(ScopedAllocatorTest, ResetKeepsOneBlockForReuse) {
    ziggy_test::TrackingAllocator backing;
    ScopedAllocator arena(backing, {.initial_block_size = 256, .max_block_size = 1024});
    for (int i = 0; i < 100; ++i) (void)arena.allocate_bytes(40);
    (void)arena.allocate_bytes(5000); // dedicated
    ASSERT_GT(arena.block_count(), 3u);
    arena.reset();
    EXPECT_EQ(arena.block_count(), 1u);
    EXPECT_EQ(arena.reserved_bytes(), 1024u);
    EXPECT_EQ(backing.live_blocks(), 1u);
    EXPECT_EQ(arena.total_allocated_bytes(), 0u);
    const auto calls = backing.allocation_calls();
    for (int i = 0; i < 10; ++i) (void)arena.allocate_bytes(40);
    EXPECT_EQ(backing.allocation_calls(), calls);
    EXPECT_EQ(backing.mismatches(), 0u);
}

// max_retained_bytes bounds what reset() keeps; reset(0) returns everything.
TEST(ScopedAllocatorTest, ResetRetentionIsBounded) {
    ziggy::SystemAllocator sys;
    ScopedAllocator arena(sys, {.initial_block_size = 256, .max_retained_bytes = 256});
    (void)arena.allocate_bytes(40);
    arena.reset();
    EXPECT_EQ(sys.total_allocated_bytes(), 256u); // first block is within the bound
    for (int i = 0; i < 20; ++i) (void)arena.allocate_bytes(40);
    arena.reset(); // newest block is 512 bytes or more: above the bound
    EXPECT_EQ(sys.total_allocated_bytes(), 0u);
    EXPECT_EQ(arena.block_count(), 0u);
    (void)arena.allocate_bytes(40);
    arena.reset(0);
    EXPECT_EQ(sys.total_allocated_bytes(), 0u);
}

// Destruction returns every block, regular and dedicated, with matching sizes.
TEST(ScopedAllocatorTest, DestructionReturnsEverything) {
    ziggy::SystemAllocator sys;
    ziggy_test::TrackingAllocator tracking;
    {
        ScopedAllocator a(sys, {.initial_block_size = 128, .max_block_size = 2048});
        ScopedAllocator b(tracking, {.initial_block_size = 128, .max_block_size = 2048});
        for (std::size_t i = 1; i < 300; ++i) {
            (void)a.allocate_bytes(i * 3, std::size_t(1) << (i % 13));
            (void)b.allocate_bytes(i * 3, std::size_t(1) << (i % 13));
        }
        EXPECT_GT(sys.total_allocated_bytes(), 0u);
    }
    EXPECT_EQ(sys.total_allocated_bytes(), 0u);
    EXPECT_EQ(tracking.live_blocks(), 0u);
    EXPECT_EQ(tracking.mismatches(), 0u);
}

// An arena can back another arena; the inner one's blocks come back to the
// outer one in LIFO order and are reclaimed.
TEST(ScopedAllocatorTest, NestedArenas) {
    ziggy::SystemAllocator sys;
    ScopedAllocator outer(sys, {.initial_block_size = 1 << 16});
    {
        ScopedAllocator inner(outer, {.initial_block_size = 256, .max_block_size = 1024});
        for (int i = 0; i < 50; ++i) {
            auto b = inner.allocate<std::uint32_t>(20);
            b.fill(static_cast<std::uint32_t>(i));
            (void)b.release();
        }
        EXPECT_EQ(inner.total_allocated_bytes(), 50u * 80u);
        EXPECT_EQ(outer.total_allocated_bytes(), inner.reserved_bytes());
    }
    EXPECT_EQ(outer.total_allocated_bytes(), 0u);
    EXPECT_EQ(outer.block_count(), 1u);
}

// Buffers made through the concrete type and through Allocator& are the same
// kind of buffer, owned by the arena.
TEST(ScopedAllocatorTest, ConcreteAndVirtualPathsAgree) {
    ScopedAllocator arena;
    ziggy::Allocator& base = arena;
    auto x = arena.allocate<int>(5, true);
    auto y = base.allocate<int>(5, true);
    EXPECT_EQ(x.allocator(), &arena);
    EXPECT_EQ(y.allocator(), &arena);
    for (int v : x) EXPECT_EQ(v, 0);
    for (int v : y) EXPECT_EQ(v, 0);
    EXPECT_EQ(arena.total_allocated_bytes(), 40u);
}

// Without a memory checker the arena is a pure bump: no red zone between allocations.
TEST(ScopedAllocatorTest, ReleaseBuildHasNoRedZone) {
    if (ziggy::detail::memory_checker_enabled) GTEST_SKIP() << "sanitized variant: red zones on";
    ScopedAllocator arena;
    char* a = static_cast<char*>(arena.allocate_bytes(5, 1));
    char* b = static_cast<char*>(arena.allocate_bytes(5, 1));
    EXPECT_EQ(b, a + 5);
}

// An arena grown on one thread and then grown on another aborts in debug builds.
TEST(ScopedAllocatorDeathTest, UseFromSecondThreadIsCaught) {
    if (!ScopedAllocator::thread_checks_enabled()) GTEST_SKIP() << "NDEBUG build";
    EXPECT_DEATH(
        {
            ScopedAllocator arena(ziggy::default_allocator(), {.initial_block_size = 256});
            (void)arena.allocate_bytes(16);
            std::thread([&] { (void)arena.allocate_bytes(100000); }).join();
        },
        "used from a second thread");
}

// After reset() an arena may move to another thread.
TEST(ScopedAllocatorTest, ResetHandsArenaToAnotherThread) {
    ScopedAllocator arena(ziggy::default_allocator(), {.initial_block_size = 256});
    (void)arena.allocate_bytes(16);
    arena.reset(0);
    std::thread([&] {
        (void)arena.allocate_bytes(100000);
        arena.reset(0);
    }).join();
    (void)arena.allocate_bytes(16);
    EXPECT_EQ(arena.total_allocated_bytes(), 16u);
}

// ---- sanitized variant: the arena's slack, red zones and reset memory are poisoned.

[[gnu::noinline]] void write_byte(char* p, std::size_t i) { p[i] = 1; }
[[gnu::noinline]] char read_byte(const char* p, std::ptrdiff_t i) {
    return *static_cast<const volatile char*>(p + i); // volatile: the load must happen
}

// Writing one byte past a buffer inside the arena is an ASan report, also
// when the buffer ends mid-granule and when the next allocation follows it.
TEST(ScopedAllocatorDeathTest, OverrunInsideArenaIsReported) {
    if (!ziggy::detail::asan_enabled) GTEST_SKIP() << "release variant: no ASan";
    ScopedAllocator arena;
    auto odd = arena.allocate<char>(13);
    auto even = arena.allocate<char>(16);
    auto next = arena.allocate<char>(16);
    EXPECT_DEATH(write_byte(odd.data(), 13), "use-after-poison");
    EXPECT_DEATH(write_byte(even.data(), 16), "use-after-poison");
    EXPECT_DEATH((void)read_byte(even.data(), 17), "AddressSanitizer");
    EXPECT_DEATH((void)read_byte(next.data(), -1), "AddressSanitizer");
}

// The unused rest of a block and a dedicated block's slack are poisoned.
TEST(ScopedAllocatorTest, SlackIsPoisoned) {
    if (!ziggy::detail::asan_enabled) GTEST_SKIP() << "release variant: no ASan";
    ScopedAllocator arena(ziggy::default_allocator(), {.initial_block_size = 1024});
    char* p = static_cast<char*>(arena.allocate_bytes(24, 8));
    EXPECT_FALSE(ziggy::detail::is_poisoned(p + 23));
    for (std::size_t i = 24; i < 600; ++i) ASSERT_TRUE(ziggy::detail::is_poisoned(p + i)) << i;
    char* big = static_cast<char*>(arena.allocate_bytes(1000, 8));
    EXPECT_TRUE(ziggy::detail::is_poisoned(big - 1));
    EXPECT_TRUE(ziggy::detail::is_poisoned(big + 1000));
}

// reset() and reclaiming the last allocation poison the released memory.
TEST(ScopedAllocatorTest, ResetAndReclaimPoison) {
    if (!ziggy::detail::asan_enabled) GTEST_SKIP() << "release variant: no ASan";
    ScopedAllocator arena;
    char* kept = static_cast<char*>(arena.allocate_bytes(32));
    char* last = static_cast<char*>(arena.allocate_bytes(32));
    arena.deallocate_bytes(last, 32);
    EXPECT_TRUE(ziggy::detail::is_poisoned(last));
    EXPECT_FALSE(ziggy::detail::is_poisoned(kept));
    arena.reset();
    for (std::size_t i = 0; i < 32; ++i) ASSERT_TRUE(ziggy::detail::is_poisoned(kept + i));
    EXPECT_DEATH((void)read_byte(kept, 0), "use-after-poison");
}

// Places the first block so that the byte after its 16-byte header is 4096-aligned,
// and each later block directly below the previous one (found by scope_defer_fuzzer).
class PlacingBacking final : public ziggy::Allocator {
public:
    [[nodiscard]] bool supports_individual_deallocation() const noexcept override { return true; }
    [[nodiscard]] std::size_t total_allocated_bytes() const noexcept override { return live_; }
    [[nodiscard]] std::size_t blocks() const noexcept { return blocks_; }

private:
    void* do_allocate(std::size_t size, std::size_t, bool,
                      const ziggy::CallSite&) noexcept override {
        next_ = next_ == 0 ? 2 * 4096 - 16 : (next_ - size) & ~std::size_t{15};
        live_ += size;
        ++blocks_;
        return storage_ + next_;
    }
    void do_deallocate(void*, std::size_t size, std::size_t) noexcept override {
        live_ -= size;
        --blocks_;
    }
    void do_free(void*) override {}

    alignas(4096) char storage_[4 * 4096];
    std::size_t next_ = 0;
    std::size_t live_ = 0;
    std::size_t blocks_ = 0;
};

// Freeing an older dedicated allocation that starts where the newest dedicated
// block's allocation would for its alignment reclaims nothing (and the newest
// block stays).
TEST(ScopedAllocatorTest, OlderDedicatedAllocationAtAlignedAliasIsNotReclaimed) {
    PlacingBacking backing;
    ScopedAllocator arena(backing, {.initial_block_size = 64});
    void* older = arena.allocate_bytes(513, 4096); // dedicated, at a 4096 boundary
    void* newest = arena.allocate_bytes(255, 1);   // dedicated, just below it
    ASSERT_EQ(backing.blocks(), 2u);
    arena.deallocate_bytes(older, 513, 4096); // no longer live, but its block stays
    EXPECT_EQ(arena.total_allocated_bytes(), 255u);
    EXPECT_EQ(backing.blocks(), 2u);
    arena.deallocate_bytes(newest, 255, 1); // the newest: its block goes back
    EXPECT_EQ(arena.total_allocated_bytes(), 0u);
    EXPECT_EQ(backing.blocks(), 1u);
}

} // namespace
