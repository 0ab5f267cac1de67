// ziggy/scoped_allocator.hpp — ScopedAllocator: an arena that frees everything at once.
//
// Use an arena for many short-lived allocations that die together: a request,
// a frame, a parse. Allocation is a pointer bump inside a block taken from a
// backing allocator; nothing is freed one by one. `reset()` or destruction hands
// every block back (C#'s ScopedMemoryAllocator).
//
//     ziggy::ScopedAllocator arena;                     // blocks from default_allocator()
//     auto names = arena.allocate<char>(256);           // a few instructions, no lock
//     auto points = arena.allocate<Point>(1000, true);  // zeroed
//     ...
//     arena.reset();                                    // all of it gone; one block kept for reuse
//
// Blocks: the first has `initial_block_size` bytes, each next one twice the
// previous up to `max_block_size`. A request that does not fit in the current
// block and is larger than half the next block gets a dedicated block of its
// own (returned early if it is deallocated while it is the newest). Every
// power-of-two alignment is honoured (padding inside the block).
//
// Freeing: `supports_individual_deallocation()` is false and `free(p)` throws
// ziggy::NotSupportedError. Destroying a Buffer the arena made is fine: it never
// throws, and when the buffer is the most recent allocation (of the current
// block, or the most recent dedicated block) its memory is reclaimed, so buffers
// destroyed in LIFO order cost no arena space.
//
// Sanitizers: in ASan builds (and Valgrind builds with ZIGGY_VALGRIND) the unused
// part of every block, a 16-byte red zone after each allocation and everything
// `reset()` releases are poisoned, so an overrun inside the arena is reported at
// the faulting instruction. Without them the arena is a pure bump: no red zones.
//
// Not thread-safe: one thread uses an arena at a time. Builds without NDEBUG
// check this in the slow path (block changes): an arena that took a block on one
// thread and is then grown on another aborts with a message. Hand an arena to
// another thread after `reset()`.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <ziggy/allocator.hpp>
#include <ziggy/buffer.hpp>
#include <ziggy/detail/alignment.hpp>
#include <ziggy/detail/sanitizer.hpp>
#include <ziggy/system_allocator.hpp>

namespace ziggy {

namespace detail {
struct ArenaBlock;
} // namespace detail

/// How a ScopedAllocator sizes the blocks it takes from its backing allocator.
struct ScopedAllocatorOptions {
    /// Bytes of the first block (including a 16-byte block header). At least 64.
    std::size_t initial_block_size = 4096;
    /// Blocks double in size up to this many bytes. At least `initial_block_size`.
    std::size_t max_block_size = std::size_t(1) << 20;
    /// `reset()` keeps the newest (largest) block for reuse only if it has at
    /// most this many bytes; 0 makes `reset()` return every block.
    std::size_t max_retained_bytes = static_cast<std::size_t>(-1);
};

class ScopedAllocator final : public Allocator {
public:
    using Options = ScopedAllocatorOptions;

    /// An empty arena over `backing`; takes no memory until the first allocation.
    /// Throws std::invalid_argument if `options.initial_block_size < 64` or
    /// `options.max_block_size < options.initial_block_size`. `backing` must
    /// outlive the arena.
    explicit ScopedAllocator(Allocator& backing = default_allocator(), Options options = {});
    /// The same over any allocator type, an arena too (`BackingAllocator`).
    template <BackingAllocator A>
    explicit ScopedAllocator(A& backing, Options options = {})
        : ScopedAllocator(static_cast<Allocator&>(backing), options) {}

    /// Returns every block to the backing allocator. Buffers made by the arena
    /// must be gone (or never used again) by then.
    ~ScopedAllocator() override;

    ScopedAllocator(const ScopedAllocator&) = delete;
    ScopedAllocator& operator=(const ScopedAllocator&) = delete;
    ScopedAllocator(ScopedAllocator&&) = delete;
    ScopedAllocator& operator=(ScopedAllocator&&) = delete;

