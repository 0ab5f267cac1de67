// DebugAllocator: leak records, guards, invalid frees, quarantine, reactions.
//
// Guard and quarantine bytes are poisoned in the sanitized variant, so tests of
// the allocator's own checks write them through `poke`, which unpoisons the
// byte first; the SanitizedOnly tests prove ASan itself stops a raw write.
#include <ziggy/debug_allocator.hpp>
#include <ziggy/detail/sanitizer.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tracking_allocator.hpp"

namespace {

using ziggy::DebugAllocator;
using ziggy::DebugErrorKind;
using ziggy::DebugOptions;
using ziggy::DebugReport;
using ziggy::ErrorReaction;
using ziggy::GuardSide;
using ziggy::LeakReportingMode;

// Writes one byte the allocator guards, bypassing ASan's poison.
void poke(void* base, std::ptrdiff_t offset, unsigned char value = 0) {
    auto* p = static_cast<unsigned char*>(base) + offset;
    ziggy::detail::unpoison(p, 1);
    *p = value;
}

// Collects log lines and structured reports.
struct Capture {
    std::shared_ptr<std::vector<std::string>> lines = std::make_shared<std::vector<std::string>>();
    std::shared_ptr<std::vector<DebugReport>> reports = std::make_shared<std::vector<DebugReport>>();

    DebugOptions options(ErrorReaction reaction = ErrorReaction::log) const {
        DebugOptions o;
        o.reaction = reaction;
        o.log_sink = [l = lines](std::string_view s) { l->emplace_back(s); };
        o.on_error = [r = reports](const DebugReport& rep) { r->push_back(rep); };
        return o;
    }
    bool logged(const std::string& needle) const {
        for (const auto& l : *lines)
            if (l.find(needle) != std::string::npos) return true;
        return false;
    }
};

std::string here(int line) { return std::string(__FILE__) + ":" + std::to_string(line); }

// ---------------------------------------------------------------- tracking

// A leak record carries the caller's exact file, line and function.
TEST(DebugAllocatorTest, LeakRecordCarriesCallerSite) {
    DebugAllocator d("t", ziggy::default_allocator(), LeakReportingMode::ignore);
    auto b = d.allocate<int>(4); const int line = __LINE__;
    void* raw = d.allocate_bytes(24, 8); const int raw_line = __LINE__;
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
    auto b = d.allocate<char>(12); const int line = __LINE__;
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
    auto a = d.allocate<char>(10); const int line_a = __LINE__;
    auto b = d.allocate<std::uint64_t>(4); const int line_b = __LINE__;
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
        "'doomed': 1 memory leak, 7 bytes:\n.*debug_allocator_test.cpp:[0-9]+ \\(TestBody\\): 7 bytes");
    EXPECT_DEATH(
        {
            DebugAllocator d("doomed", ziggy::default_allocator(), LeakReportingMode::abort);
            (void)d.allocate_bytes(9);
        },
        "'doomed': 1 memory leak, 9 bytes");
}

[[gnu::noinline]] void* allocate_from_helper(DebugAllocator& d) {
    return d.allocate_bytes(11);
}

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
            auto* p = static_cast<char*>(d.allocate_bytes(size)); const int line = __LINE__;
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
    auto b = d.allocate<int>(16); const int line = __LINE__;
    poke(b.data(), 64 + 2);
    b.reset();
    EXPECT_TRUE(cap.logged("ziggy::DebugAllocator 'parser': overrun at +66 of the 64-byte allocation"))
        << (cap.lines->empty() ? "" : cap.lines->front());
    EXPECT_TRUE(cap.logged(here(line) + " (TestBody)"));
}

