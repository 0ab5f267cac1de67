// fuzz/targets.hpp — the allocators ops_fuzzer drives, one `Target` each.
//
// To fuzz a new allocator: write a Target subclass here (own the allocator and,
// for a composing allocator, a CheckedBacking under it, declared first so it
// outlives the allocator), say how `total_allocated_bytes()` follows the model
// if it is not simply the live bytes, add its own operations to `special`, its
// final checks to `finish`, and construct it in `make_targets`.
#pragma once

#include "ops_model.hpp"

#include <ziggy/system_allocator.hpp>

namespace ziggy_fuzz {

/// SystemAllocator: exact live bytes, sized and unsized frees.
class SystemTarget final : public Target {
public:
    SystemTarget() noexcept : Target("system") {}
    ziggy::Allocator& allocator() noexcept override { return system_; }

private:
    ziggy::SystemAllocator system_;
};

inline Targets make_targets(std::uint8_t config) {
    (void)config;
    Targets targets;
    targets.push_back(std::make_unique<SystemTarget>());
    return targets;
}

} // namespace ziggy_fuzz
