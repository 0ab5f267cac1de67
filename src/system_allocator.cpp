#include <ziggy/system_allocator.hpp>

#include <ziggy/detail/sanitizer.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace ziggy {
namespace {

// The header sits directly in front of the user pointer. For alignments up to
// 16 the block starts at the header; for larger ones the block starts
// `alignment` bytes before the user pointer and the header fills the end of
// that gap.
struct Header {
    std::size_t size;
    std::size_t alignment;
};
constexpr std::size_t header_size = 16;
static_assert(sizeof(Header) <= header_size);

Header* header_of(void* user) noexcept {
    return reinterpret_cast<Header*>(static_cast<char*>(user) - header_size);
}

std::size_t front_gap(std::size_t alignment) noexcept {
    return alignment <= header_size ? header_size : alignment;
}

} // namespace

void* SystemAllocator::do_allocate(std::size_t size, std::size_t alignment, bool zero_memory,
                                   const CallSite&) noexcept {
    const std::size_t gap = front_gap(alignment);
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
        block = std::aligned_alloc(gap, detail::align_up(total, gap));
        if (block != nullptr && zero_memory) std::memset(static_cast<char*>(block) + gap, 0, size);
    }
    if (block == nullptr) [[unlikely]]
        return nullptr;

    void* user = static_cast<char*>(block) + gap;
    *header_of(user) = Header{size, alignment};
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

// Sanitized builds only: the header of every live block is poisoned and the
// first user byte is not, so a pointer for which that does not hold was never
// handed out here (interior, misaligned or foreign) and its "header" is
// garbage. Stop with a clear message instead of freeing garbage.
namespace {
[[noreturn, gnu::noinline, gnu::cold]] void report_foreign_free(const void* pointer) {
    std::fprintf(stderr,
                 "ziggy::SystemAllocator: free of %p, which this allocator did not hand out "
                 "(an interior, misaligned or foreign pointer)\n",
                 pointer);
    std::abort();
}
} // namespace

void SystemAllocator::do_free(void* pointer) {
    if constexpr (detail::asan_enabled) {
        const char* p = static_cast<const char*>(pointer);
        const bool freed_block = detail::is_poisoned(p) && detail::is_poisoned(p - header_size);
        const bool header_intact =
            detail::is_poisoned(p - header_size) && detail::is_poisoned(p - 1) && !detail::is_poisoned(p);
        // A freed block is all poisoned: let ASan's own double-free report speak.
        if (!header_intact && !freed_block) report_foreign_free(pointer);
    }
    detail::unpoison_defined(header_of(pointer), header_size);
    const Header h = *header_of(pointer);
    live_bytes_.fetch_sub(h.size, std::memory_order_relaxed);
    std::free(static_cast<char*>(pointer) - front_gap(h.alignment));
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
