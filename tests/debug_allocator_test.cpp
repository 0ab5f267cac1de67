// DebugAllocator: leak records, leak modes, guards, composition with other
// allocators. Invalid frees, quarantine, reactions and ASan are in
// debug_allocator_errors_test.cpp.
#include <ziggy/debug_allocator.hpp>
#include <ziggy/detail/sanitizer.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "debug_test_support.hpp"
#include "tracking_allocator.hpp"

namespace {

using ziggy::DebugAllocator;
using ziggy::DebugErrorKind;
using ziggy::DebugOptions;
using ziggy::DebugReport;
using ziggy::ErrorReaction;
using ziggy::GuardSide;
using ziggy::LeakReportingMode;
using ziggy_test::Capture;
using ziggy_test::poke;

std::string here(int line) { return ziggy_test::site_text(__FILE__, line); }

// ---------------------------------------------------------------- tracking

// A leak record carries the caller's exact file, line and function.
TEST(DebugAllocatorTest, LeakRecordCarriesCallerSite) {
    DebugAllocator d("t", ziggy::default_allocator(), LeakReportingMode::ignore);
    auto b = d.allocate<int>(4);
    const int line = __LINE__ - 1; // the line above
    void* raw = d.allocate_bytes(24, 8);
    const int raw_line = __LINE__ - 1; // the line above
    const auto leaks = d.leaks();
    ASSERT_EQ(leaks.size(), 2u);
    EXPECT_STREQ(leaks[0].site.file, __FILE__);
    EXPECT_EQ(leaks[0].site.line, line);
    EXPECT_STREQ(leaks[0].site.function, __builtin_FUNCTION());
    EXPECT_EQ(leaks[0].size, 16u);
    EXPECT_EQ(leaks[0].alignment, alignof(int));
    EXPECT_EQ(leaks[0].address, b.data());
    EXPECT_EQ(leaks[1].site.line, raw_line);
    EXPECT_LT(leaks[0].sequence, leaks[1].sequence);
    d.deallocate_bytes(raw, 24, 8);
}

// Count and byte total follow allocations and frees exactly.
TEST(DebugAllocatorTest, CountAndBytesAreExact) {
    DebugAllocator d("t");
    auto a = d.allocate<char>(13);
    auto b = d.allocate<double>(3);
    EXPECT_EQ(d.tracked_allocation_count(), 2u);
    EXPECT_EQ(d.total_allocated_bytes(), 13u + 24u);
    a.reset();
    EXPECT_EQ(d.tracked_allocation_count(), 1u);
    EXPECT_EQ(d.total_allocated_bytes(), 24u);
    auto none = d.allocate<int>(0);
    EXPECT_EQ(d.tracked_allocation_count(), 1u);
}

// A failed backing allocation throws bad_alloc and records nothing.
TEST(DebugAllocatorTest, BackingFailureThrowsAndRecordsNothing) {
    ziggy_test::TrackingAllocator backing;
    DebugAllocator d("t", backing);
    backing.fail_at(0);
    EXPECT_THROW((void)d.allocate<int>(4), std::bad_alloc);
    EXPECT_EQ(d.tracked_allocation_count(), 0u);
    EXPECT_EQ(d.total_allocated_bytes(), 0u);
}

// New memory holds the fresh pattern, unless zeroing was asked.
TEST(DebugAllocatorTest, FreshMemoryIsPaintedUnlessZeroed) {
    DebugAllocator d("t");
    auto fresh = d.allocate<unsigned char>(37);
    for (unsigned char c : fresh) ASSERT_EQ(c, 0xCD);
    auto zero = d.allocate<unsigned char>(37, true);
    for (unsigned char c : zero) ASSERT_EQ(c, 0);
}

// ---------------------------------------------------------------- leaks

// ignore: report_memory_leaks counts but says nothing.
TEST(DebugAllocatorTest, LeakModeIgnoreIsSilent) {
    Capture cap;
    DebugAllocator d("quiet", ziggy::default_allocator(), LeakReportingMode::ignore, cap.options());
    auto b = d.allocate<int>(2);
    EXPECT_EQ(d.report_memory_leaks(), 1u);
    EXPECT_TRUE(cap.lines->empty());
}

// log: one line per leak, `file:line (function): N bytes`, under the name.
TEST(DebugAllocatorTest, LeakModeLogListsEveryLeak) {
    Capture cap;
    DebugAllocator d("logger", ziggy::default_allocator(), LeakReportingMode::log, cap.options());
    auto b = d.allocate<char>(12);
    const int line = __LINE__ - 1; // the line above
    EXPECT_EQ(d.report_memory_leaks(), 1u);
    EXPECT_TRUE(cap.logged("'logger'"));
    EXPECT_TRUE(cap.logged(here(line) + " (TestBody): 12 bytes"));
}

// No leaks: nothing is reported in any mode.
TEST(DebugAllocatorTest, NoLeaksReportsNothing) {
    Capture cap;
    DebugAllocator d("t", ziggy::default_allocator(), LeakReportingMode::throw_exception,
                     cap.options());
    { auto b = d.allocate<int>(8); }
    EXPECT_EQ(d.report_memory_leaks(), 0u);
    EXPECT_TRUE(cap.lines->empty());
}

// throw_exception: MemoryLeakError lists every leak and carries the records.
TEST(DebugAllocatorTest, LeakModeThrowCarriesRecords) {
    Capture cap;
    DebugAllocator d("thrower", ziggy::default_allocator(), LeakReportingMode::throw_exception,
                     cap.options());
    auto a = d.allocate<char>(10);
    const int line_a = __LINE__ - 1; // the line above
    auto b = d.allocate<std::uint64_t>(4);
    const int line_b = __LINE__ - 1; // the line above
    try {
        d.report_memory_leaks();
        FAIL() << "no MemoryLeakError";
    } catch (const ziggy::MemoryLeakError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("'thrower'"), std::string::npos) << what;
        EXPECT_NE(what.find(here(line_a) + " (TestBody): 10 bytes"), std::string::npos) << what;
        EXPECT_NE(what.find(here(line_b) + " (TestBody): 32 bytes"), std::string::npos) << what;
        ASSERT_EQ(e.leaks().size(), 2u);
        EXPECT_EQ(e.leaks()[0].site.line, line_a);
        EXPECT_EQ(e.leaks()[1].size, 32u);
    }
}

