// The bad-input matrix of the README, one test per row: every misuse and what
// the user gets for it. Rows about memory bugs say what the DebugAllocator
// reports in the release variant and what ASan reports in the sanitized one.
#include <ziggy/ziggy.hpp>
#include <ziggy/detail/sanitizer.hpp>

#include "exception_message.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <span>
#include <stdexcept>
#include <string>

namespace {

using ziggy::detail::asan_enabled;

// Debug allocator that throws on corruption and invalid frees.
ziggy::DebugAllocator throwing_debug(const char* name) {
    ziggy::DebugOptions options;
    options.reaction = ziggy::ErrorReaction::throw_exception;
    return ziggy::DebugAllocator(name, ziggy::default_allocator(), ziggy::LeakReportingMode::ignore,
                                 std::move(options));
}

using ziggy_test::message_of;

// Size overflow: count * sizeof(T) does not fit, or fits but exceeds
// PTRDIFF_MAX (no array of that size exists), on the system, a pool and a
// hybrid.
TEST(BadInputTest, SizeOverflow) {
    ziggy::SystemAllocator sys;
    ziggy::UnmanagedMemoryPool pool;
    ziggy::HybridAllocator hybrid;
    constexpr auto past_ptrdiff =
        static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max()) + 1;
    for (ziggy::Allocator* a :
         {static_cast<ziggy::Allocator*>(&sys), static_cast<ziggy::Allocator*>(&pool),
          static_cast<ziggy::Allocator*>(&hybrid)}) {
        EXPECT_THROW((void)a->allocate<double>(std::numeric_limits<std::size_t>::max() / 4),
                     std::bad_array_new_length);
        EXPECT_THROW((void)a->allocate<char>(past_ptrdiff), std::bad_array_new_length);
        EXPECT_THROW((void)a->allocate<std::uint32_t>(past_ptrdiff / 4), std::bad_array_new_length);
        EXPECT_EQ(a->total_allocated_bytes(), 0u);
    }
    EXPECT_THROW((void)hybrid.allocate<char>(past_ptrdiff), std::bad_array_new_length);
    EXPECT_THROW((void)pool.allocate<char>(past_ptrdiff), std::bad_array_new_length);
}

// `true` where the byte layer takes the alignment (the typed calls take
// `zero_memory` second) would be alignment 1 and memory not zeroed: it does
// not compile, on any allocator; the alignment as a number does.
template <class A>
concept TakesBoolAlignment = requires(A& a, std::span<void*> out) {
    a.allocate_bytes(64, true);
}
|| requires(A& a) { a.try_allocate_bytes(64, true); };
template <class A>
concept BulkTakesBoolAlignment = requires(A& a, std::span<void*> out) {
    a.allocate_bulk(out, 64, true);
};
template <class A>
concept TakesAlignment = requires(A& a, std::span<void*> out) {
    a.allocate_bytes(64, 16, true);
    a.try_allocate_bytes(64, 16, true);
};
static_assert(!TakesBoolAlignment<ziggy::Allocator>);
static_assert(!TakesBoolAlignment<ziggy::UnmanagedMemoryPool>);
static_assert(!TakesBoolAlignment<ziggy::HybridAllocator>);
static_assert(!TakesBoolAlignment<ziggy::ScopedAllocator>);
static_assert(!TakesBoolAlignment<ziggy::SystemAllocator>);
static_assert(!TakesBoolAlignment<ziggy::DebugAllocator>);
static_assert(!TakesBoolAlignment<ziggy::FailingAllocator>);
static_assert(TakesAlignment<ziggy::ScopedAllocator>);
static_assert(!BulkTakesBoolAlignment<ziggy::UnmanagedMemoryPool>);
static_assert(!BulkTakesBoolAlignment<ziggy::HybridAllocator>);
static_assert(TakesAlignment<ziggy::UnmanagedMemoryPool>);
static_assert(requires(ziggy::HybridAllocator & h, std::span<void*> out) {
    h.allocate_bulk(out, 64, 16, true);
});

TEST(BadInputTest, ZeroMemoryIsTheThirdArgumentOfTheByteLayer) {
    ziggy::UnmanagedMemoryPool pool;
    void* dirty = pool.allocate_bytes(64);
    std::memset(dirty, 0xAB, 64);
    pool.deallocate_bytes(dirty, 64);
    auto* p = static_cast<unsigned char*>(pool.allocate_bytes(64, 16, true)); // the same block
    EXPECT_EQ(p, dirty);
    for (int i = 0; i < 64; ++i) EXPECT_EQ(p[i], 0) << i;
    pool.deallocate_bytes(p, 64);
}

