// tests/debug_over.hpp — a DebugAllocator stacked on another allocator it owns
// (an arena, a pool), as one Allocator: composition for the shared suites and
// the failure-injection tests.
#pragma once

#include <ziggy/debug_allocator.hpp>
#include <ziggy/system_allocator.hpp>

namespace ziggy_test {

template <class Inner>
class DebugOver final : public ziggy::Allocator {
public:
    explicit DebugOver(ziggy::Allocator& backing = ziggy::default_allocator(),
                       ziggy::LeakReportingMode mode = ziggy::LeakReportingMode::ignore)
        : inner_(backing), debug_("debug-over", inner_, mode) {}

    bool supports_individual_deallocation() const noexcept override {
        return debug_.supports_individual_deallocation();
    }
    std::size_t total_allocated_bytes() const noexcept override {
        return debug_.total_allocated_bytes();
    }

private:
    void* do_allocate(std::size_t size, std::size_t alignment, bool zero,
                      const ziggy::CallSite& site) noexcept override {
        return debug_.try_allocate_bytes(size, alignment, zero, site);
    }
    void do_deallocate(void* p, std::size_t size, std::size_t alignment) noexcept override {
        debug_.deallocate_bytes(p, size, alignment);
    }
    void do_free(void* p) override { debug_.free(p); }

    Inner inner_;
    ziggy::DebugAllocator debug_;
};

} // namespace ziggy_test
