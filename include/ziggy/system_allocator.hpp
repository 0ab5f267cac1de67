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
// requested size and the alignment, so `free(p)` needs no size. An
// UnmanagedMemoryPool (or HybridAllocator) over a SystemAllocator takes its
// direct blocks (those above its classes) with a header marked as the pool's,
// and puts none of its own in front: such a block is freed through the pool
// only (`free` here stops with a message naming the pool).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

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

    friend class UnmanagedMemoryPool;
    /// `do_allocate` for a pool's direct block: the header's cookie is
    /// `cookie`, the pool's `detail::system_pool_cookie`, so `free` refuses
    /// it and the pool (that one alone) knows it.
    [[nodiscard]] void* allocate_for_pool(std::size_t size, std::size_t alignment, bool zero_memory,
                                          std::uint32_t cookie) noexcept;
    /// Frees such a block. Precondition: the pool read its cookie (unpoisoned).
    void free_for_pool(void* pointer) noexcept;
    void* allocate_tagged(std::size_t size, std::size_t alignment, bool zero_memory,
                          std::uint32_t cookie) noexcept;
    void release(void* pointer) noexcept;

    std::atomic<std::size_t> live_bytes_{0};
};

/// The process-wide SystemAllocator (constructed on first use, never destroyed,
/// so buffers in static objects may outlive main).
[[nodiscard]] SystemAllocator& default_allocator() noexcept;

} // namespace ziggy