// Huge size: more than the system can give.
TEST(BadInputTest, HugeSize) {
    ziggy::SystemAllocator sys;
    EXPECT_THROW((void)sys.allocate<char>(std::size_t(1) << 62), std::bad_alloc);
    EXPECT_EQ(sys.total_allocated_bytes(), 0u);
}

// Zero count: an empty buffer, nothing allocated.
TEST(BadInputTest, ZeroCount) {
    ziggy::SystemAllocator sys;
    auto b = sys.allocate<int>(0);
    EXPECT_TRUE(b.empty());
    EXPECT_FALSE(b.valid());
    EXPECT_EQ(sys.total_allocated_bytes(), 0u);
}

// A pool's bulk allocation that cannot be served whole (a bad alignment, an
// impossible size, the base failing at any one of its blocks): a clear
// error, no block left allocated (the base gets every block back), and only
// nullptr in `out`.
TEST(BadInputTest, PoolBulkAllocationFailure) {
    ziggy::UnmanagedMemoryPool pool;
    int sentinel = 0;
    std::array<void*, 4> out{};
    out.fill(&sentinel);
    const auto msg = message_of<std::invalid_argument>([&] { pool.allocate_bulk(out, 64, 48); });
    EXPECT_NE(msg.find("alignment 48 is not a power of two"), std::string::npos) << msg;
    EXPECT_EQ(out, (std::array<void*, 4>{}));
    out.fill(&sentinel);
    EXPECT_THROW(pool.allocate_bulk(out, std::size_t(1) << 62), std::bad_alloc);
    EXPECT_EQ(out, (std::array<void*, 4>{}));
    EXPECT_EQ(pool.total_allocated_bytes(), 0u);
    const auto report = ziggy::check_all_allocation_failures([](ziggy::Allocator& base) {
        ziggy::UnmanagedMemoryPool bulk_pool(base);
        std::array<void*, 20> blocks{};
        try {
            bulk_pool.allocate_bulk(blocks, 64);
        } catch (const std::bad_alloc&) {
            EXPECT_EQ(blocks, (std::array<void*, 20>{}));
            EXPECT_EQ(bulk_pool.total_allocated_bytes(), 0u);
            throw;
        }
        bulk_pool.deallocate_bulk(blocks, 64);
    });
    EXPECT_TRUE(report.ok()) << (report.ok() ? "" : report.problems.front());
    EXPECT_EQ(report.allocations, 20u); // one base block each: every failure point was tried
}

// The hybrid's bulk call on its direct route: the alignment's message, and
// a failure at each of its backing's calls gives every block back.
TEST(BadInputTest, HybridBulkAllocationFailure) {
    ziggy::HybridAllocator hybrid;
    int sentinel = 0;
    std::array<void*, 4> out{};
    out.fill(&sentinel);
    const auto msg =
        message_of<std::invalid_argument>([&] { hybrid.allocate_bulk(out, 50000, 96); });
    EXPECT_NE(msg.find("alignment 96 is not a power of two"), std::string::npos) << msg;
    EXPECT_EQ(out, (std::array<void*, 4>{}));
    const auto report = ziggy::check_all_allocation_failures([](ziggy::Allocator& base) {
        ziggy::HybridAllocator bulk_hybrid(base);
        std::array<void*, 12> blocks{};
        try {
            bulk_hybrid.allocate_bulk(blocks, 50000); // direct: one backing block each
        } catch (const std::bad_alloc&) {
            EXPECT_EQ(blocks, (std::array<void*, 12>{}));
            EXPECT_EQ(bulk_hybrid.total_allocated_bytes(), 0u);
            throw;
        }
        bulk_hybrid.deallocate_bulk(blocks, 50000);
    });
    EXPECT_TRUE(report.ok()) << (report.ok() ? "" : report.problems.front());
    EXPECT_EQ(report.allocations, 12u);
}

// Index out of range: std::out_of_range naming index and size.
TEST(BadInputTest, IndexOutOfRange) {
    auto b = ziggy::default_allocator().allocate<int>(3);
    EXPECT_EQ(message_of<std::out_of_range>([&] { (void)b[3]; }),
              "ziggy::Buffer: index 3 is out of range for size 3");
}

// Copy too long: std::invalid_argument, buffer unchanged.
TEST(BadInputTest, CopyTooLong) {
    auto b = ziggy::default_allocator().allocate<int>(2, true);
    const std::array<int, 3> src{1, 2, 3};
    EXPECT_THROW(b.copy_from(src), std::invalid_argument);
    EXPECT_EQ(b[0], 0);
}

