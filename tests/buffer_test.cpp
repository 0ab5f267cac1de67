#include <ziggy/buffer.hpp>
#include <ziggy/system_allocator.hpp>

#include <gtest/gtest.h>

#include <array>
#include <numeric>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using ziggy::Buffer;

// Move-only, so ownership is never shared by accident.
static_assert(!std::is_copy_constructible_v<Buffer<int>>);
static_assert(!std::is_copy_assignable_v<Buffer<int>>);
static_assert(std::is_nothrow_move_constructible_v<Buffer<int>>);
static_assert(std::is_nothrow_move_assignable_v<Buffer<int>>);
static_assert(std::is_nothrow_destructible_v<Buffer<int>>);
// Implicitly a span, so it passes to span-taking APIs.
static_assert(std::is_convertible_v<Buffer<int>&, std::span<int>>);
static_assert(std::is_convertible_v<Buffer<int>&, std::span<const int>>);

// A buffer reports its size in elements and bytes.
TEST(BufferTest, SizeAndSizeBytes) {
    auto b = ziggy::default_allocator().allocate<double>(10);
    EXPECT_EQ(b.size(), 10u);
    EXPECT_EQ(b.size_bytes(), 80u);
    EXPECT_FALSE(b.empty());
    EXPECT_TRUE(b.valid());
    EXPECT_TRUE(b.owns_memory());
    EXPECT_EQ(b.allocator(), &ziggy::default_allocator());
}

// A default-constructed buffer is empty, not valid, and safe to destroy.
TEST(BufferTest, DefaultIsEmpty) {
    Buffer<int> b;
    EXPECT_TRUE(b.empty());
    EXPECT_FALSE(b.valid());
    EXPECT_EQ(b.data(), nullptr);
    EXPECT_EQ(b.begin(), b.end());
    EXPECT_TRUE(b.as_span().empty());
}

// operator[] reads and writes the element at the index.
TEST(BufferTest, IndexReadsAndWrites) {
    auto b = ziggy::default_allocator().allocate<int>(4, true);
    b[0] = 1;
    b[3] = 4;
    EXPECT_EQ(b.data()[0], 1);
    EXPECT_EQ(b.data()[3], 4);
    EXPECT_EQ(b.at(3), 4);
}

// An index at or past the end throws std::out_of_range naming index and size.
TEST(BufferTest, IndexOutOfRangeThrowsWithIndexAndSize) {
    auto b = ziggy::default_allocator().allocate<int>(4);
    try {
        (void)b[4];
        FAIL() << "no exception";
    } catch (const std::out_of_range& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("index 4"), std::string::npos) << msg;
        EXPECT_NE(msg.find("size 4"), std::string::npos) << msg;
    }
    EXPECT_THROW((void)b[static_cast<std::size_t>(-1)], std::out_of_range);
    EXPECT_THROW((void)b.at(100), std::out_of_range);
}

// Indexing an empty buffer throws instead of dereferencing nullptr.
TEST(BufferTest, IndexOnEmptyThrows) {
    Buffer<int> b;
    EXPECT_THROW((void)b[0], std::out_of_range);
}

// front() and back() are the first and last elements.
TEST(BufferTest, FrontAndBack) {
    auto b = ziggy::default_allocator().allocate<int>(3);
    std::iota(b.begin(), b.end(), 10);
    EXPECT_EQ(b.front(), 10);
    EXPECT_EQ(b.back(), 12);
}

// front() and back() on an empty buffer throw std::out_of_range.
TEST(BufferTest, FrontAndBackOnEmptyThrow) {
    Buffer<int> b;
    EXPECT_THROW((void)b.front(), std::out_of_range);
    EXPECT_THROW((void)b.back(), std::out_of_range);
}

// Spans see the same elements as the buffer.
TEST(BufferTest, SpansAliasTheBuffer) {
    auto b = ziggy::default_allocator().allocate<int>(5, true);
    std::span<int> s = b;
    s[2] = 9;
    EXPECT_EQ(b[2], 9);
    std::span<const int> r = b.as_read_only_span();
    EXPECT_EQ(r.data(), b.data());
    EXPECT_EQ(r.size(), 5u);
    EXPECT_EQ(b.as_span().data(), b.data());
}

// fill sets every element; clear zeroes every byte.
TEST(BufferTest, FillAndClear) {
    auto b = ziggy::default_allocator().allocate<int>(100);
    b.fill(7);
    for (int x : b) EXPECT_EQ(x, 7);
    b.clear();
    for (int x : b) EXPECT_EQ(x, 0);
}

// fill and clear on an empty buffer do nothing.
TEST(BufferTest, FillAndClearOnEmptyAreNoops) {
    Buffer<int> b;
    b.fill(1);
    b.clear();
    EXPECT_TRUE(b.empty());
}

// copy_from copies a shorter or equal source into the front.
TEST(BufferTest, CopyFromCopiesPrefix) {
    auto b = ziggy::default_allocator().allocate<int>(5, true);
    const std::array<int, 3> src{1, 2, 3};
    b.copy_from(src);
    EXPECT_EQ(b[0], 1);
    EXPECT_EQ(b[2], 3);
    EXPECT_EQ(b[3], 0);
    b.copy_from(std::span<const int>()); // empty source: nothing happens
    EXPECT_EQ(b[0], 1);
}

