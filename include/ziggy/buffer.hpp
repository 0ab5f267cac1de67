// ziggy/buffer.hpp — Buffer<T>: a typed, bounds-checked, move-only block of memory.
//
// A Buffer either owns its memory (it came from `Allocator::allocate<T>`, and is
// freed through that allocator when the buffer is destroyed or `reset()`), or is
// a non-owning view (`wrap_existing`, `wrap_span`, `allocate_deferred`).
// It is C#'s UnmanagedBuffer<T>.
//
//     auto buf = ziggy::default_allocator().allocate<int>(8, /*zero_memory=*/true);
//     buf[2] = 7;                          // checked: buf[8] throws std::out_of_range
//     std::span<int> s = buf;              // unchecked, zero-cost access
//     buf.fill(1);
//     int* raw = buf.release();            // now the caller frees it:
//     ziggy::default_allocator().free(raw);
//
// Element access through `as_span()`, `data()` or `begin()/end()` compiles to
// the same code as a raw pointer loop; `operator[]` adds one compare.
#pragma once

#include <cstddef>
#include <cstring>
#include <span>
#include <utility>

#include <ziggy/allocator.hpp>
#include <ziggy/unmanaged.hpp>

namespace ziggy {

namespace detail {
[[noreturn]] void throw_index_out_of_range(std::size_t index, std::size_t size);
[[noreturn]] void throw_empty_buffer_access(const char* what);
[[noreturn]] void throw_copy_too_long(std::size_t source_size, std::size_t size);
} // namespace detail

template <Unmanaged T>
class Buffer {
public:
    using element_type = T;
    using value_type = std::remove_cv_t<T>;
    using size_type = std::size_t;
    using iterator = T*;
    using const_iterator = const T*;

    /// An empty, non-owning buffer: `size() == 0`, `data() == nullptr`.
    constexpr Buffer() noexcept = default;

    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;

    Buffer(Buffer&& other) noexcept
        : data_(std::exchange(other.data_, nullptr)),
          size_(std::exchange(other.size_, 0)),
          owner_(std::exchange(other.owner_, nullptr)) {}

    /// Frees what this buffer owns, then takes over `other`'s memory.
    /// A self-move keeps the memory: `other`'s fields are taken first, so
    /// the reset in between then frees nothing. (No `this != &other` test:
    /// it makes the compiler keep a temporary on the stack, and a loop
    /// assigning fresh buffers slower.) Always inline, as the destructor:
    /// with the pool's free inlined into it, g++ 12 otherwise calls it out
    /// of line once a program assigns buffers of one type in a few places
    /// (a batch of 1000 `Buffer`s read 6.2-6.3 us against 3.9 so).
    [[gnu::always_inline]] Buffer& operator=(Buffer&& other) noexcept {
        // Taken first also because freeing ours writes through pointers,
        // after which the compiler would have to reload them.
        T* data = std::exchange(other.data_, nullptr);
        const std::size_t size = std::exchange(other.size_, 0);
        Allocator* owner = std::exchange(other.owner_, nullptr);
        reset();
        data_ = data;
        size_ = size;
        owner_ = owner;
        return *this;
    }

    /// Frees owned memory through its allocator; never throws.
    [[gnu::always_inline]] ~Buffer() { reset(); }

    /// Number of elements.
    [[nodiscard]] constexpr std::size_t size() const noexcept { return size_; }
    /// Number of bytes: `size() * sizeof(T)` (cannot overflow: checked at allocation).
    [[nodiscard]] constexpr std::size_t size_bytes() const noexcept { return size_ * sizeof(T); }
    /// The first element, or nullptr for an empty buffer.
    [[nodiscard]] constexpr T* data() const noexcept { return data_; }
    [[nodiscard]] constexpr bool empty() const noexcept { return size_ == 0; }
    /// True when the buffer refers to memory (`data() != nullptr`). An empty
    /// buffer (count 0, moved-from, reset or released) is not valid.
    [[nodiscard]] constexpr bool valid() const noexcept { return data_ != nullptr; }
    /// True when destroying this buffer frees its memory.
    [[nodiscard]] constexpr bool owns_memory() const noexcept { return owner_ != nullptr; }
    /// The allocator that frees this buffer, or nullptr for a non-owning buffer.
    [[nodiscard]] constexpr Allocator* allocator() const noexcept { return owner_; }

    /// Element `index`. Throws std::out_of_range (naming index and size) if
    /// `index >= size()`.
    [[nodiscard]] T& operator[](std::size_t index) const {
        if (index >= size_) [[unlikely]]
            detail::throw_index_out_of_range(index, size_);
        return data_[index];
    }
    /// Same as `operator[]`.
    [[nodiscard]] T& at(std::size_t index) const { return (*this)[index]; }