// Free of nullptr: a no-op everywhere, the arena included.
TEST(BadInputTest, FreeOfNullptr) {
    ziggy::ScopedAllocator arena;
    EXPECT_NO_THROW(arena.free(nullptr));
    EXPECT_NO_THROW(ziggy::default_allocator().free(nullptr));
}

// Free on an arena: NotSupportedError saying what to do instead.
TEST(BadInputTest, FreeOnArena) {
    ziggy::ScopedAllocator arena;
    auto b = arena.allocate<int>(4);
    int* p = b.release();
    const auto msg = message_of<ziggy::NotSupportedError>([&] { arena.free(p); });
    EXPECT_NE(msg.find("reset()"), std::string::npos) << msg;
}

// Double free: the debug allocator names the allocation site; the sanitized
// system allocator finds its header cookie gone and stops.
TEST(BadInputTest, DoubleFree) {
    auto debug = throwing_debug("matrix");
    void* p = debug.allocate_bytes(24);
    debug.free(p);
    const auto msg = message_of<ziggy::InvalidFreeError>([&] { debug.free(p); });
    EXPECT_NE(msg.find("double free"), std::string::npos) << msg;
    EXPECT_NE(msg.find(__FILE__), std::string::npos) << msg;
    if (asan_enabled) {
        EXPECT_DEATH(
            {
                ziggy::SystemAllocator sys;
                void* q = sys.allocate_bytes(24);
                sys.free(q);
                sys.free(q);
            },
            "already freed");
    }
}

// Foreign pointer: the debug allocator refuses it and never passes it on.
TEST(BadInputTest, ForeignPointer) {
    auto debug = throwing_debug("matrix");
    int local = 0;
    const auto msg = message_of<ziggy::InvalidFreeError>([&] { debug.free(&local); });
    EXPECT_NE(msg.find("'matrix': free of foreign pointer"), std::string::npos) << msg;
    EXPECT_EQ(debug.total_allocated_bytes(), 0u);
    if (asan_enabled) {
        EXPECT_DEATH(ziggy::default_allocator().free(&local), "did not hand out");
    }
}

// A block freed through the wrong one of two allocators stacked on each
// other: a pool's direct block through the SystemAllocator under the pool
// stops with a message naming the pool; the system's own block through the
// pool is refused with InvalidFreeError and stays the caller's.
TEST(BadInputTest, BlockFreedThroughTheWrongAllocator) {
    constexpr std::size_t big = ziggy::detail::max_class_size + 1;
    ziggy::SystemAllocator sys;
    ziggy::HybridAllocator hybrid(sys);
    void* own = sys.allocate_bytes(big);
    EXPECT_THROW(hybrid.free(own), ziggy::InvalidFreeError);
    EXPECT_EQ(sys.total_allocated_bytes(), big);
    sys.free(own);
    EXPECT_DEATH(
        {
            ziggy::SystemAllocator s;
            ziggy::HybridAllocator h(s);
            auto b = h.allocate<double>(8192); // 64 KiB: direct
            s.free(b.release());
        },
        "a block of an UnmanagedMemoryPool \\(or HybridAllocator\\) over this allocator: free "
        "it through that pool");
}

