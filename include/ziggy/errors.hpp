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

#include <stdexcept>
#include <string>

namespace ziggy {

/// The allocator cannot do what was asked by design (e.g. `free()` on an arena).
class NotSupportedError : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

/// A leak report: thrown by `DebugAllocator::report_memory_leaks()` in
/// `LeakReportingMode::throw_exception`. Derived types may carry the records.
class MemoryLeakError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
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
