#include <ziggy/system_allocator.hpp>

#include <ziggy/detail/front_header.hpp>
#include <ziggy/detail/sanitizer.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace ziggy {
namespace {

// The header sits directly in front of the user pointer (detail/front_header.hpp).
// Its cookie is checked on free: a pointer whose "header" lacks the expected
// one was not handed out here, or was freed already (and the heap reused the
// header's bytes), or belongs to a pool over this allocator.
using Header = detail::SystemHeader;
constexpr std::size_t header_size = detail::front_header_size;

Header* header_of(void* user) noexcept { return detail::front_header_of<Header>(user); }

} // namespace

void* SystemAllocator::do_allocate(std::size_t size, std::size_t alignment, bool zero_memory,
                                   const CallSite&) noexcept {
    return allocate_tagged(size, alignment, zero_memory, detail::system_cookie);
}

void* SystemAllocator::allocate_for_pool(std::size_t size, std::size_t alignment, bool zero_memory,
                                         std::uint32_t cookie) noexcept {
    return allocate_tagged(size, alignment, zero_memory, cookie);
}

inline void* SystemAllocator::allocate_tagged(std::size_t size, std::size_t alignment,
                                              bool zero_memory, std::uint32_t cookie) noexcept {
    const std::size_t gap = detail::front_gap(alignment);
    // The whole block, header included, must stay within PTRDIFF_MAX.
    if (size > detail::max_object_size - gap) [[unlikely]]
        return nullptr;
    const std::size_t total = size + gap;

    void* block = nullptr;
    if (alignment <= detail::malloc_alignment) [[likely]] {
        block = zero_memory ? std::calloc(1, total) : std::malloc(total);
    } else {
        // aligned_alloc wants a size that is a multiple of the alignment.
        if (detail::align_up_overflows(total, gap)) return nullptr;
        const std::size_t rounded = detail::align_up(total, gap);
        block = std::aligned_alloc(gap, rounded);
        if (block != nullptr) {
            if (zero_memory) std::memset(static_cast<char*>(block) + gap, 0, size);
            // ASan: the rounding slack after the user's bytes is a red zone
            // too, and so is the gap in front of the header.
            detail::poison(static_cast<char*>(block) + total, rounded - total);
            detail::poison(block, gap - header_size);
        }
    }
    if (block == nullptr) [[unlikely]]
        return nullptr;

    void* user = static_cast<char*>(block) + gap;
    *header_of(user) = Header{size, static_cast<std::uint32_t>(alignment), cookie};
    // ASan: the header is a red zone, so an underrun of one byte is reported.
    detail::poison(header_of(user), header_size);
    live_bytes_.fetch_add(size, std::memory_order_relaxed);
    return user;
}

void SystemAllocator::do_deallocate(void* pointer, std::size_t, std::size_t) noexcept {
    // The header is the authority: a caller passing a wrong size must not
    // corrupt the accounting.
    do_free(pointer);
}

// A pointer this allocator did not hand out has a garbage "header": stop with
// a clear message instead of freeing garbage. Sanitized builds check the
// header's poisoning first, so they never touch someone else's shadow memory.
namespace {
[[noreturn, gnu::noinline, gnu::cold]] void report_foreign_free(const void* pointer) {
    std::fprintf(stderr,
                 "ziggy::SystemAllocator: free of %p, which this allocator did not hand out "
                 "(an interior, misaligned, foreign or already freed pointer)\n",
                 pointer);
    std::abort();
}
[[noreturn, gnu::noinline, gnu::cold]] void report_pool_block_free(const void* pointer) {
    std::fprintf(stderr,
                 "ziggy::SystemAllocator: free of %p, a block of an UnmanagedMemoryPool (or "
                 "HybridAllocator) over this allocator: free it through that pool\n",
                 pointer);
    std::abort();
}
} // namespace

void SystemAllocator::do_free(void* pointer) {
    if (!detail::looks_like_live_block(pointer, header_size)) [[unlikely]] {
        // A block freed before is all poisoned (ASan's freed memory): the
        // cookie test below refuses it, since release() zeroed its cookie.
        if (!detail::is_poisoned(pointer)) report_foreign_free(pointer);
    }
    detail::unpoison_defined(header_of(pointer), header_size);
    const std::uint32_t cookie = header_of(pointer)->cookie;
    if (cookie != detail::system_cookie) [[unlikely]] {
        if (detail::is_system_pool_cookie(cookie)) report_pool_block_free(pointer);
        report_foreign_free(pointer);
    }
    release(pointer);
}

void SystemAllocator::free_for_pool(void* pointer) noexcept {
    // The pool has read the cookie (unpoisoned, and its own).
    release(pointer);
}

inline void SystemAllocator::release(void* pointer) noexcept {
    Header* header = header_of(pointer);
    const Header h = *header;
    header->cookie = 0;
    live_bytes_.fetch_sub(h.size, std::memory_order_relaxed);
    std::free(static_cast<char*>(pointer) - detail::front_gap(h.alignment));
}

SystemAllocator& default_allocator() noexcept {
    // Never destroyed, on purpose: buffers held by static objects may be
    // destroyed after any function-local static would be. Placement new into
    // static storage: no heap, so nothing to fail and nothing for leak checkers.
    alignas(SystemAllocator) static unsigned char storage[sizeof(SystemAllocator)];
    static SystemAllocator* const instance = ::new (static_cast<void*>(storage)) SystemAllocator();
    return *instance;
}

} // namespace ziggy
