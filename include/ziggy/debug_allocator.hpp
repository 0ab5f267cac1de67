// ziggy/debug_allocator.hpp — DebugAllocator: leak tracking and heap-corruption checks.
//
// Wraps any backing allocator and catches the bugs that plain heaps let slide:
// leaks (each with the file, line and function that allocated it), buffer
// overruns and underruns (guard bytes on both sides of every block), double
// frees, frees of foreign or interior pointers, and writes after free (freed
// blocks are painted and held in a bounded quarantine). It is C#'s
// DebugMemoryAllocator. Thread-safe; the name appears in every report.
//
//     ziggy::DebugAllocator debug("parser", ziggy::default_allocator(),
//                                 ziggy::LeakReportingMode::throw_exception);
//     auto tokens = debug.allocate<int>(64);       // site recorded: this line
//     tokens.data()[64] = 1;                        // overrun into the guard
//     debug.check_guards();                         // -> abort: "overrun at +256 ..."
//     auto kept = debug.allocate<char>(10).release();
//     debug.report_memory_leaks();                  // throws MemoryLeakError
//                                                   //   "main.cpp:12 (main): 10 bytes"
//
// Block layout (ASan granules are 8 bytes; every zone boundary below except
// the end of the user bytes falls on one):
//
//     [ front guard: >= guard_width, a multiple of max(alignment, 8) ]
//     [ user bytes: size ][ back guard: to the next 8-byte boundary + guard_width ]
//
// In an ASan build both guard zones (and whole quarantined blocks) are poisoned,
// so ASan stops at the faulting instruction; the pattern check stays the
// authority in a release build. The records live in a table beside the blocks,
// so an underrun cannot damage them and a foreign pointer is never dereferenced.
//
// Where reports are raised: `free()`, `check_guards()` and `check_quarantine()`
// may throw (ErrorReaction::throw_exception); `deallocate_bytes()` (and so a
// Buffer's destructor) and the destructor are noexcept and log instead. A free
// checks the block's guards, paints the whole block with the freed pattern and
// queues it; the block evicted from the quarantine is verified, then returned
// to the backing allocator. The DebugAllocator is thread-safe when its backing
// allocator is.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <ziggy/allocator.hpp>
#include <ziggy/detail/fill_pattern.hpp>
#include <ziggy/detail/pointer_map.hpp>
#include <ziggy/detail/spin_lock.hpp>
#include <ziggy/errors.hpp>
#include <ziggy/system_allocator.hpp>

namespace ziggy {

/// What `report_memory_leaks()` and the destructor do with leaks (C#'s
/// MemoryLeakReportingMode).
enum class LeakReportingMode {
    ignore,          ///< nothing
    log,             ///< one line per leak to the log sink (stderr by default)
    throw_exception, ///< report_memory_leaks() throws MemoryLeakError; the destructor logs
    abort,           ///< report on stderr, then std::abort()
};

/// What the allocator does when it detects corruption or an invalid free.
enum class ErrorReaction {
    abort,           ///< report on stderr, then std::abort() (the default)
    throw_exception, ///< throw from calls that may throw; log from noexcept ones
    log,             ///< report to the log sink and carry on
};

/// The kind of bug a DebugReport describes.
enum class DebugErrorKind {
    guard_damaged,    ///< a guard byte changed: `side` says overrun or underrun
    write_after_free, ///< a quarantined block's freed pattern changed
    double_free,      ///< the pointer was already freed
    foreign_pointer,  ///< the pointer was never returned by this allocator
    interior_pointer, ///< the pointer points inside a live block, not at its start
    size_mismatch,    ///< a sized deallocation passed another size or alignment
};

enum class GuardSide { none, underrun, overrun };

/// The structured form of one report, as the `on_error` callback receives it.
struct DebugReport {
    DebugErrorKind kind{};
    std::string_view allocator_name;
    GuardSide side = GuardSide::none;
    /// First damaged byte relative to the start of the allocation: `size + k`
    /// for an overrun, `-k` for an underrun (the damaged byte nearest the
    /// block), `k` for a write after free or an interior pointer; else 0.
    std::ptrdiff_t offset = 0;
    const void* pointer = nullptr; ///< the pointer passed to free, or the block
    bool site_known = false;       ///< false for a foreign pointer
    AllocationRecord allocation;   ///< the block concerned (when site_known)
    std::size_t claimed_size = 0;  ///< size_mismatch: what the caller passed
    std::size_t claimed_alignment = 0;
    std::string message; ///< the full one-line report
};

/// Options of a DebugAllocator; the defaults suit tests.
struct DebugOptions {
    /// Guard bytes on each side, at least; rounded up to a multiple of 8 (and
    /// in front to the block's alignment). 0 disables guards.
    std::size_t guard_width = 16;
    /// Freed blocks held back before they return to the backing allocator.
    std::size_t quarantine_count = 64;
    /// Cap on the user bytes held in quarantine; larger blocks skip it.
    std::size_t quarantine_bytes = std::size_t(1) << 20;
    /// Freed blocks remembered (site included) to name a double free.
    std::size_t freed_history = 256;
    ErrorReaction reaction = ErrorReaction::abort;
    /// Called with every corruption or invalid-free report, before the reaction.
    /// Runs outside the allocator's lock; must not throw when the call that
    /// detected the problem is noexcept (deallocate_bytes, destruction).
    std::function<void(const DebugReport&)> on_error;
    /// Receives log lines (leaks, and reports under ErrorReaction::log);
    /// nullptr writes them to stderr.
    std::function<void(std::string_view)> log_sink;
    unsigned char fresh_fill = detail::fill_byte(detail::FillPattern::fresh);
    unsigned char freed_fill = detail::fill_byte(detail::FillPattern::freed);
    unsigned char guard_fill = detail::fill_byte(detail::FillPattern::guard);
    /// Records the return addresses of each allocation (up to 12, where the
    /// platform has backtrace(), e.g. glibc) and prints them under each leak.
    /// Off by default: a stack walk per allocation costs far more than the
    /// rest of the allocation. Symbol names need `-rdynamic` in executables.
    bool capture_stack = false;
};

class DebugAllocator final : public Allocator {
public:
    /// `name` appears in every report. `backing` must outlive this allocator.
    explicit DebugAllocator(std::string name, Allocator& backing = default_allocator(),
                            LeakReportingMode mode = LeakReportingMode::log,
                            DebugOptions options = {});

