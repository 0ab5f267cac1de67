// Four threads on one thread-safe allocator: mixed sizes, buffers handed to
// other threads and freed there, statistics and clear() racing the traffic.
// Run in every suite and, by scripts/dev.sh tsan, under ThreadSanitizer.
#include <ziggy/ziggy.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "allocator_cases.hpp"

namespace {

constexpr int thread_count = 4;
constexpr int rounds = 3000;

// Buffers in flight between threads, each with the tag it was filled with.
struct Letter {
    std::uint64_t tag = 0;
    ziggy::Buffer<std::uint64_t> buffer;
};
struct Mailbox {
    std::mutex mutex;
    std::deque<Letter> items;

    void put(Letter letter) {
        std::lock_guard lock(mutex);
        items.push_back(std::move(letter));
    }
    Letter take() {
        std::lock_guard lock(mutex);
        if (items.empty()) return {};
        auto letter = std::move(items.front());
        items.pop_front();
        return letter;
    }
};

std::uint64_t tag(int thread, int round) {
    return (static_cast<std::uint64_t>(thread) << 32) | static_cast<std::uint32_t>(round);
}

// Each thread allocates a mix of sizes, posts half of its buffers to the
// mailbox and frees what others posted, after checking their contents.
void traffic(ziggy::Allocator& a, Mailbox& mailbox, int self, std::atomic<int>& errors) {
    std::vector<ziggy::Buffer<std::uint64_t>> local;
    for (int r = 0; r < rounds; ++r) {
        const std::size_t count = 1 + static_cast<std::size_t>((r * 37 + self * 11) % 600);
        auto b = a.allocate<std::uint64_t>(count);
        b.fill(tag(self, r));
        if (r % 2 == 0) {
            mailbox.put(Letter{tag(self, r), std::move(b)});
        } else {
            local.push_back(std::move(b));
        }
        // Two threads handed the same block would overwrite each other's tag.
        if (auto other = mailbox.take(); other.buffer.valid()) {
            for (auto v : other.buffer)
                if (v != other.tag) errors.fetch_add(1);
        } // freed here, usually on another thread than the one that made it
        for (const auto& mine : local)
            if (mine[0] != mine[mine.size() - 1]) errors.fetch_add(1);
        if (local.size() > 8) local.erase(local.begin());
    }
}

template <class Case>
class StressTest : public ::testing::Test {};
TYPED_TEST_SUITE(StressTest, ziggy_test::AllAllocatorCases);

// Cross-thread frees with content checks; exact accounting when all are back.
TYPED_TEST(StressTest, CrossThreadFreesKeepContentsAndAccounting) {
    if constexpr (!TypeParam::thread_safe) {
        GTEST_SKIP() << "not thread-safe by contract";
    } else {
        auto a = TypeParam::make();
        const auto before = a->total_allocated_bytes();
        Mailbox mailbox;
        std::atomic<int> errors{0};
        {
            std::vector<std::jthread> threads;
            for (int t = 0; t < thread_count; ++t)
                threads.emplace_back([&, t] { traffic(*a, mailbox, t, errors); });
        }
        EXPECT_EQ(errors.load(), 0);
        mailbox.items.clear();
        EXPECT_EQ(a->total_allocated_bytes(), before);
    }
}

// clear() and statistics() race allocation traffic on the pool; afterwards the
// base holds exactly the pool's retained bytes (all threads have exited).
TEST(PoolStressTest, ClearAndStatisticsRaceTraffic) {
    ziggy::SystemAllocator base;
    {
        ziggy::UnmanagedMemoryPool pool(base);
        Mailbox mailbox;
        std::atomic<int> errors{0};
        std::atomic<bool> done{false};
        {
            std::vector<std::jthread> threads;
            for (int t = 0; t < thread_count - 1; ++t)
                threads.emplace_back([&, t] { traffic(pool, mailbox, t, errors); });
            threads.emplace_back([&] {
                while (!done.load()) {
                    pool.clear();
                    (void)pool.statistics();
                    std::this_thread::yield();
                }
            });
            for (int t = 0; t < thread_count - 1; ++t) threads[static_cast<std::size_t>(t)].join();
            done = true;
        }
        EXPECT_EQ(errors.load(), 0);
        mailbox.items.clear();
        EXPECT_EQ(pool.total_allocated_bytes(), 0u);
        pool.clear();
        EXPECT_EQ(pool.retained_bytes(), 0u);
        EXPECT_EQ(base.total_allocated_bytes(), 0u);
    }
    EXPECT_EQ(base.total_allocated_bytes(), 0u);
}

} // namespace
