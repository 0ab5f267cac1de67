// The shared promises of ziggy::Allocator, run over every allocator listed in
// allocator_cases.hpp.
#include <ziggy/ziggy.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <thread>
#include <vector>

#include "allocator_cases.hpp"

namespace {

using ContractCases = ziggy_test::AllAllocatorCases;

template <class Case>
class AllocatorContract : public ::testing::Test {
protected:
    std::unique_ptr<ziggy::Allocator> alloc_ = Case::make();
    ziggy::Allocator& a() { return *alloc_; }
};
TYPED_TEST_SUITE(AllocatorContract, ContractCases);

struct alignas(64) Line64 {
    unsigned char bytes[64];
};
struct alignas(256) Block256 {
    unsigned char bytes[40];
};

template <class T>
bool aligned(const T* p) {
    return reinterpret_cast<std::uintptr_t>(p) % alignof(T) == 0;
}

// Typed buffers have the requested size and alignof(T), over-aligned types too.
TYPED_TEST(AllocatorContract, TypedAllocationHonoursSizeAndAlignment) {
    auto c = this->a().template allocate<char>(13);
    auto d = this->a().template allocate<double>(7);
    auto l = this->a().template allocate<Line64>(3);
    auto b = this->a().template allocate<Block256>(2);
    EXPECT_EQ(c.size(), 13u);
    EXPECT_EQ(d.size(), 7u);
    EXPECT_TRUE(aligned(d.data()));
    EXPECT_TRUE(aligned(l.data()));
    EXPECT_TRUE(aligned(b.data()));
}

// zero_memory gives zeroed memory even where dirty memory was just freed.
TYPED_TEST(AllocatorContract, ZeroMemoryIsZero) {
    for (int round = 0; round < 3; ++round) {
        {
            auto dirty = this->a().template allocate<unsigned char>(1000);
            dirty.fill(0xAB);
        }
        auto z = this->a().template allocate<unsigned char>(1000, true);
        for (unsigned char x : z) ASSERT_EQ(x, 0);
    }
}

// count == 0 gives an empty buffer that owns nothing (its destructor frees
// nothing), for element types of several sizes and alignments, and changes
// no accounting.
template <class Buf>
void expect_empty_non_owning(const Buf& b) {
    EXPECT_TRUE(b.empty());
    EXPECT_FALSE(b.valid());
    EXPECT_EQ(b.data(), nullptr);
    EXPECT_FALSE(b.owns_memory());
    EXPECT_EQ(b.allocator(), nullptr);
}
struct ThreeBytes {
    unsigned char c[3];
};
TYPED_TEST(AllocatorContract, ZeroCountIsEmpty) {
    const auto before = this->a().total_allocated_bytes();
    {
        auto b = this->a().template allocate<int>(0);
        expect_empty_non_owning(b);
        expect_empty_non_owning(this->a().template allocate<unsigned char>(0));
        expect_empty_non_owning(this->a().template allocate<ThreeBytes>(0, true));
        expect_empty_non_owning(this->a().template allocate<double>(0));
        expect_empty_non_owning(this->a().template allocate<Line64>(0));
        expect_empty_non_owning(this->a().template allocate<Block256>(0));
        EXPECT_EQ(this->a().total_allocated_bytes(), before);
    }
    EXPECT_EQ(this->a().total_allocated_bytes(), before);
}

// Size overflow throws bad_array_new_length and changes no accounting.
TYPED_TEST(AllocatorContract, OverflowThrowsBadArrayNewLength) {
    const auto before = this->a().total_allocated_bytes();
    EXPECT_THROW((void)this->a().template allocate<std::uint64_t>(
                     std::numeric_limits<std::size_t>::max() / 2),
                 std::bad_array_new_length);
    EXPECT_EQ(this->a().total_allocated_bytes(), before);
}

// An impossible size throws bad_alloc and changes no accounting.
TYPED_TEST(AllocatorContract, ImpossibleSizeThrowsBadAlloc) {
    const auto before = this->a().total_allocated_bytes();
    EXPECT_THROW((void)this->a().template allocate<char>(std::size_t(1) << 60), std::bad_alloc);
    EXPECT_EQ(this->a().total_allocated_bytes(), before);
    auto ok = this->a().template allocate<int>(4); // still usable
    EXPECT_TRUE(ok.valid());
}

// Live buffers never overlap and keep what was written to them.
TYPED_TEST(AllocatorContract, LiveBuffersAreDisjointAndKeepContents) {
    std::vector<ziggy::Buffer<std::uint32_t>> bufs;
    for (std::uint32_t i = 0; i < 200; ++i) {
        bufs.push_back(this->a().template allocate<std::uint32_t>(1 + (i * 7) % 300));
        bufs.back().fill(i);
    }
    for (std::uint32_t i = 0; i < bufs.size(); ++i)
        for (auto v : bufs[i]) ASSERT_EQ(v, i);
    std::vector<std::pair<std::uintptr_t, std::uintptr_t>> ranges;
    for (auto& b : bufs)
        ranges.emplace_back(reinterpret_cast<std::uintptr_t>(b.data()),
                            reinterpret_cast<std::uintptr_t>(b.data() + b.size()));
    std::sort(ranges.begin(), ranges.end());
    for (std::size_t i = 1; i < ranges.size(); ++i)
        ASSERT_LE(ranges[i - 1].second, ranges[i].first);
}

// total_allocated_bytes grows by exactly the bytes handed out, and shrinks back
// when they are freed (where individual frees are supported).
TYPED_TEST(AllocatorContract, AccountingIsExact) {
    const auto before = this->a().total_allocated_bytes();
    auto x = this->a().template allocate<char>(5);
    auto y = this->a().template allocate<double>(9);
    EXPECT_EQ(this->a().total_allocated_bytes(), before + 5 + 72);
    if (this->a().supports_individual_deallocation()) {
        y.reset();
        EXPECT_EQ(this->a().total_allocated_bytes(), before + 5);
        x.reset();
        EXPECT_EQ(this->a().total_allocated_bytes(), before);
    }
}

// A released pointer can be freed unsized where individual frees are
// supported; elsewhere free() says NotSupported.
TYPED_TEST(AllocatorContract, ReleaseThenFree) {
    const auto before = this->a().total_allocated_bytes();
    auto b = this->a().template allocate<int>(16);
    int* raw = b.release();
    if (this->a().supports_individual_deallocation()) {
        this->a().free(raw);
        EXPECT_EQ(this->a().total_allocated_bytes(), before);
    } else {
        EXPECT_THROW(this->a().free(raw), ziggy::NotSupportedError);
    }
}

// A released pointer can be returned through the sized byte layer.
TYPED_TEST(AllocatorContract, ReleaseThenSizedDeallocate) {
    const auto before = this->a().total_allocated_bytes();
    auto b = this->a().template allocate<Line64>(2);
    Line64* raw = b.release();
    this->a().deallocate_bytes(raw, 2 * sizeof(Line64), alignof(Line64));
    if (this->a().supports_individual_deallocation()) {
        EXPECT_EQ(this->a().total_allocated_bytes(), before);
    }
}

// free(nullptr) is a no-op.
TYPED_TEST(AllocatorContract, FreeNullptrIsNoop) {
    const auto before = this->a().total_allocated_bytes();
    this->a().free(nullptr);
    this->a().deallocate_bytes(nullptr, 8);
    EXPECT_EQ(this->a().total_allocated_bytes(), before);
}

// The byte layer honours every power-of-two alignment and rejects others.
TYPED_TEST(AllocatorContract, ByteLayerAlignments) {
    for (std::size_t align = 1; align <= 4096; align *= 2) {
        void* p = this->a().allocate_bytes(40, align);
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % align, 0u) << align;
        std::memset(p, 0x5A, 40);
        this->a().deallocate_bytes(p, 40, align);
    }
    EXPECT_THROW((void)this->a().allocate_bytes(8, 12), std::invalid_argument);
    EXPECT_EQ(this->a().try_allocate_bytes(8, 12), nullptr);
    EXPECT_EQ(this->a().allocate_bytes(0), nullptr);
}