// A block of one pool freed through another (a pool, or a hybrid, whose
// pool is another): `free` throws InvalidFreeError, a sized free (which
// cannot throw) and a bulk free ignore it, and the block stays its pool's,
// which frees and reuses it as before. For each kind of block: pooled, and
// direct with a pool header (over an allocator that is not a
// SystemAllocator) or with the system's header alone (two pools over one
// SystemAllocator).
TEST(BadInputTest, BlockFreedThroughAnotherPool) {
    constexpr std::size_t big = ziggy::detail::max_class_size + 1;
    ziggy::SystemAllocator sys;
    auto debug = std::make_unique<ziggy::DebugAllocator>("under the pools", sys);
    for (ziggy::Allocator* base :
         {static_cast<ziggy::Allocator*>(&sys), static_cast<ziggy::Allocator*>(debug.get())}) {
        ziggy::UnmanagedMemoryPool a(*base);
        ziggy::UnmanagedMemoryPool b(*base);
        ziggy::HybridAllocator h(*base);
        for (const std::size_t size : {std::size_t{64}, big}) {
            void* p = a.allocate_bytes(size);
            // Each other allocator holds a block of its own of the size, so
            // that its list's hot slot is open and empty: the frees reach
            // the inline pushes' tests of the header.
            void* b_own = b.allocate_bytes(size);
            void* h_own = h.allocate_bytes(size);
            for (ziggy::Allocator* other :
                 {static_cast<ziggy::Allocator*>(&b), static_cast<ziggy::Allocator*>(&h)}) {
                const auto msg = message_of<ziggy::InvalidFreeError>([&] { other->free(p); });
                EXPECT_NE(msg.find(other == &b ? "not allocated by this pool"
                                               : "not allocated by this HybridAllocator"),
                          std::string::npos)
                    << msg;
                other->deallocate_bytes(p, size);
                EXPECT_EQ(other->total_allocated_bytes(), size) << size; // its own block
            }
            std::array<void*, 1> one{p};
            b.deallocate_bulk(one, size);
            h.deallocate_bulk(one, size);
            b.deallocate_bytes(b_own, size);
            h.deallocate_bytes(h_own, size);
            EXPECT_EQ(b.total_allocated_bytes(), 0u) << size;
            EXPECT_EQ(b.retained_bytes(), 64u) << size; // its own 64 B block, pooled
            EXPECT_EQ(a.total_allocated_bytes(), size);
            // Still a's: freed and, pooled, handed out again.
            a.deallocate_bytes(p, size);
            EXPECT_EQ(a.total_allocated_bytes(), 0u);
            if (size == 64) {
                void* again = a.allocate_bytes(64);
                EXPECT_EQ(again, p);
                a.free(again);
            }
        }
        // And the other way: the hybrid's blocks (both routes) through a pool.
        auto pooled = h.allocate<double>(4);
        auto direct = h.allocate<double>(big);
        for (void* p : {static_cast<void*>(pooled.data()), static_cast<void*>(direct.data())})
            EXPECT_THROW(a.free(p), ziggy::InvalidFreeError);
        EXPECT_EQ(h.total_allocated_bytes(), 4 * sizeof(double) + big * sizeof(double));
    }
    EXPECT_EQ(debug->tracked_allocation_count(), 0u);
    debug.reset(); // and its quarantine
    EXPECT_EQ(sys.total_allocated_bytes(), 0u);
}

// Interior pointer: reported with its offset into the block.
TEST(BadInputTest, InteriorPointer) {
    auto debug = throwing_debug("matrix");
    auto b = debug.allocate<char>(32);
    const auto msg = message_of<ziggy::InvalidFreeError>([&] { debug.free(b.data() + 8); });
    EXPECT_NE(msg.find("interior pointer"), std::string::npos) << msg;
    EXPECT_NE(msg.find("at +8 of the 32-byte allocation"), std::string::npos) << msg;
    EXPECT_EQ(debug.tracked_allocation_count(), 1u); // the block itself is untouched
    if (asan_enabled) {
        // The sanitized system allocator checks its poisoned header before
        // trusting it.
        EXPECT_DEATH(ziggy::default_allocator().free(
                         static_cast<char*>(ziggy::default_allocator().allocate_bytes(32)) + 8),
                     "did not hand out");
    }
}

// A pool and a hybrid: `free` of an interior or misaligned pointer throws,
// a sized free ignores it; the block stays live and counted (and, sanitized,
// the bytes in front of the pointer are not poisoned by the refusal).
TEST(BadInputTest, InteriorOrMisalignedPointerToAPoolOrHybrid) {
    ziggy::UnmanagedMemoryPool pool;
    ziggy::HybridAllocator hybrid;
    for (ziggy::Allocator* a :
         {static_cast<ziggy::Allocator*>(&pool), static_cast<ziggy::Allocator*>(&hybrid)}) {
        auto* p = static_cast<char*>(a->allocate_bytes(64, 16, /*zero_memory=*/true));
        for (std::size_t off : {1, 8, 16}) {
            EXPECT_THROW(a->free(p + off), ziggy::InvalidFreeError) << off;
            a->deallocate_bytes(p + off, 64 - off);
            EXPECT_EQ(a->total_allocated_bytes(), 64u) << off;
            EXPECT_FALSE(ziggy::detail::is_poisoned(p + off - 1)) << off;
        }
        a->free(p);
        EXPECT_EQ(a->total_allocated_bytes(), 0u);
        // A pointer into malloc's memory (inside it: the 16 bytes the check
        // reads are then the caller's own, defined ones; in front of
        // malloc's own pointer they are malloc's, which ThreadSanitizer and
        // memcheck report reading).
        auto* m = static_cast<char*>(std::calloc(1, 128));
        ASSERT_NE(m, nullptr);
        EXPECT_THROW(a->free(m + 64), ziggy::InvalidFreeError);
        a->deallocate_bytes(m + 64, 64);
        EXPECT_EQ(a->total_allocated_bytes(), 0u);
        std::memset(m, 1, 128); // in sanitized builds, a report if poisoned
        std::free(m);
        // Sanitized builds: malloc's own pointer too. The check reads only
        // ASan's shadow there (release builds would read malloc's chunk
        // header), and leaves it as it was: an underrun is still reported
        // as what it is.
        if (asan_enabled) {
            auto* own = static_cast<char*>(std::malloc(32));
            ASSERT_NE(own, nullptr);
            EXPECT_THROW(a->free(own), ziggy::InvalidFreeError);
            a->deallocate_bytes(own, 32);
            EXPECT_EQ(a->total_allocated_bytes(), 0u);
            EXPECT_DEATH(static_cast<volatile char*>(own)[-1] = 1, "heap-buffer-overflow");
            std::free(own);
        }
    }
}

