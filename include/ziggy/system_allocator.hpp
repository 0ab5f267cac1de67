// ziggy/system_allocator.hpp — SystemAllocator: the platform heap, with exact accounting.
//
// Thin layer over malloc/aligned_alloc that keeps `total_allocated_bytes()`
// exact (the sum of the sizes users asked for, not what malloc rounded up to)
// and supports both sized and unsized frees at any alignment. Thread-safe.
// `default_allocator()` is the process-wide instance (C#'s Z.DefaultAllocator).
//
//     ziggy::SystemAllocator sys;
//     auto v = sys.allocate<double>(100);         // 800 bytes
//     assert(sys.total_allocated_bytes() == 800);
//     struct alignas(64) Line { char b[64]; };
//     auto lines = sys.allocate<Line>(4);          // 64-byte aligned
//
// Every block carries a 16-byte header in front of the user pointer holding the
// requested size and the alignment, so `free(p)` needs no size.
#pragma once

#include <atomic>
#include <cstddef>

#include <ziggy/allocator.hpp>

namespace ziggy {

class SystemAllocator final : public Allocator {
public:
    SystemAllocator() = default;

    /// Always true.
    [[nodiscard]] bool supports_individual_deallocation() const noexcept override { return true; }

    /// Exact sum of the sizes of live allocations made through this instance.
    [[nodiscard]] std::size_t total_allocated_bytes() const noexcept override {
        return live_bytes_.load(std::memory_order_relaxed);
    }

private:
    void* do_allocate(std::size_t size, std::size_t alignment, bool zero_memory,
                      const CallSite& site) noexcept override;
    void do_deallocate(void* pointer, std::size_t size, std::size_t alignment) noexcept override;
    void do_free(void* pointer) override;

    std::atomic<std::size_t> live_bytes_{0};
};

/// The process-wide SystemAllocator (constructed on first use, never destroyed,
/// so buffers in static objects may outlive main).
[[nodiscard]] SystemAllocator& default_allocator() noexcept;

} // namespace ziggy