// A wider guard option is honoured: damage at its far end is still found.
TEST(DebugAllocatorTest, GuardWidthIsConfigurable) {
    Capture cap;
    DebugOptions o = cap.options();
    o.guard_width = 37;  // rounded up to 40
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
    EXPECT_EQ(d.check_guards(), 0u);  // repainted
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

// ---------------------------------------------------------------- invalid frees

// A double free is reported with the allocation site and never reaches the backing.
TEST(DebugAllocatorTest, DoubleFreeIsReportedWithSite) {
    Capture cap;
    ziggy_test::TrackingAllocator backing;
    DebugAllocator d("t", backing, LeakReportingMode::log, cap.options());
    void* p = d.allocate_bytes(32); const int line = __LINE__;
    d.free(p);
    d.free(p);
    ASSERT_EQ(cap.reports->size(), 1u);
    EXPECT_EQ(cap.reports->front().kind, DebugErrorKind::double_free);
    EXPECT_EQ(cap.reports->front().allocation.site.line, line);
    EXPECT_TRUE(cap.logged("double free"));
    EXPECT_TRUE(cap.logged(here(line)));
    EXPECT_EQ(backing.mismatches(), 0u);
}

// Once the block left the quarantine, the freed history still names the site.
TEST(DebugAllocatorTest, DoubleFreeAfterQuarantineIsNamed) {
    Capture cap;
    DebugOptions o = cap.options();
    o.quarantine_count = 1;
    DebugAllocator d("t", ziggy::default_allocator(), LeakReportingMode::log, o);
    void* p = d.allocate_bytes(32); const int line = __LINE__;
    d.free(p);
    for (int i = 0; i < 3; ++i) d.free(d.allocate_bytes(16));
    d.free(p);
    ASSERT_EQ(cap.reports->size(), 1u);
    EXPECT_EQ(cap.reports->front().kind, DebugErrorKind::double_free);
    EXPECT_EQ(cap.reports->front().allocation.site.line, line);
}

// A pointer this allocator never returned is reported and not passed on.
TEST(DebugAllocatorTest, ForeignPointerIsRejected) {
    Capture cap;
    ziggy_test::TrackingAllocator backing;
    DebugAllocator d("t", backing, LeakReportingMode::log, cap.options());
    int local = 0;
    d.free(&local);
    d.deallocate_bytes(&local, sizeof local, alignof(int));
    ASSERT_EQ(cap.reports->size(), 2u);
    EXPECT_EQ(cap.reports->front().kind, DebugErrorKind::foreign_pointer);
    EXPECT_FALSE(cap.reports->front().site_known);
    EXPECT_TRUE(cap.logged("foreign pointer"));
    EXPECT_EQ(backing.mismatches(), 0u);
}

// A pointer into a live block is reported with its offset; the block stays live.
TEST(DebugAllocatorTest, InteriorPointerIsRejected) {
    Capture cap;
    DebugAllocator d("t", ziggy::default_allocator(), LeakReportingMode::log, cap.options());
    auto b = d.allocate<int>(8); const int line = __LINE__;
    d.free(b.data() + 2);
    ASSERT_EQ(cap.reports->size(), 1u);
    EXPECT_EQ(cap.reports->front().kind, DebugErrorKind::interior_pointer);
    EXPECT_EQ(cap.reports->front().offset, 8);
    EXPECT_EQ(cap.reports->front().allocation.site.line, line);
    EXPECT_EQ(d.tracked_allocation_count(), 1u);
}

// A sized deallocation with the wrong size is reported; the block is still freed right.
TEST(DebugAllocatorTest, SizeMismatchIsReported) {
    Capture cap;
    ziggy_test::TrackingAllocator backing;
    DebugAllocator d("t", backing, LeakReportingMode::log, cap.options());
    void* p = d.allocate_bytes(40, 8);
    d.deallocate_bytes(p, 32, 8);
    ASSERT_EQ(cap.reports->size(), 1u);
    EXPECT_EQ(cap.reports->front().kind, DebugErrorKind::size_mismatch);
    EXPECT_EQ(cap.reports->front().claimed_size, 32u);
    EXPECT_EQ(d.tracked_allocation_count(), 0u);
    EXPECT_EQ(backing.mismatches(), 0u);
}

// ---------------------------------------------------------------- quarantine

// Freed blocks wait in a bounded FIFO quarantine before going back.
TEST(DebugAllocatorTest, QuarantineIsBoundedFifo) {
    ziggy_test::TrackingAllocator backing;
    DebugOptions o;
    o.quarantine_count = 3;
    DebugAllocator d("t", backing, LeakReportingMode::log, o);
    for (int i = 0; i < 5; ++i) d.free(d.allocate_bytes(8));
    EXPECT_EQ(d.quarantined_count(), 3u);
    EXPECT_EQ(backing.live_blocks(), 3u);
}

// The byte cap holds: a block larger than it goes straight back.
TEST(DebugAllocatorTest, QuarantineByteCapIsHonoured) {
    ziggy_test::TrackingAllocator backing;
    DebugOptions o;
    o.quarantine_bytes = 100;
    DebugAllocator d("t", backing, LeakReportingMode::log, o);
    d.free(d.allocate_bytes(60));
    d.free(d.allocate_bytes(60));  // evicts the first: 120 > 100
    EXPECT_EQ(d.quarantined_count(), 1u);
    d.free(d.allocate_bytes(101));
    EXPECT_EQ(d.quarantined_count(), 1u);
    EXPECT_EQ(backing.live_blocks(), 1u);
}

// A write after free is reported when the block leaves the quarantine.
TEST(DebugAllocatorTest, WriteAfterFreeIsFoundAtEviction) {
    Capture cap;
    DebugOptions o = cap.options();
    o.quarantine_count = 1;
    DebugAllocator d("t", ziggy::default_allocator(), LeakReportingMode::log, o);
    auto* p = static_cast<char*>(d.allocate_bytes(32)); const int line = __LINE__;
    d.free(p);
    poke(p, 5, 0x42);
    EXPECT_TRUE(cap.reports->empty());
    d.free(d.allocate_bytes(8));  // evicts p
    ASSERT_EQ(cap.reports->size(), 1u);
    EXPECT_EQ(cap.reports->front().kind, DebugErrorKind::write_after_free);
    EXPECT_EQ(cap.reports->front().offset, 5);
    EXPECT_EQ(cap.reports->front().allocation.site.line, line);
    EXPECT_TRUE(cap.logged("write after free at +5"));
}

// check_quarantine and the destructor verify quarantined blocks too.
TEST(DebugAllocatorTest, WriteAfterFreeIsFoundOnCheckAndAtDestruction) {
    Capture cap;
    {
        DebugAllocator d("t", ziggy::default_allocator(), LeakReportingMode::log, cap.options());
        auto* p = static_cast<char*>(d.allocate_bytes(16));
        d.free(p);
        poke(p, 0, 1);
        EXPECT_EQ(d.check_quarantine(), 1u);
        EXPECT_EQ(d.check_quarantine(), 0u);  // repainted
        poke(p, 15, 1);
    }
    ASSERT_EQ(cap.reports->size(), 2u);
    EXPECT_EQ(cap.reports->back().offset, 15);
}

// ---------------------------------------------------------------- reactions

// The callback receives the structured report (kind, name, side, offset, size, site).
TEST(DebugAllocatorTest, CallbackReceivesStructuredReport) {
    Capture cap;
    DebugAllocator d("cb", ziggy::default_allocator(), LeakReportingMode::log, cap.options());
    auto* p = static_cast<char*>(d.allocate_bytes(20)); const int line = __LINE__;
    poke(p, 23);
    d.free(p);
    ASSERT_EQ(cap.reports->size(), 1u);
    const DebugReport& r = cap.reports->front();
    EXPECT_EQ(r.allocator_name, "cb");
    EXPECT_EQ(r.kind, DebugErrorKind::guard_damaged);
    EXPECT_EQ(r.side, GuardSide::overrun);
    EXPECT_EQ(r.offset, 23);
    EXPECT_EQ(r.allocation.size, 20u);
    EXPECT_STREQ(r.allocation.site.file, __FILE__);
    EXPECT_EQ(r.allocation.site.line, line);
    EXPECT_NE(r.message.find("overrun at +23"), std::string::npos);
}

// throw: free() and the checks throw the matching error type.
TEST(DebugAllocatorTest, ThrowReactionThrowsFromThrowingCalls) {
    Capture cap;
    DebugAllocator d("t", ziggy::default_allocator(), LeakReportingMode::log,
                     cap.options(ErrorReaction::throw_exception));
    auto* over = static_cast<char*>(d.allocate_bytes(8));
    poke(over, 8);
    EXPECT_THROW(d.check_guards(), ziggy::MemoryCorruptionError);
    poke(over, -3);
    EXPECT_THROW(d.free(over), ziggy::MemoryCorruptionError);
    EXPECT_EQ(d.tracked_allocation_count(), 0u);  // freed all the same
    EXPECT_THROW(d.free(over), ziggy::InvalidFreeError);
    int local = 0;
    EXPECT_THROW(d.free(&local), ziggy::InvalidFreeError);
    auto* live = static_cast<char*>(d.allocate_bytes(8));
    EXPECT_THROW(d.free(live + 1), ziggy::InvalidFreeError);
    d.free(live);
    poke(live, 2, 7);
    EXPECT_THROW(d.check_quarantine(), ziggy::MemoryCorruptionError);
    EXPECT_TRUE(cap.lines->empty());
}

// throw: noexcept paths (deallocate_bytes, Buffer destruction) log instead.
TEST(DebugAllocatorTest, ThrowReactionLogsFromNoexceptPaths) {
    Capture cap;
    DebugAllocator d("t", ziggy::default_allocator(), LeakReportingMode::log,
                     cap.options(ErrorReaction::throw_exception));
    {
        auto b = d.allocate<char>(4);
        poke(b.data(), 4);
    }
    int local = 0;
    d.deallocate_bytes(&local, 4, 4);
    ASSERT_EQ(cap.lines->size(), 2u);
    EXPECT_TRUE(cap.logged("overrun at +4"));
    EXPECT_TRUE(cap.logged("foreign pointer"));
}

// log: every kind is logged under the allocator's name and execution goes on.
TEST(DebugAllocatorTest, LogReactionLogsEveryKindAndContinues) {
    Capture cap;
    DebugOptions o = cap.options(ErrorReaction::log);
    o.quarantine_count = 1;
    DebugAllocator d("logged", ziggy::default_allocator(), LeakReportingMode::log, o);
    auto* a = static_cast<char*>(d.allocate_bytes(8));
    poke(a, -1);
    d.free(a);                       // underrun
    d.free(a);                       // double free
    int local = 0;
    d.free(&local);                  // foreign
    auto* b = static_cast<char*>(d.allocate_bytes(8));
    d.free(b + 4);                   // interior
    d.free(b);                       // evicts a
    poke(b, 0, 1);
    d.free(d.allocate_bytes(8));     // evicts b: write after free
    EXPECT_EQ(cap.lines->size(), 5u);
    for (const char* needle : {"underrun at -1", "double free", "free of foreign pointer",
                               "free of interior pointer", "write after free at +0"})
        EXPECT_TRUE(cap.logged(std::string("'logged': ") + needle)) << needle;
}

// abort (the default): each kind prints its report on stderr and aborts.
TEST(DebugAllocatorDeathTest, AbortReactionDiesOnEveryKind) {
    EXPECT_DEATH(
        {
            DebugAllocator d("boom");
            auto* p = static_cast<char*>(d.allocate_bytes(8));
            poke(p, 9);
            d.free(p);
        },
        "'boom': overrun at \\+9 of the 8-byte allocation #1 made at .*debug_allocator_test.cpp");
    EXPECT_DEATH(
        {
            DebugAllocator d("boom");
            auto* p = static_cast<char*>(d.allocate_bytes(8));
            poke(p, -2);
            d.check_guards();
        },
        "'boom': underrun at -2");
    EXPECT_DEATH(
        {
            DebugAllocator d("boom");
            void* p = d.allocate_bytes(8);
            d.free(p);
            d.free(p);
        },
        "'boom': double free .*debug_allocator_test.cpp");
    EXPECT_DEATH(
        {
            DebugAllocator d("boom");
            int local = 0;
            d.free(&local);
        },
        "'boom': free of foreign pointer");
    EXPECT_DEATH(
        {
            DebugAllocator d("boom");
            auto* p = static_cast<char*>(d.allocate_bytes(8));
            d.free(p + 1);
        },
        "'boom': free of interior pointer .* at \\+1");
    EXPECT_DEATH(
        {
            DebugAllocator d("boom");
            auto* p = static_cast<char*>(d.allocate_bytes(8));
            d.free(p);
            poke(p, 3, 0);
            d.check_quarantine();
        },
        "'boom': write after free at \\+3");
    EXPECT_DEATH(
        {
            DebugAllocator d("boom");
            void* p = d.allocate_bytes(8);
            d.deallocate_bytes(p, 16);
        },
        "'boom': sized deallocation .* with size 16");
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

// ---------------------------------------------------------------- ASan

// Sanitized: guard zones are poisoned, the user bytes (and only they) are not,
// also after a guard check.
TEST(DebugAllocatorSanitizedTest, GuardsArePoisoned) {
    if (!ziggy::detail::asan_enabled) GTEST_SKIP() << "release variant: no ASan";
    DebugAllocator d("t");
    auto* p = static_cast<char*>(d.allocate_bytes(13));
    for (int round = 0; round < 2; ++round) {
        EXPECT_TRUE(ziggy::detail::is_poisoned(p - 1));
        EXPECT_TRUE(ziggy::detail::is_poisoned(p - 16));
        EXPECT_FALSE(ziggy::detail::is_poisoned(p));
        EXPECT_FALSE(ziggy::detail::is_poisoned(p + 12));
        EXPECT_TRUE(ziggy::detail::is_poisoned(p + 13));
        EXPECT_TRUE(ziggy::detail::is_poisoned(p + 13 + 15));
        EXPECT_EQ(d.check_guards(), 0u);
    }
    d.free(p);
    EXPECT_TRUE(ziggy::detail::is_poisoned(p));  // quarantined
}

[[gnu::noinline]] void raw_write(char* p, std::ptrdiff_t offset) {
    p[offset] = 1;
}

// Sanitized: ASan itself stops a raw overrun, underrun or write after free.
TEST(DebugAllocatorSanitizedTest, AsanCatchesRawAccesses) {
    if (!ziggy::detail::asan_enabled) GTEST_SKIP() << "release variant: no ASan";
    EXPECT_DEATH(
        {
            DebugAllocator d("t");
            raw_write(static_cast<char*>(d.allocate_bytes(13)), 13);
        },
        "AddressSanitizer: use-after-poison");
    EXPECT_DEATH(
        {
            DebugAllocator d("t");
            raw_write(static_cast<char*>(d.allocate_bytes(16)), -1);
        },
        "AddressSanitizer: use-after-poison");
    EXPECT_DEATH(
        {
            DebugAllocator d("t");
            auto* p = static_cast<char*>(d.allocate_bytes(16));
            d.free(p);
            raw_write(p, 0);
        },
        "AddressSanitizer: use-after-poison");
}

} // namespace