    /// The first element. Throws std::out_of_range if the buffer is empty.
    [[nodiscard]] T& front() const {
        if (size_ == 0) [[unlikely]]
            detail::throw_empty_buffer_access("front");
        return data_[0];
    }
    /// The last element. Throws std::out_of_range if the buffer is empty.
    [[nodiscard]] T& back() const {
        if (size_ == 0) [[unlikely]]
            detail::throw_empty_buffer_access("back");
        return data_[size_ - 1];
    }

    [[nodiscard]] constexpr T* begin() const noexcept { return data_; }
    [[nodiscard]] constexpr T* end() const noexcept { return data_ + size_; }

    /// Unchecked view of all elements.
    [[nodiscard]] constexpr std::span<T> as_span() const noexcept { return {data_, size_}; }
    [[nodiscard]] constexpr std::span<const T> as_read_only_span() const noexcept {
        return {data_, size_};
    }
    constexpr operator std::span<T>() const noexcept { return as_span(); }
    constexpr operator std::span<const T>() const noexcept requires(!std::is_const_v<T>) {
        return as_read_only_span();
    }

    /// Sets every element to `value`.
    void fill(const T& value) const noexcept {
        for (T& x : *this) x = value;
    }

    /// Sets every byte to zero.
    void clear() const noexcept {
        if (size_ != 0) std::memset(const_cast<std::remove_cv_t<T>*>(data_), 0, size_bytes());
    }

    /// Copies `source` into the first `source.size()` elements. Throws
    /// std::invalid_argument (buffer unchanged) if `source` is longer than the
    /// buffer. Overlapping ranges are allowed.
    void copy_from(std::span<const T> source) const {
        if (source.size() > size_) [[unlikely]]
            detail::throw_copy_too_long(source.size(), size_);
        if (!source.empty())
            std::memmove(const_cast<std::remove_cv_t<T>*>(data_), source.data(),
                         source.size_bytes());
    }

    /// Frees owned memory now (C#'s Dispose); the buffer becomes empty. A
    /// non-owning buffer just forgets its view. Never throws.
    [[gnu::always_inline]] void reset() noexcept {
        if (owner_ != nullptr) {
            // An owning buffer always has memory (the precondition of
            // adopt_buffer and Allocator::make_buffer), so deallocate_bytes's
            // null test folds away. The size is `size_ * sizeof(T)`, not
            // size_bytes(), which g++ calls in its early passes: the
            // allocator's size class lookup for the free is merged with the
            // allocation's only when both see the same size there
            // (detail::size_class_lookup).
            if (data_ == nullptr) __builtin_unreachable();
            owner_->deallocate_bytes(const_cast<std::remove_cv_t<T>*>(data_), size_ * sizeof(T),
                                     alignof(T));
        }
        data_ = nullptr;
        size_ = 0;
        owner_ = nullptr;
    }

    /// Gives up ownership and returns the pointer; the buffer becomes empty. The
    /// caller frees it with `allocator.free(p)` or
    /// `allocator.deallocate_bytes(p, n * sizeof(T), alignof(T))`.
    [[nodiscard]] T* release() noexcept {
        owner_ = nullptr;
        size_ = 0;
        return std::exchange(data_, nullptr);
    }

private:
    friend class Allocator;
    template <Unmanaged U>
    friend Buffer<U> wrap_existing(U* pointer, std::size_t count) noexcept;

    // Forced inline, as the fast paths that call them: a call in g++'s
    // early passes keeps the Buffer in memory there (see reset).
    [[gnu::always_inline]] constexpr Buffer(T* data, std::size_t size, Allocator* owner) noexcept
        : data_(data), size_(size), owner_(owner) {}
    [[gnu::always_inline]] Buffer(T* data, std::size_t size, Allocator& owner) noexcept
        : data_(data), size_(size), owner_(&owner) {}

    T* data_ = nullptr;
    std::size_t size_ = 0;
    Allocator* owner_ = nullptr;
};

/// A non-owning buffer over `count` elements at `pointer` (which may be
/// nullptr only when `count == 0`). Destroying it frees nothing. A null
/// pointer or a zero count gives an empty buffer, which is not `valid()`.
template <Unmanaged T>
[[nodiscard]] Buffer<T> wrap_existing(T* pointer, std::size_t count) noexcept {
    // An empty view must not be valid(), as for every other empty buffer.
    if (pointer == nullptr || count == 0) return Buffer<T>();
    return Buffer<T>(pointer, count, static_cast<Allocator*>(nullptr));
}

/// A non-owning buffer over the elements of `span`.
template <Unmanaged T, std::size_t Extent>
[[nodiscard]] Buffer<T> wrap_span(std::span<T, Extent> span) noexcept {
    return wrap_existing(span.data(), span.size());
}

} // namespace ziggy