// Impossible byte-layer requests (sizes near SIZE_MAX or PTRDIFF_MAX, huge
// alignments) fail cleanly: nullptr from try_, std::bad_alloc otherwise, never
// a small block or an overflow. Asked after a first allocation, so an arena
// has a current block.
TYPED_TEST(AllocatorContract, ByteLayerRejectsImpossibleRequests) {
    auto warm = this->a().template allocate<int>(4);
    const auto before = this->a().total_allocated_bytes();
    const std::size_t max = std::numeric_limits<std::size_t>::max();
    const std::size_t pmax = static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max());
    for (std::size_t size : {pmax - 8, pmax, pmax + 1, max - 15, max}) {
        for (std::size_t align :
             {std::size_t(1), std::size_t(16), std::size_t(64), std::size_t(4096),
              std::size_t(1) << 31, std::size_t(1) << 62, std::size_t(1) << 63}) {
            EXPECT_EQ(this->a().try_allocate_bytes(size, align), nullptr) << size << " @" << align;
            EXPECT_THROW((void)this->a().allocate_bytes(size, align), std::bad_alloc)
                << size << " @" << align;
        }
    }
    // A small size with an impossible alignment fails too.
    EXPECT_EQ(this->a().try_allocate_bytes(8, std::size_t(1) << 63), nullptr);
    EXPECT_EQ(this->a().total_allocated_bytes(), before);
    auto still = this->a().template allocate<int>(4); // and the allocator still works
    EXPECT_TRUE(still.valid());
}

// Thread-safe allocators keep contents and exact accounting under 4 threads.
TYPED_TEST(AllocatorContract, ConcurrentUseIsSafe) {
    if constexpr (!TypeParam::thread_safe) {
        { GTEST_SKIP() << "not thread-safe by contract"; }
    } else {
        const auto before = this->a().total_allocated_bytes();
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([this, t] {
                std::vector<ziggy::Buffer<std::uint64_t>> live;
                for (int i = 0; i < 5000; ++i) {
                    live.push_back(this->a().template allocate<std::uint64_t>(1 + (i * 13) % 100));
                    live.back().fill(static_cast<std::uint64_t>(t) << 32 | i);
                    if (live.size() > 16) {
                        auto& old = live.front();
                        for (auto v : old) ASSERT_EQ(v >> 32, static_cast<std::uint64_t>(t));
                        live.erase(live.begin());
                    }
                }
            });
        }
        for (auto& th : threads) th.join();
        EXPECT_EQ(this->a().total_allocated_bytes(), before);
    }
}

} // namespace