    /// The typed API of Allocator::allocate<T>, as an inline bump through the
    /// concrete type (no virtual call). Same contract: `count == 0` gives an empty
    /// buffer; overflow of `count * sizeof(T)` throws std::bad_array_new_length;
    /// exhaustion of the backing allocator throws std::bad_alloc with accounting
    /// unchanged. The call site is accepted for signature compatibility; the arena
    /// does not record it.
    template <Unmanaged T>
    [[nodiscard]] Buffer<T> allocate(std::size_t count, bool zero_memory = false,
                                     [[maybe_unused]] const char* file = __builtin_FILE(),
                                     [[maybe_unused]] int line = __builtin_LINE(),
                                     [[maybe_unused]] const char* function = __builtin_FUNCTION()) {
        if (count == 0) return Buffer<T>();
        const std::size_t bytes = detail::array_bytes<T>(count);
        return adopt_buffer(static_cast<T*>(bump<true>(bytes, alignof(T), zero_memory)), count);
    }

    /// A `bool` where the alignment goes does not compile, as on Allocator
    /// (whose deleted overload this class's own `allocate_bytes` hides).
    template <std::same_as<bool> B, class... Rest>
    void* allocate_bytes(std::size_t, B, Rest&&...) = delete;

    /// Allocator::allocate_bytes as an inline bump: `size` bytes aligned to
    /// `alignment` (a power of two, else std::invalid_argument); nullptr for
    /// `size == 0`; std::bad_alloc when the backing allocator is exhausted.
    [[nodiscard]] void* allocate_bytes(std::size_t size,
                                       std::size_t alignment = detail::malloc_alignment,
                                       bool zero_memory = false,
                                       [[maybe_unused]] CallSite site = CallSite::here()) {
        if (!detail::is_power_of_two(alignment)) [[unlikely]]
            detail::throw_bad_alignment(alignment);
        if (size == 0) return nullptr;
        if (!detail::is_possible_request(size, alignment)) [[unlikely]]
            detail::throw_bad_alloc();
        return bump<true>(size, alignment, zero_memory);
    }

    /// Frees everything the arena handed out. Dedicated blocks go back to the
    /// backing allocator; of the others only the newest is kept for reuse, and
    /// only if it has at most `options().max_retained_bytes` bytes. Afterwards
    /// `total_allocated_bytes() == 0`; in sanitized builds the kept block is
    /// poisoned. Never throws.
    /// Precondition: Buffers made before `reset()` are destroyed or released
    /// first. Their memory is handed out again afterwards, so destroying such
    /// a Buffer later could give back bytes of a newer allocation.
    void reset() noexcept { reset(options_.max_retained_bytes); }

    /// As `reset()`, keeping a block only if it has at most `max_retained_bytes`
    /// bytes (0 returns every block).
    void reset(std::size_t max_retained_bytes) noexcept;

    /// False: memory is freed all at once by `reset()` or destruction.
    [[nodiscard]] bool supports_individual_deallocation() const noexcept override { return false; }

    /// Exact: the sum of the sizes of the live allocations handed out since
    /// construction or the last `reset()` (every deallocation, e.g. a Buffer
    /// destroyed, subtracts its size; only the most recent allocation's bytes
    /// can be reused before `reset()`, see `reserved_bytes()` for what the arena
    /// holds). Alignment padding and red zones are not counted.
    [[nodiscard]] std::size_t total_allocated_bytes() const noexcept override {
        return live_bytes_;
    }

    /// Bytes currently held from the backing allocator (all blocks, headers
    /// included).
    [[nodiscard]] std::size_t reserved_bytes() const noexcept { return reserved_bytes_; }

    /// Blocks currently held (regular and dedicated).
    [[nodiscard]] std::size_t block_count() const noexcept { return block_count_; }

    /// Size in bytes of the next regular block the arena will take.
    [[nodiscard]] std::size_t next_block_size() const noexcept { return next_block_size_; }

    [[nodiscard]] const Options& options() const noexcept { return options_; }
    [[nodiscard]] Allocator& backing() const noexcept { return backing_; }

    /// Whether this build of the library checks single-threaded use (builds
    /// without NDEBUG).
    [[nodiscard]] static bool thread_checks_enabled() noexcept;

