// ziggy/failing_allocator.hpp — failure injection: make the N-th allocation fail.
//
// `FailingAllocator` forwards to a backing allocator but fails chosen
// allocation calls: the N-th from now, or each with a seeded probability.
// `check_all_allocation_failures` (Zig's checkAllAllocationFailures) runs a
// scenario once to count its allocations, then once per allocation with exactly
// that one failing, and checks that every failure reaches the caller as
// std::bad_alloc and that nothing leaks.
//
//     auto report = ziggy::check_all_allocation_failures([](ziggy::Allocator& a) {
//         ziggy::UnmanagedMemoryPool pool(a);         // the code under test,
//         auto x = pool.allocate<int>(100);           // built on the failing allocator
//         auto y = pool.allocate<char>(5000);
//     });
//     assert(report.ok());   // report.problems says what went wrong otherwise
//
// Thread-safe: the counter is atomic and the random generator is locked.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include <ziggy/allocator.hpp>
#include <ziggy/system_allocator.hpp>

namespace ziggy {

class FailingAllocator final : public Allocator {
public:
    static constexpr std::size_t never = static_cast<std::size_t>(-1);

    /// Forwards to `backing`; fails nothing until told to.
    explicit FailingAllocator(Allocator& backing = default_allocator()) noexcept
        : backing_(&backing) {}
    /// The same over any allocator type, this one's too (`BackingAllocator`).
    template <BackingAllocator A>
    explicit FailingAllocator(A& backing) noexcept : backing_(&backing) {}

    /// Fails allocation call number `index`, counted from 0 at construction
    /// (see `allocation_count()`), and no other.
    void fail_at(std::size_t index) noexcept {
        fail_at_.store(index, std::memory_order_relaxed);
        threshold_.store(0, std::memory_order_relaxed);
    }

    /// Fails each allocation call with probability `p` (0..1), from a
    /// generator seeded with `seed`, so a run can be replayed.
    void fail_randomly(double p, std::uint64_t seed) noexcept;

    /// Stops failing.
    void never_fail() noexcept { fail_at(never); }

    /// Allocation calls seen so far (failed ones included).
    [[nodiscard]] std::size_t allocation_count() const noexcept {
        return calls_.load(std::memory_order_relaxed);
    }
    /// Allocation calls failed on purpose so far.
    [[nodiscard]] std::size_t failure_count() const noexcept {
        return failures_.load(std::memory_order_relaxed);
    }

    [[nodiscard]] bool supports_individual_deallocation() const noexcept override {
        return backing_->supports_individual_deallocation();
    }
    [[nodiscard]] std::size_t total_allocated_bytes() const noexcept override {
        return backing_->total_allocated_bytes();
    }

private:
    void* do_allocate(std::size_t size, std::size_t alignment, bool zero_memory,
                      const CallSite& site) noexcept override;
    void do_deallocate(void* p, std::size_t size, std::size_t alignment) noexcept override {
        backing_->deallocate_bytes(p, size, alignment);
    }
    void do_free(void* p) override { backing_->free(p); }
    bool should_fail(std::size_t call) noexcept;

    Allocator* backing_;
    std::atomic<std::size_t> calls_{0};
    std::atomic<std::size_t> failures_{0};
    std::atomic<std::size_t> fail_at_{never};
    std::atomic<std::uint64_t> threshold_{0}; // failure probability scaled to 2^32
    std::mutex rng_mutex_;
    std::uint64_t rng_state_ = 0;
};

/// What `check_all_allocation_failures` found.
struct AllocationFailureReport {
    /// Allocation calls of the scenario's successful run.
    std::size_t allocations = 0;
    /// One line per problem: which allocation failed and what went wrong.
    std::vector<std::string> problems;
    [[nodiscard]] bool ok() const noexcept { return problems.empty(); }
};

/// Runs `scenario(Allocator&)` over a FailingAllocator on a fresh counting
/// SystemAllocator: once without failures (it must succeed and leave 0 bytes
/// allocated), then once per allocation call N with exactly call N failing.
/// Each failing run must end in std::bad_alloc reaching the caller (a scenario
/// that swallows it is a problem, as is any other exception) and leave 0
/// bytes allocated in the base. `max_runs` bounds the number of failing runs.
template <class Scenario>
AllocationFailureReport check_all_allocation_failures(Scenario&& scenario,
                                                      std::size_t max_runs = 10000) {
    AllocationFailureReport report;
    {
        SystemAllocator base;
        FailingAllocator failing(base);
        scenario(static_cast<Allocator&>(failing));
        report.allocations = failing.allocation_count();
        if (base.total_allocated_bytes() != 0)
            report.problems.push_back("run without failures leaks " +
                                      std::to_string(base.total_allocated_bytes()) + " bytes");
    }
    for (std::size_t n = 0; n < report.allocations && n < max_runs; ++n) {
        SystemAllocator base;
        const std::string which = "allocation " + std::to_string(n) + ": ";
        {
            FailingAllocator failing(base);
            failing.fail_at(n);
            try {
                scenario(static_cast<Allocator&>(failing));
                if (failing.failure_count() != 0)
                    report.problems.push_back(which +
                                              "the failure was swallowed (no std::bad_alloc)");
            } catch (const std::bad_alloc&) {
                // the expected outcome
            } catch (const std::exception& e) {
                report.problems.push_back(which + "unexpected exception: " + e.what());
            }
        }
        if (base.total_allocated_bytes() != 0)
            report.problems.push_back(which + "leaks " +
                                      std::to_string(base.total_allocated_bytes()) + " bytes");
    }
    return report;
}

} // namespace ziggy