// throw_exception at destruction logs instead: a destructor never throws.
TEST(DebugAllocatorTest, LeakModeThrowLogsAtDestruction) {
    Capture cap;
    {
        DebugAllocator d("dtor", ziggy::default_allocator(), LeakReportingMode::throw_exception,
                         cap.options());
        (void)d.allocate<int>(5).release();
    }
    EXPECT_TRUE(cap.logged("'dtor': 1 memory leak, 20 bytes"));
}

// The destructor returns leaked and quarantined blocks to the backing allocator.
TEST(DebugAllocatorTest, DestructorReturnsEveryBlock) {
    ziggy_test::TrackingAllocator backing;
    {
        DebugAllocator d("t", backing, LeakReportingMode::ignore);
        (void)d.allocate<int>(5).release();
        { auto q = d.allocate<int>(7); }
        EXPECT_EQ(backing.live_blocks(), 2u);
    }
    EXPECT_EQ(backing.live_blocks(), 0u);
    EXPECT_EQ(backing.mismatches(), 0u);
}

// abort: report_memory_leaks prints the leaks and aborts; so does destruction.
TEST(DebugAllocatorDeathTest, LeakModeAbortDies) {
    EXPECT_DEATH(
        {
            DebugAllocator d("doomed", ziggy::default_allocator(), LeakReportingMode::abort);
            void* p = d.allocate_bytes(7);
            (void)p;
            d.report_memory_leaks();
        },
        "'doomed': 1 memory leak, 7 bytes:\n"
        ".*debug_allocator_test.cpp:[0-9]+ \\(TestBody\\): 7 bytes");
    EXPECT_DEATH(
        {
            DebugAllocator d("doomed", ziggy::default_allocator(), LeakReportingMode::abort);
            (void)d.allocate_bytes(9);
        },
        "'doomed': 1 memory leak, 9 bytes");
}

[[gnu::noinline]] void* allocate_from_helper(DebugAllocator& d) { return d.allocate_bytes(11); }

// capture_stack records the allocation's return addresses and prints them
// under its leak line; without it nothing is recorded.
TEST(DebugAllocatorTest, CaptureStackRecordsFramesForLeaks) {
    Capture cap;
    DebugOptions o = cap.options();
    o.capture_stack = true;
    DebugAllocator d("stacks", ziggy::default_allocator(), LeakReportingMode::log, o);
    void* p = allocate_from_helper(d);
    const std::vector<void*> stack = d.allocation_stack(p);
    ASSERT_GE(stack.size(), 2u);
    d.report_memory_leaks();
    ASSERT_GE(cap.lines->size(), 3u);
    EXPECT_NE((*cap.lines)[1].find(": 11 bytes"), std::string::npos);
    EXPECT_EQ((*cap.lines)[2].rfind("    #0 ", 0), 0u) << (*cap.lines)[2];
    d.free(p);
    EXPECT_TRUE(d.allocation_stack(p).empty());

    DebugAllocator plain("plain", ziggy::default_allocator(), LeakReportingMode::ignore);
    void* q = allocate_from_helper(plain);
    EXPECT_TRUE(plain.allocation_stack(q).empty());
    plain.free(q);
}

