// ziggy/memory_resource.hpp — MemoryResource: any ziggy::Allocator as a std::pmr::memory_resource.
//
// Lets the standard pmr containers run on a ziggy allocator: the pool, the
// arena, the debug allocator (whose leak report then names where the resource
// was created, since pmr containers cannot pass their callers' sites).
//
//     ziggy::UnmanagedMemoryPool pool;
//     ziggy::MemoryResource resource(pool);
//     std::pmr::vector<std::pmr::string> names(&resource);
//     names.emplace_back("a string long enough to need the heap");
//
// The resource refers to the allocator; the allocator must outlive it and
// every container using it. Thread-safe exactly when the allocator is.
#pragma once

#include <cstddef>
#include <memory_resource>

#include <ziggy/allocator.hpp>
#include <ziggy/system_allocator.hpp>

namespace ziggy {

class MemoryResource final : public std::pmr::memory_resource {
public:
    /// A resource over `allocator`. Allocations through it are attributed to
    /// the caller of this constructor (`site`).
    explicit MemoryResource(Allocator& allocator = default_allocator(),
                            CallSite site = CallSite::here()) noexcept
        : allocator_(&allocator), site_(site) {}

    /// The allocator this resource forwards to.
    [[nodiscard]] Allocator& allocator() const noexcept { return *allocator_; }
    /// The site allocations through this resource are attributed to.
    [[nodiscard]] const CallSite& site() const noexcept { return site_; }

private:
    // pmr may ask for 0 bytes and still wants a unique non-null pointer; the
    // byte layer returns nullptr for 0, so 0 becomes 1 both ways.
    static std::size_t at_least_one(std::size_t bytes) noexcept { return bytes == 0 ? 1 : bytes; }

    void* do_allocate(std::size_t bytes, std::size_t alignment) override {
        return allocator_->allocate_bytes(at_least_one(bytes), alignment, false, site_);
    }
    void do_deallocate(void* p, std::size_t bytes, std::size_t alignment) override {
        allocator_->deallocate_bytes(p, at_least_one(bytes), alignment);
    }
    /// Equal when both forward to the same allocator: memory from one can be
    /// returned through the other.
    [[nodiscard]] bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
        if (this == &other) return true;
        const auto* o = dynamic_cast<const MemoryResource*>(&other);
        return o != nullptr && o->allocator_ == allocator_;
    }

    Allocator* allocator_;
    CallSite site_;
};

} // namespace ziggy
