#include <ziggy/failing_allocator.hpp>

#include <cmath>

namespace ziggy {

void FailingAllocator::fail_randomly(double p, std::uint64_t seed) noexcept {
    std::lock_guard lock(rng_mutex_);
    rng_state_ = seed;
    fail_at_.store(never, std::memory_order_relaxed);
    const double clamped = p < 0 ? 0 : (p > 1 ? 1 : p);
    // Scaled to 2^32, so p == 1 fails every call.
    threshold_.store(static_cast<std::uint64_t>(std::ldexp(clamped, 32)),
                     std::memory_order_relaxed);
}

bool FailingAllocator::should_fail(std::size_t call) noexcept {
    if (call == fail_at_.load(std::memory_order_relaxed)) return true;
    const std::uint64_t threshold = threshold_.load(std::memory_order_relaxed);
    if (threshold == 0) return false;
    std::lock_guard lock(rng_mutex_);
    // splitmix64: small, seedable, good enough to pick failures.
    std::uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (z >> 32) < threshold;
}

void* FailingAllocator::do_allocate(std::size_t size, std::size_t alignment, bool zero_memory,
                                    const CallSite& site) noexcept {
    const std::size_t call = calls_.fetch_add(1, std::memory_order_relaxed);
    if (should_fail(call)) {
        failures_.fetch_add(1, std::memory_order_relaxed);
        return nullptr;
    }
    return backing_->try_allocate_bytes(size, alignment, zero_memory, site);
}

} // namespace ziggy