// ---------------------------------------------------------------- guards

// Every byte of the buffer can be written: no false positive, any size or alignment.
TEST(DebugAllocatorTest, WritingTheWholeBufferIsNeverReported) {
    Capture cap;
    DebugAllocator d("t", ziggy::default_allocator(), LeakReportingMode::log, cap.options());
    for (std::size_t align = 1; align <= 128; align *= 2) {
        for (std::size_t size = 1; size <= 70; ++size) {
            void* p = d.allocate_bytes(size, align);
            ASSERT_TRUE(ziggy::detail::is_aligned(p, align));
            std::memset(p, 0x00, size);
            std::memset(p, 0xFF, size);
            EXPECT_EQ(d.check_guards(), 0u);
            d.deallocate_bytes(p, size, align);
        }
    }
    EXPECT_TRUE(cap.reports->empty());
    EXPECT_TRUE(cap.lines->empty());
}

// Every overrun offset within the guard width (plus the padding up to the next
// 8-byte boundary) is found at free, as +size+k.
TEST(DebugAllocatorTest, EveryOverrunOffsetIsDetected) {
    Capture cap;
    DebugAllocator d("t", ziggy::default_allocator(), LeakReportingMode::log, cap.options());
    for (std::size_t size : {1u, 13u, 16u}) {
        for (std::size_t k = 0; k < 16 + (ziggy::detail::align_up(size, 8) - size); ++k) {
            cap.reports->clear();
            auto* p = static_cast<char*>(d.allocate_bytes(size));
            const int line = __LINE__ - 1; // the line above
            poke(p, static_cast<std::ptrdiff_t>(size + k));
            d.deallocate_bytes(p, size);
            ASSERT_EQ(cap.reports->size(), 1u) << size << " " << k;
            const DebugReport& r = cap.reports->front();
            EXPECT_EQ(r.kind, DebugErrorKind::guard_damaged);
            EXPECT_EQ(r.side, GuardSide::overrun);
            EXPECT_EQ(r.offset, static_cast<std::ptrdiff_t>(size + k));
            EXPECT_EQ(r.allocation.size, size);
            EXPECT_EQ(r.allocation.site.line, line);
        }
    }
}

// Every underrun offset within the front guard (the guard width, rounded up to
// the alignment) is found at free, as -k.
TEST(DebugAllocatorTest, EveryUnderrunOffsetIsDetected) {
    Capture cap;
    DebugAllocator d("t", ziggy::default_allocator(), LeakReportingMode::log, cap.options());
    for (std::size_t align : {1u, 8u, 64u}) {
        const auto front = static_cast<std::ptrdiff_t>(std::max<std::size_t>(align, 16));
        for (std::ptrdiff_t k = 1; k <= front; ++k) {
            cap.reports->clear();
            auto* p = static_cast<char*>(d.allocate_bytes(24, align));
            poke(p, -k);
            d.deallocate_bytes(p, 24, align);
            ASSERT_EQ(cap.reports->size(), 1u) << align << " " << k;
            EXPECT_EQ(cap.reports->front().side, GuardSide::underrun);
            EXPECT_EQ(cap.reports->front().offset, -k);
        }
    }
}

// The report names the allocator, the side, the offset, the size and the site.
TEST(DebugAllocatorTest, GuardReportMessageIsComplete) {
    Capture cap;
    DebugAllocator d("parser", ziggy::default_allocator(), LeakReportingMode::log, cap.options());
    auto b = d.allocate<int>(16);
    const int line = __LINE__ - 1; // the line above
    poke(b.data(), 64 + 2);
    b.reset();
    EXPECT_TRUE(
        cap.logged("ziggy::DebugAllocator 'parser': overrun at +66 of the 64-byte allocation"))
        << (cap.lines->empty() ? "" : cap.lines->front());
    EXPECT_TRUE(cap.logged(here(line) + " (TestBody)"));
}

