// ziggy/errors.hpp — the exception types ziggyalloc throws.
//
// Ordinary failures use the standard exceptions (std::bad_alloc when memory runs
// out, std::bad_array_new_length when count * sizeof(T) overflows,
// std::out_of_range for a bad index, std::invalid_argument for a bad argument).
// The types below name what the standard has no word for:
//
//     try {
//         arena.free(p);
//     } catch (const ziggy::NotSupportedError& e) {
//         // an arena frees everything at once; use reset() instead
//     }
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <ziggy/allocator.hpp>

namespace ziggy {

/// The allocator cannot do what was asked by design (e.g. `free()` on an arena).
class NotSupportedError : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

/// One live allocation as a tracking allocator (DebugAllocator) records it.
struct AllocationRecord {
    const void* address = nullptr; ///< the pointer handed to the user
    std::size_t size = 0;          ///< bytes requested
    std::size_t alignment = 0;     ///< alignment requested
    CallSite site;                 ///< the caller's file, line and function
    std::uint64_t sequence = 0;    ///< 1 for the allocator's first allocation, then 2, ...
};

/// A leak report: thrown by `DebugAllocator::report_memory_leaks()` in
/// `LeakReportingMode::throw_exception`. `what()` lists every leak as
/// `file:line (function): N bytes`; `leaks()` holds the records, oldest first.
class MemoryLeakError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
    MemoryLeakError(const std::string& what, std::vector<AllocationRecord> leaks)
        : std::runtime_error(what), leaks_(std::move(leaks)) {}

    /// The leaked allocations (empty when thrown without records).
    [[nodiscard]] const std::vector<AllocationRecord>& leaks() const noexcept { return leaks_; }

private:
    std::vector<AllocationRecord> leaks_;
};

/// Heap corruption was detected (a damaged guard, a write after free).
class MemoryCorruptionError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A pointer was freed that is not live in this allocator (double free,
/// foreign pointer, interior pointer).
class InvalidFreeError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace ziggy