// Misaligned raw free (a pointer one byte off): an interior pointer to the
// debug allocator.
TEST(BadInputTest, MisalignedRawFree) {
    auto debug = throwing_debug("matrix");
    auto b = debug.allocate<double>(4);
    auto* off = reinterpret_cast<char*>(b.data()) + 1;
    EXPECT_THROW(debug.free(off), ziggy::InvalidFreeError);
    EXPECT_EQ(debug.tracked_allocation_count(), 1u);
    if (asan_enabled) {
        EXPECT_DEATH(ziggy::default_allocator().free(
                         static_cast<char*>(ziggy::default_allocator().allocate_bytes(16)) + 1),
                     "did not hand out");
    }
}

// 1-byte overrun: the debug allocator's guard check reports "overrun at
// +size"; in the sanitized variant ASan stops the write itself.
TEST(BadInputTest, OneByteOverrun) {
    auto debug = throwing_debug("matrix");
    auto b = debug.allocate<char>(10);
    if (asan_enabled) {
        EXPECT_DEATH(b.data()[10] = 1, "AddressSanitizer");
    } else {
        b.data()[10] = 1;
        const auto msg = message_of<ziggy::MemoryCorruptionError>([&] { debug.check_guards(); });
        EXPECT_NE(msg.find("overrun at +10"), std::string::npos) << msg;
        b.data()[10] = static_cast<char>(0xFD); // repair, so the block frees quietly
    }
}

// 1-byte underrun: "underrun at -1"; ASan in the sanitized variant.
TEST(BadInputTest, OneByteUnderrun) {
    auto debug = throwing_debug("matrix");
    auto b = debug.allocate<char>(10);
    if (asan_enabled) {
        EXPECT_DEATH(b.data()[-1] = 1, "AddressSanitizer");
    } else {
        b.data()[-1] = 1;
        const auto msg = message_of<ziggy::MemoryCorruptionError>([&] { debug.check_guards(); });
        EXPECT_NE(msg.find("underrun at -1"), std::string::npos) << msg;
        b.data()[-1] = static_cast<char>(0xFD);
    }
}

// Write after free: the quarantine check reports it; ASan stops it in the
// sanitized variant.
TEST(BadInputTest, WriteAfterFree) {
    auto debug = throwing_debug("matrix");
    auto* p = static_cast<char*>(debug.allocate_bytes(16));
    debug.free(p);
    if (asan_enabled) {
        EXPECT_DEATH(p[3] = 1, "AddressSanitizer");
    } else {
        p[3] = 1;
        const auto msg =
            message_of<ziggy::MemoryCorruptionError>([&] { debug.check_quarantine(); });
        EXPECT_NE(msg.find("write after free at +3 of the 16-byte allocation"), std::string::npos)
            << msg;
    }
}

// Allocator destroyed with live buffers: the debug allocator reports each as a
// leak with its site (here through the log sink) and returns the memory.
TEST(BadInputTest, AllocatorDestroyedWithLiveBuffers) {
    std::string log;
    ziggy::SystemAllocator base;
    {
        ziggy::DebugOptions options;
        options.log_sink = [&log](std::string_view line) { log.append(line); };
        ziggy::DebugAllocator debug("matrix", base, ziggy::LeakReportingMode::log, options);
        auto b = debug.allocate<int>(5);
        (void)b.release(); // the buffer forgets it; the allocator does not
    }
    EXPECT_NE(log.find("1 memory leak"), std::string::npos) << log;
    EXPECT_NE(log.find(__FILE__), std::string::npos) << log;
    EXPECT_EQ(base.total_allocated_bytes(), 0u);
}

} // namespace
