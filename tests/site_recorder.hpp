// tests/site_recorder.hpp — an allocator that records the call site, size,
// alignment and zero flag of the last allocation it forwards to a
// SystemAllocator.
#pragma once

#include <ziggy/system_allocator.hpp>

namespace ziggy_test {

class SiteRecorder final : public ziggy::Allocator {
public:
    ziggy::CallSite last_site;
    std::size_t last_size = 0;
    std::size_t last_alignment = 0;
    bool last_zero = false;

    bool supports_individual_deallocation() const noexcept override { return true; }
    std::size_t total_allocated_bytes() const noexcept override {
        return inner_.total_allocated_bytes();
    }

private:
    void* do_allocate(std::size_t size, std::size_t alignment, bool zero,
                      const ziggy::CallSite& site) noexcept override {
        last_site = site;
        last_size = size;
        last_alignment = alignment;
        last_zero = zero;
        return inner_.try_allocate_bytes(size, alignment, zero);
    }
    void do_deallocate(void* p, std::size_t n, std::size_t a) noexcept override {
        inner_.deallocate_bytes(p, n, a);
    }
    void do_free(void* p) override { inner_.free(p); }
    ziggy::SystemAllocator inner_;
};

} // namespace ziggy_test
