// Slow paths of ScopedAllocator: taking, releasing and reclaiming blocks. The
// fast path is ScopedAllocator::bump() in the header.
#include <ziggy/scoped_allocator.hpp>

#include <ziggy/errors.hpp>

#include <cstdio>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>

namespace ziggy {

// Sits at the start of every block. Blocks are taken 16-aligned, so the
// usable part (after the header) starts 16-aligned.
struct detail::ArenaBlock {
    ArenaBlock* previous;
    std::size_t size; // bytes taken from the backing allocator, for sized deallocation
};
static_assert(sizeof(detail::ArenaBlock) <= ScopedAllocator::block_header_size);

namespace {

using Block = detail::ArenaBlock;

constexpr std::size_t block_alignment = ScopedAllocator::block_header_size;
constexpr std::size_t min_block_size = 64;

// Reads a block's header, which is poisoned like the rest of the block.
Block read_header(const void* block) noexcept {
    detail::unpoison_defined(block, ScopedAllocator::block_header_size);
    return *static_cast<const Block*>(block);
}

void check_options(const ScopedAllocatorOptions& o) {
    if (o.initial_block_size < min_block_size)
        throw std::invalid_argument(
            "ziggy::ScopedAllocator: initial_block_size " + std::to_string(o.initial_block_size) +
            " is below the minimum of " + std::to_string(min_block_size) + " bytes");
    if (o.max_block_size < o.initial_block_size)
        throw std::invalid_argument(
            "ziggy::ScopedAllocator: max_block_size " + std::to_string(o.max_block_size) +
            " is smaller than initial_block_size " + std::to_string(o.initial_block_size));
}

// One tag per thread; its address identifies the thread without <thread>.
thread_local const char thread_tag = 0;

} // namespace

ScopedAllocator::ScopedAllocator(Allocator& backing, Options options)
    : backing_(backing), options_(options), next_block_size_(options.initial_block_size) {
    check_options(options_);
    detail::mempool_create(this);
}

ScopedAllocator::~ScopedAllocator() {
    reset(0);
    detail::mempool_destroy(this);
}

bool ScopedAllocator::thread_checks_enabled() noexcept {
#ifdef NDEBUG
    return false;
#else
    return true;
#endif
}

void ScopedAllocator::check_owner_thread() noexcept {
    if (!thread_checks_enabled()) return;
    const void* expected = nullptr;
    if (owner_thread_.compare_exchange_strong(expected, &thread_tag, std::memory_order_relaxed) ||
        expected == &thread_tag)
        return;
    std::fprintf(stderr,
                 "ziggy::ScopedAllocator %p: used from a second thread. An arena is not "
                 "thread-safe: give each thread its own ScopedAllocator, or reset() it before "
                 "handing it to another thread.\n",
                 static_cast<const void*>(this));
    std::abort();
}

void* ScopedAllocator::grow(std::size_t size, std::size_t alignment, bool zero_memory) noexcept {
    check_owner_thread();
    if (size > detail::max_object_size) return nullptr;
    const std::size_t align = alignment < min_alignment ? min_alignment : alignment;
    // Worst-case bytes a fresh block needs: its usable part starts 16-aligned.
    const std::size_t padding = align > block_alignment ? align - block_alignment : 0;
    std::size_t needed = 0;
    if (!detail::checked_add(block_header_size + padding, footprint(size), needed)) return nullptr;

    if (needed > next_block_size_ / 2) {
        // A dedicated block holds exactly this allocation; the current block
        // keeps serving small requests.
        void* raw = backing_.try_allocate_bytes(needed, block_alignment);
        if (raw == nullptr) return nullptr;
        dedicated_ = ::new (raw) Block{dedicated_, needed};
        reserved_bytes_ += needed;
        ++block_count_;
        detail::poison(raw, needed);
        void* user = detail::align_pointer(static_cast<char*>(raw) + block_header_size, align);
        return hand_out(user, size, zero_memory);
    }

    const std::size_t block_size = next_block_size_;
    void* raw = backing_.try_allocate_bytes(block_size, block_alignment);
    if (raw == nullptr) return nullptr;
    blocks_ = ::new (raw) Block{blocks_, block_size};
    reserved_bytes_ += block_size;
    ++block_count_;
    next_block_size_ = next_block_size_ > options_.max_block_size / 2 ? options_.max_block_size
                                                                      : next_block_size_ * 2;
    detail::poison(raw, block_size);
    cur_ = static_cast<char*>(raw) + block_header_size;
    end_ = static_cast<char*>(raw) + block_size;
    // Fits by construction (needed <= block_size / 2), so this is the fast path.
    return bump<false>(size, alignment, zero_memory);
}

void* ScopedAllocator::grow_or_throw(std::size_t size, std::size_t alignment, bool zero_memory) {
    void* p = grow(size, alignment, zero_memory);
    if (p == nullptr) detail::throw_bad_alloc();
    return p;
}

void ScopedAllocator::release_block(Block* block) noexcept {
    const std::size_t size = read_header(block).size;
    detail::unpoison(block, size); // the backing allocator expects its memory addressable
    reserved_bytes_ -= size;
    --block_count_;
    backing_.deallocate_bytes(block, size, block_alignment);
}

void ScopedAllocator::reset(std::size_t max_retained_bytes) noexcept {
    while (dedicated_ != nullptr) {
        Block* next = read_header(dedicated_).previous;
        release_block(dedicated_);
        dedicated_ = next;
    }
    Block* keep = blocks_;
    if (keep != nullptr && read_header(keep).size > max_retained_bytes) keep = nullptr;
    for (Block* b = keep != nullptr ? read_header(keep).previous : blocks_; b != nullptr;) {
        Block* next = read_header(b).previous;
        release_block(b);
        b = next;
    }
    blocks_ = keep;
    if (keep != nullptr) {
        keep->previous = nullptr;
        const std::size_t size = keep->size;
        detail::poison(keep, size);
        cur_ = reinterpret_cast<char*>(keep) + block_header_size;
        end_ = reinterpret_cast<char*>(keep) + size;
    } else {
        cur_ = end_ = nullptr;
    }
    live_bytes_ = 0;
    detail::mempool_forget_all(this);
    owner_thread_.store(nullptr, std::memory_order_relaxed);
}

void ScopedAllocator::deallocate_slow(void* pointer, std::size_t size,
                                      std::size_t alignment) noexcept {
    // Not the newest allocation of the current block: its bytes stay unusable
    // until reset(), but they are no longer handed out (accounting), and in
    // sanitized builds touching them again is a report. The clamp keeps a
    // stale Buffer from before reset() (a documented misuse) from wrapping.
    if (size <= detail::max_object_size) detail::poison(pointer, footprint(size));
    live_bytes_ -= size < live_bytes_ ? size : live_bytes_;
    if (dedicated_ == nullptr) return;
    const std::size_t align = alignment < min_alignment ? min_alignment : alignment;
    const char* user =
        detail::align_pointer(reinterpret_cast<char*>(dedicated_) + block_header_size, align);
    if (user != pointer) return;
    // An older allocation can start exactly where this block's allocation
    // would for `alignment` (just past its end): it must also lie inside.
    const Block header = read_header(dedicated_);
    if (static_cast<const char*>(pointer) + size >
        reinterpret_cast<char*>(dedicated_) + header.size)
        return;
    // The newest dedicated block holds only this allocation.
    Block* next = header.previous;
    detail::mempool_free(this, pointer);
    release_block(dedicated_);
    dedicated_ = next;
}

void ScopedAllocator::do_free(void*) {
    throw NotSupportedError(
        "ziggy::ScopedAllocator::free: an arena cannot free one allocation by pointer. Let the "
        "Buffer go out of scope or call deallocate_bytes(p, size, alignment) (the most recent "
        "allocation is reclaimed), or free everything at once with reset(); use an allocator "
        "that supports individual deallocation (SystemAllocator, UnmanagedMemoryPool) if "
        "blocks must be freed one by one.");
}

} // namespace ziggy