    /// Checks the guards of live blocks and the quarantine, reports leaks by
    /// the mode (throw_exception logs here: a destructor never throws), then
    /// returns every block, leaked ones included, to the backing allocator:
    /// buffers must not outlive their allocator.
    ~DebugAllocator() override;
    DebugAllocator(const DebugAllocator&) = delete;
    DebugAllocator& operator=(const DebugAllocator&) = delete;
    DebugAllocator(DebugAllocator&&) = delete;
    DebugAllocator& operator=(DebugAllocator&&) = delete;

    /// True when the backing allocator frees individual blocks.
    [[nodiscard]] bool supports_individual_deallocation() const noexcept override {
        return backing_.supports_individual_deallocation();
    }
    /// Exact sum of the sizes of live (not freed) allocations.
    [[nodiscard]] std::size_t total_allocated_bytes() const noexcept override {
        return live_bytes_.load(std::memory_order_relaxed);
    }

    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    [[nodiscard]] LeakReportingMode leak_reporting_mode() const noexcept { return mode_; }
    /// Blocks currently allocated and not freed.
    [[nodiscard]] std::size_t tracked_allocation_count() const;
    /// The records of the live blocks, oldest first.
    [[nodiscard]] std::vector<AllocationRecord> leaks() const;
    /// The return addresses recorded for live block `pointer` (innermost
    /// first) when `capture_stack` is on; empty otherwise.
    [[nodiscard]] std::vector<void*> allocation_stack(const void* pointer) const;
    /// Freed blocks currently held in quarantine.
    [[nodiscard]] std::size_t quarantined_count() const;

    /// Reports the live blocks as leaks, by the mode: ignore, log (a summary
    /// line, then one `file:line (function): N bytes` line per leak), throw
    /// MemoryLeakError carrying the records, or abort. Returns the leak count;
    /// the blocks stay live (free them, or the destructor reclaims them).
    std::size_t report_memory_leaks();

    /// Checks the guards of every live block and reports each damaged one
    /// (then repaints it, so one bug is reported once). Returns the count.
    std::size_t check_guards();
    /// Verifies the freed pattern of every quarantined block and reports each
    /// write after free (then repaints it). Returns the count.
    std::size_t check_quarantine();

private:
    struct StackTrace {
        void* frames[12];
        int depth;
    };
    struct Geometry {
        std::size_t front;     // bytes from block start to the user pointer
        std::size_t back;      // bytes from the end of the user bytes to block end
        std::size_t total;     // front + size + back
        std::size_t alignment; // the block's alignment at the backing allocator
    };

    void* do_allocate(std::size_t size, std::size_t alignment, bool zero_memory,
                      const CallSite& site) noexcept override;
    void do_deallocate(void* pointer, std::size_t size, std::size_t alignment) noexcept override;
    void do_free(void* pointer) override;

    [[nodiscard]] Geometry geometry(std::size_t size, std::size_t alignment) const noexcept;
    void release(void* pointer, const std::size_t* claimed_size, std::size_t claimed_alignment,
                 bool may_throw);
    void retire(const AllocationRecord& r, const Geometry& geo, std::vector<DebugReport>& reports);
    bool check_block_guards(const AllocationRecord& r, const Geometry& geo,
                            std::vector<DebugReport>& reports) const;
    bool check_freed_pattern(const AllocationRecord& r, const Geometry& geo,
                             std::vector<DebugReport>& reports) const;
    void paint_guards(const AllocationRecord& r, const Geometry& geo) const noexcept;
    void paint_freed(const AllocationRecord& r, const Geometry& geo) const noexcept;
    void return_to_backing(const AllocationRecord& r, const Geometry& geo) noexcept;
    [[nodiscard]] DebugReport classify_invalid_free(void* pointer) const;
    template <class F>
    void for_each_quarantined(F&& f) const;

    // Reporting (debug_report.cpp).
    [[nodiscard]] DebugReport make_report(DebugErrorKind kind,
                                          const AllocationRecord& r) const noexcept;
    void finish_message(DebugReport& report) const noexcept;
    void raise(std::vector<DebugReport>& reports, bool may_throw);
    void emit_leaks(const std::vector<AllocationRecord>& leaked, bool may_throw);
    void log_line(std::string_view line) const noexcept;

    std::string name_;
    Allocator& backing_;
    LeakReportingMode mode_;
    DebugOptions options_;

    mutable detail::SpinLock lock_;
    detail::PointerMap<AllocationRecord> live_; // user pointer -> record
    detail::PointerMap<StackTrace> stacks_;     // user pointer -> stack (capture_stack)
    std::vector<AllocationRecord> quarantine_;  // FIFO ring of freed, painted blocks
    std::size_t quarantine_head_ = 0;
    std::size_t quarantine_size_ = 0;
    std::size_t quarantine_bytes_ = 0;
    std::vector<AllocationRecord> history_; // ring of recently freed records
    std::size_t history_next_ = 0;
    std::uint64_t sequence_ = 0;
    std::atomic<std::size_t> live_bytes_{0};
};

} // namespace ziggy