// A wider guard option is honoured: damage at its far end is still found.
TEST(DebugAllocatorTest, GuardWidthIsConfigurable) {
    Capture cap;
    DebugOptions o = cap.options();
    o.guard_width = 37; // rounded up to 40
    DebugAllocator d("t", ziggy::default_allocator(), LeakReportingMode::log, o);
    auto* p = static_cast<char*>(d.allocate_bytes(8));
    poke(p, 8 + 39);
    poke(p, -40);
    d.deallocate_bytes(p, 8);
    ASSERT_EQ(cap.reports->size(), 1u);
    EXPECT_EQ(cap.reports->front().offset, 47);
}

// check_guards finds damage in live blocks, reports it once, and keeps them usable.
TEST(DebugAllocatorTest, CheckGuardsScansLiveBlocks) {
    Capture cap;
    DebugAllocator d("t", ziggy::default_allocator(), LeakReportingMode::log, cap.options());
    auto ok = d.allocate<char>(10);
    auto bad = d.allocate<char>(10);
    poke(bad.data(), -1);
    EXPECT_EQ(d.check_guards(), 1u);
    EXPECT_EQ(cap.reports->front().offset, -1);
    EXPECT_EQ(d.check_guards(), 0u); // repainted
    bad.reset();
    EXPECT_EQ(cap.reports->size(), 1u);
}

// Guard damage found at destruction is reported too.
TEST(DebugAllocatorTest, DestructorChecksGuards) {
    Capture cap;
    {
        DebugAllocator d("t", ziggy::default_allocator(), LeakReportingMode::ignore, cap.options());
        void* p = d.allocate_bytes(5);
        poke(p, 5);
    }
    EXPECT_TRUE(cap.logged("overrun at +5"));
}

// ---------------------------------------------------------------- composition

// Over-aligned blocks keep their alignment and their guards.
TEST(DebugAllocatorTest, OverAlignedTypesKeepAlignment) {
    struct alignas(256) Page {
        unsigned char b[100];
    };
    Capture cap;
    DebugAllocator d("t", ziggy::default_allocator(), LeakReportingMode::log, cap.options());
    auto pages = d.allocate<Page>(3);
    EXPECT_TRUE(ziggy::detail::is_aligned(pages.data(), 256));
    poke(pages.data(), -256);
    pages.reset();
    ASSERT_EQ(cap.reports->size(), 1u);
    EXPECT_EQ(cap.reports->front().offset, -256);
}

// A backing without individual frees: the flag follows it and free() says so.
TEST(DebugAllocatorTest, IndividualDeallocationFollowsBacking) {
    struct ArenaLike final : ziggy::Allocator {
        ziggy::SystemAllocator sys;
        bool supports_individual_deallocation() const noexcept override { return false; }
        std::size_t total_allocated_bytes() const noexcept override {
            return sys.total_allocated_bytes();
        }
        void* do_allocate(std::size_t n, std::size_t a, bool z,
                          const ziggy::CallSite& s) noexcept override {
            return sys.try_allocate_bytes(n, a, z, s);
        }
        void do_deallocate(void* p, std::size_t n, std::size_t a) noexcept override {
            sys.deallocate_bytes(p, n, a);
        }
        void do_free(void*) override { throw ziggy::NotSupportedError("arena"); }
    } arena;
    DebugAllocator over_system("t");
    EXPECT_TRUE(over_system.supports_individual_deallocation());
    DebugAllocator d("t", arena);
    EXPECT_FALSE(d.supports_individual_deallocation());
    void* p = d.allocate_bytes(8);
    EXPECT_THROW(d.free(p), ziggy::NotSupportedError);
    d.deallocate_bytes(p, 8);
    EXPECT_EQ(d.tracked_allocation_count(), 0u);
}

// Four threads allocate, write and free at once: exact accounting, no report.
TEST(DebugAllocatorTest, ConcurrentUseIsExactAndSilent) {
    Capture cap;
    ziggy_test::TrackingAllocator backing;
    {
        DebugAllocator d("mt", backing, LeakReportingMode::log, cap.options());
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&d, t] {
                std::vector<ziggy::Buffer<std::uint32_t>> live;
                for (int i = 0; i < 3000; ++i) {
                    live.push_back(d.allocate<std::uint32_t>(1 + (i * 7 + t) % 50));
                    live.back().fill(static_cast<std::uint32_t>(t));
                    if (live.size() > 8) live.erase(live.begin());
                    if (i % 500 == 0) d.check_guards();
                }
            });
        for (auto& th : threads) th.join();
        EXPECT_EQ(d.total_allocated_bytes(), 0u);
        EXPECT_EQ(d.tracked_allocation_count(), 0u);
    }
    EXPECT_TRUE(cap.lines->empty());
    EXPECT_EQ(backing.live_blocks(), 0u);
    EXPECT_EQ(backing.mismatches(), 0u);
}

} // namespace