// copy_from a longer source throws std::invalid_argument and changes nothing.
TEST(BufferTest, CopyFromLongerSourceThrowsAndLeavesBufferUnchanged) {
    auto b = ziggy::default_allocator().allocate<int>(3);
    b.fill(5);
    const std::array<int, 4> src{1, 2, 3, 4};
    try {
        b.copy_from(src);
        FAIL() << "no exception";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("4 elements"), std::string::npos) << e.what();
    }
    for (int x : b) EXPECT_EQ(x, 5);
}

// copy_from handles a source that overlaps the buffer.
TEST(BufferTest, CopyFromOverlappingSource) {
    auto b = ziggy::default_allocator().allocate<int>(4);
    std::iota(b.begin(), b.end(), 0);
    b.copy_from(b.as_span().subspan(1));
    EXPECT_EQ(b[0], 1);
    EXPECT_EQ(b[2], 3);
}

// reset frees now and leaves an empty buffer; a second reset is harmless.
TEST(BufferTest, ResetFreesAndEmpties) {
    ziggy::SystemAllocator sys;
    auto b = sys.allocate<int>(8);
    EXPECT_EQ(sys.total_allocated_bytes(), 32u);
    b.reset();
    EXPECT_EQ(sys.total_allocated_bytes(), 0u);
    EXPECT_TRUE(b.empty());
    EXPECT_FALSE(b.valid());
    b.reset();
}

// release gives up ownership: destroying the buffer no longer frees.
TEST(BufferTest, ReleaseGivesUpOwnership) {
    ziggy::SystemAllocator sys;
    int* raw = nullptr;
    {
        auto b = sys.allocate<int>(8);
        raw = b.release();
        EXPECT_FALSE(b.valid());
        EXPECT_FALSE(b.owns_memory());
    }
    EXPECT_EQ(sys.total_allocated_bytes(), 32u);
    sys.free(raw);
    EXPECT_EQ(sys.total_allocated_bytes(), 0u);
}

// Moving transfers ownership; the source becomes empty.
TEST(BufferTest, MoveTransfersOwnership) {
    ziggy::SystemAllocator sys;
    auto a = sys.allocate<int>(4);
    int* p = a.data();
    Buffer<int> b = std::move(a);
    EXPECT_EQ(b.data(), p);
    EXPECT_FALSE(a.valid()); // NOLINT(bugprone-use-after-move): moved-from state is specified
    EXPECT_EQ(a.size(), 0u);
    EXPECT_EQ(sys.total_allocated_bytes(), 16u);
}

// Move assignment frees what the target owned before.
TEST(BufferTest, MoveAssignFreesPreviousMemory) {
    ziggy::SystemAllocator sys;
    auto a = sys.allocate<int>(4);
    auto b = sys.allocate<int>(100);
    EXPECT_EQ(sys.total_allocated_bytes(), 416u);
    b = std::move(a);
    EXPECT_EQ(sys.total_allocated_bytes(), 16u);
    EXPECT_EQ(b.size(), 4u);
}

// A self-move (through an alias, as generic code does it) keeps the memory
// and its contents; nothing is freed, and the buffer still frees once.
TEST(BufferTest, SelfMoveAssignKeepsTheMemory) {
    ziggy::SystemAllocator sys;
    auto a = sys.allocate<int>(4);
    a.fill(7);
    int* const data = a.data();
    ziggy::Buffer<int>& alias = a;
    a = std::move(alias);
    EXPECT_EQ(a.data(), data);
    EXPECT_EQ(a.size(), 4u);
    EXPECT_TRUE(a.owns_memory());
    EXPECT_EQ(a[3], 7);
    EXPECT_EQ(sys.total_allocated_bytes(), 16u);
    a.reset();
    EXPECT_EQ(sys.total_allocated_bytes(), 0u);
}

// wrap_existing views memory it does not own; destroying it frees nothing.
TEST(BufferTest, WrapExistingIsNonOwning) {
    std::vector<int> v{1, 2, 3};
    {
        auto b = ziggy::wrap_existing(v.data(), v.size());
        EXPECT_FALSE(b.owns_memory());
        EXPECT_EQ(b.size(), 3u);
        b[1] = 20;
        EXPECT_THROW((void)b[3], std::out_of_range);
    }
    EXPECT_EQ(v[1], 20);
}

// wrap_existing(nullptr, n) gives an empty buffer rather than a dangling one.
TEST(BufferTest, WrapExistingNullIsEmpty) {
    auto b = ziggy::wrap_existing(static_cast<int*>(nullptr), 10);
    EXPECT_TRUE(b.empty());
    EXPECT_THROW((void)b[0], std::out_of_range);
}

// wrap_span views the span's elements.
TEST(BufferTest, WrapSpanIsNonOwning) {
    std::array<float, 4> a{};
    auto b = ziggy::wrap_span(std::span<float>(a));
    EXPECT_EQ(b.data(), a.data());
    EXPECT_EQ(b.size(), 4u);
    b.fill(2.5f);
    EXPECT_EQ(a[3], 2.5f);
    auto r = ziggy::wrap_span(std::span<const float>(a));
    EXPECT_EQ(r[0], 2.5f);
}

// A released non-owning buffer returns its pointer and frees nothing.
TEST(BufferTest, ReleaseOfViewReturnsPointer) {
    int x = 3;
    auto b = ziggy::wrap_existing(&x, 1);
    EXPECT_EQ(b.release(), &x);
}

// Range-for and standard algorithms work through begin()/end().
TEST(BufferTest, IteratesLikeAContainer) {
    auto b = ziggy::default_allocator().allocate<int>(10);
    std::iota(b.begin(), b.end(), 1);
    EXPECT_EQ(std::accumulate(b.begin(), b.end(), 0), 55);
}

} // namespace
