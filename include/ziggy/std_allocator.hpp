// ziggy/std_allocator.hpp — StdAllocator<T>: any ziggy::Allocator as a standard allocator.
//
// For standard containers, std::allocate_shared and anything else that takes
// an Allocator template argument. Unlike `allocate<T>`, the element type may
// be anything (std::string included): the container constructs and destroys
// its elements, StdAllocator only provides memory.
//
//     ziggy::UnmanagedMemoryPool pool;
//     std::vector<int, ziggy::StdAllocator<int>> v{ziggy::StdAllocator<int>(pool)};
//     auto sp = std::allocate_shared<Widget>(ziggy::StdAllocator<Widget>(pool));
//
// Semantics, chosen to make the memory always go back where it came from:
// - A StdAllocator refers to a ziggy::Allocator, which must outlive it.
// - Two StdAllocators are equal when they refer to the same Allocator
//   (of any element type: rebinding keeps the reference).
// - It propagates on copy assignment, move assignment and swap, so a container
//   always holds the allocator its elements came from (assignment between
//   containers on different allocators never copies element by element
//   through a foreign allocator).
// - Default-constructed, it uses ziggy::default_allocator().
#pragma once

#include <cstddef>
#include <type_traits>

#include <ziggy/allocator.hpp>
#include <ziggy/system_allocator.hpp>

namespace ziggy {

template <class T>
class StdAllocator {
public:
    using value_type = T;
    using propagate_on_container_copy_assignment = std::true_type;
    using propagate_on_container_move_assignment = std::true_type;
    using propagate_on_container_swap = std::true_type;
    using is_always_equal = std::false_type;

    /// Over ziggy::default_allocator().
    StdAllocator() noexcept : StdAllocator(default_allocator()) {}

    /// Over `allocator`; allocations are attributed to the caller of this
    /// constructor (`site`), since containers cannot pass their callers' sites.
    StdAllocator(Allocator& allocator,
                 CallSite site = CallSite::here()) noexcept // NOLINT(google-explicit-constructor)
        : allocator_(&allocator), site_(site) {}

    /// Rebinding copy: same allocator, same site.
    template <class U>
    StdAllocator(const StdAllocator<U>& other) noexcept // NOLINT(google-explicit-constructor)
        : allocator_(&other.allocator()), site_(other.site()) {}

    /// Memory for `n` objects of T, aligned to alignof(T). Throws
    /// std::bad_array_new_length if `n * sizeof(T)` overflows, std::bad_alloc
    /// when memory is exhausted. `n == 0` still returns a unique pointer.
    [[nodiscard]] T* allocate(std::size_t n) {
        const std::size_t bytes = detail::array_bytes<T>(n);
        return static_cast<T*>(
            allocator_->allocate_bytes(bytes == 0 ? 1 : bytes, alignof(T), false, site_));
    }

    /// Returns memory from `allocate(n)`; never throws.
    void deallocate(T* p, std::size_t n) noexcept {
        const std::size_t bytes = n * sizeof(T);
        allocator_->deallocate_bytes(p, bytes == 0 ? 1 : bytes, alignof(T));
    }

    [[nodiscard]] Allocator& allocator() const noexcept { return *allocator_; }
    [[nodiscard]] const CallSite& site() const noexcept { return site_; }

    template <class U>
    friend bool operator==(const StdAllocator& a, const StdAllocator<U>& b) noexcept {
        return &a.allocator() == &b.allocator();
    }

private:
    Allocator* allocator_;
    CallSite site_;
};

} // namespace ziggy
