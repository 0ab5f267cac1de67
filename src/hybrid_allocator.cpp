// HybridAllocator: the byte layer. The typed fast path is inline in the header.
#include <ziggy/hybrid_allocator.hpp>

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

void HybridAllocator::do_free(void* pointer) { pool_.free(pointer); }

} // namespace ziggy