    /// Bytes each block spends on its header.
    static constexpr std::size_t block_header_size = 16;
    /// Bytes poisoned after every allocation in sanitized builds (0 otherwise).
    static constexpr std::size_t red_zone = detail::memory_checker_enabled ? 16 : 0;

protected:
    void* do_allocate(std::size_t size, std::size_t alignment, bool zero_memory,
                      const CallSite&) noexcept override {
        return bump<false>(size, alignment, zero_memory);
    }
    // Reclaims the most recent allocation of the current block inline (a Buffer
    // destroyed in LIFO order); everything else is in deallocate_slow().
    void do_deallocate(void* pointer, std::size_t size, std::size_t alignment) noexcept override {
        const auto p = reinterpret_cast<std::uintptr_t>(pointer);
        if (p + footprint(size) == reinterpret_cast<std::uintptr_t>(cur_) &&
            size <= detail::max_object_size) {
            cur_ = static_cast<char*>(pointer);
            live_bytes_ -= size;
            detail::poison(pointer, footprint(size));
            detail::mempool_free(this, pointer);
            return;
        }
        deallocate_slow(pointer, size, alignment);
    }
    [[noreturn]] void do_free(void* pointer) override;

private:
    using Block = detail::ArenaBlock;

    // Allocations start on a granule in sanitized builds, so that poisoning one
    // allocation's red zone never touches the granule the next one starts in.
    static constexpr std::size_t min_alignment =
        detail::memory_checker_enabled ? detail::asan_granularity : 1;

    // Arena bytes one allocation of `size` occupies after its aligned start.
    // Precondition: size <= max_object_size (no overflow).
    static constexpr std::size_t footprint(std::size_t size) noexcept {
        if constexpr (detail::memory_checker_enabled)
            return detail::align_up(size, detail::asan_granularity) + red_zone;
        else
            return size;
    }

    // The fast path: one compare against the block end. The size check folds
    // into it (and away, after the typed API's own check or for a constant).
    // Everything else is in grow(), out of line.
    template <bool Throw>
    [[gnu::always_inline]] void* bump(std::size_t size, std::size_t alignment,
                                      bool zero_memory) noexcept(!Throw) {
        const std::size_t align = alignment < min_alignment ? min_alignment : alignment;
        // Integer arithmetic: an oversized request never forms an out-of-range pointer.
        const auto cur = reinterpret_cast<std::uintptr_t>(cur_);
        const std::uintptr_t start = (cur + align - 1) & ~static_cast<std::uintptr_t>(align - 1);
        const std::uintptr_t stop = start + footprint(size);
        if (stop > reinterpret_cast<std::uintptr_t>(end_) || size > detail::max_object_size)
            [[unlikely]]
            return Throw ? grow_or_throw(size, alignment, zero_memory)
                         : grow(size, alignment, zero_memory);
        char* p = cur_ + (start - cur);
        cur_ += stop - cur;
        return hand_out(p, size, zero_memory);
    }

    [[gnu::always_inline]] void* hand_out(void* p, std::size_t size, bool zero_memory) noexcept {
        live_bytes_ += size;
        detail::unpoison(p, size);
        detail::mempool_alloc(this, p, size);
        if (zero_memory) std::memset(p, 0, size);
        return p;
    }

    // Slow path of bump(): a new regular block, or a dedicated one. nullptr
    // (nothing changed) when the request is impossible or the backing fails.
    [[gnu::noinline]] void* grow(std::size_t size, std::size_t alignment,
                                 bool zero_memory) noexcept;
    [[gnu::noinline]] void* grow_or_throw(std::size_t size, std::size_t alignment,
                                          bool zero_memory);
    // The newest dedicated block is returned to the backing allocator; any
    // other allocation stays until reset().
    [[gnu::noinline]] void deallocate_slow(void* pointer, std::size_t size,
                                           std::size_t alignment) noexcept;
    void release_block(Block* block) noexcept;
    void check_owner_thread() noexcept;

    Allocator& backing_;
    Options options_;
    char* cur_ = nullptr; // next free byte of the current block
    char* end_ = nullptr; // one past the current block
    std::size_t live_bytes_ = 0;
    Block* blocks_ = nullptr;    // regular blocks, newest (current) first
    Block* dedicated_ = nullptr; // dedicated blocks, newest first
    std::size_t next_block_size_;
    std::size_t reserved_bytes_ = 0;
    std::size_t block_count_ = 0;
    std::atomic<const void*> owner_thread_{nullptr}; // debug builds only
};

} // namespace ziggy
