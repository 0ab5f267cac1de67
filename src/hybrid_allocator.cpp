// HybridAllocator: the byte layer and the bulk calls. The typed fast path is
// inline in the header.
#include <ziggy/hybrid_allocator.hpp>

#include <algorithm>

namespace ziggy {

void* HybridAllocator::do_allocate(std::size_t size, std::size_t alignment, bool zero_memory,
                                   const CallSite& site) noexcept {
    return route_for_bytes(size, alignment) == Route::pooled
               ? pool_.allocate_inline(size, alignment, zero_memory)
               : pool_.allocate_direct(size, alignment, zero_memory, site);
}

void HybridAllocator::do_deallocate(void* pointer, std::size_t size,
                                    std::size_t alignment) noexcept {
    // deallocate_bytes already tried the pool's inline push (the hybrid
    // has its pool's slot place); the pool's header says which route the
    // block took.
    pool_.deallocate_declined(pointer, size, alignment);
}

void HybridAllocator::do_free(void* pointer) {
    // The pool's free, its refusal named after the allocator the caller used.
    pool_.free_for(pointer, "HybridAllocator", "HybridAllocator");
}

void HybridAllocator::allocate_bulk(std::span<void*> out, std::size_t size, std::size_t alignment,
                                    bool zero_memory, CallSite site) {
    // Within the classes and their alignments (any alignment there, even
    // one that is not a power of two): the pool's bulk call checks the
    // input as allocate_bytes does.
    if (route_for_bytes(size, alignment) == Route::pooled) {
        pool_.allocate_bulk(out, size, alignment, zero_memory);
        return;
    }
    // Direct: the same checks (size 0 here is aligned beyond the classes).
    if (UnmanagedMemoryPool::admit_bulk_request(out, size, alignment))
        allocate_direct_bulk(out, size, alignment, zero_memory, site);
}

void HybridAllocator::allocate_direct_bulk(std::span<void*> out, std::size_t size,
                                           std::size_t alignment, bool zero_memory,
                                           const CallSite& site) {
    for (std::size_t k = 0; k < out.size(); ++k) {
        void* p = pool_.allocate_direct(size, alignment, zero_memory, site);
        if (p == nullptr) [[unlikely]] {
            pool_.deallocate_bulk(out.first(k), size, alignment);
            std::fill(out.begin(), out.end(), nullptr);
            detail::throw_bad_alloc();
        }
        out[k] = p;
    }
}

} // namespace ziggy
