// tests/tracking_allocator.hpp — a backing allocator for tests.
//
// Wraps a SystemAllocator and checks every deallocation against what was
// handed out (foonathan/memory's test allocator): a wrong size or alignment,
// or a pointer it never returned, is recorded as a mismatch. It can also fail
// the N-th allocation, for failure-injection tests.
#pragma once

#include <algorithm>
#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <ziggy/system_allocator.hpp>

namespace ziggy_test {

class TrackingAllocator final : public ziggy::Allocator {
public:
    struct Block {
        std::size_t size;
        std::size_t alignment;
    };

    [[nodiscard]] bool supports_individual_deallocation() const noexcept override { return true; }
    [[nodiscard]] std::size_t total_allocated_bytes() const noexcept override {
        return system_.total_allocated_bytes();
    }

    /// Allocation calls so far (successful or failed).
    [[nodiscard]] std::size_t allocation_calls() const {
        std::lock_guard lock(mutex_);
        return calls_;
    }
    [[nodiscard]] std::size_t live_blocks() const {
        std::lock_guard lock(mutex_);
        return live_.size();
    }
    /// Deallocations whose pointer, size or alignment did not match.
    [[nodiscard]] std::size_t mismatches() const {
        std::lock_guard lock(mutex_);
        return mismatches_;
    }
    /// Makes allocation call number `n` (0-based, counted from now) fail.
    void fail_at(std::size_t n) {
        std::lock_guard lock(mutex_);
        fail_at_ = calls_ + n;
    }

private:
    void* do_allocate(std::size_t size, std::size_t alignment, bool zero,
                      const ziggy::CallSite& site) noexcept override {
        std::lock_guard lock(mutex_);
        if (calls_++ == fail_at_) return nullptr;
        void* p = system_.try_allocate_bytes(size, alignment, zero, site);
        if (p != nullptr) live_.emplace(p, Block{size, alignment});
        return p;
    }
    void do_deallocate(void* p, std::size_t size, std::size_t alignment) noexcept override {
        std::lock_guard lock(mutex_);
        auto it = live_.find(p);
        if (it == live_.end() || it->second.size != size || it->second.alignment != alignment) {
            ++mismatches_;
            if (it == live_.end()) return;
        }
        live_.erase(it);
        system_.deallocate_bytes(p, size, alignment);
    }
    void do_free(void* p) override {
        std::lock_guard lock(mutex_);
        auto it = live_.find(p);
        if (it == live_.end()) {
            ++mismatches_;
            return;
        }
        live_.erase(it);
        system_.free(p);
    }

    ziggy::SystemAllocator system_;
    mutable std::mutex mutex_;
    std::unordered_map<void*, Block> live_;
    std::size_t calls_ = 0;
    std::size_t fail_at_ = static_cast<std::size_t>(-1);
    std::size_t mismatches_ = 0;
};

/// Whether every pointer of `v` is null (what a failed bulk allocation leaves).
inline bool all_null(const std::vector<void*>& v) {
    return std::all_of(v.begin(), v.end(), [](void* p) { return p == nullptr; });
}

} // namespace ziggy_test
