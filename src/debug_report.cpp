#include <ziggy/debug_allocator.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>

#if __has_include(<execinfo.h>)
#include <execinfo.h>
#define ZIGGY_HAS_BACKTRACE 1
#else
#define ZIGGY_HAS_BACKTRACE 0
#endif

// How DebugAllocator words its reports and acts on them: one reporting path
// for every kind of misuse (STYLE.md rule 5).
namespace ziggy {
namespace {

std::string site_of(const AllocationRecord& r) {
    return std::string(r.site.file) + ":" + std::to_string(r.site.line) + " (" + r.site.function +
           ")";
}

std::string signed_offset(std::ptrdiff_t offset) {
    return (offset >= 0 ? "+" : "") + std::to_string(offset);
}

std::string pointer_text(const void* p) {
    char text[32];
    std::snprintf(text, sizeof text, "%p", p);
    return text;
}

// "the 64-byte allocation #3 made at main.cpp:12 (main)"
std::string allocation_text(const AllocationRecord& r) {
    return "the " + std::to_string(r.size) + "-byte allocation #" + std::to_string(r.sequence) +
           " made at " + site_of(r);
}

// "    #1 ./app(_Z5parsev+0x2a) [0x55...]" for each frame.
void append_stack(std::vector<std::string>& lines, const std::vector<void*>& frames) {
    if (frames.empty()) return;
#if ZIGGY_HAS_BACKTRACE
    char** symbols = ::backtrace_symbols(frames.data(), static_cast<int>(frames.size()));
#else
    char** symbols = nullptr;
#endif
    for (std::size_t i = 0; i < frames.size(); ++i)
        lines.push_back("    #" + std::to_string(i) + " " +
                        (symbols != nullptr ? std::string(symbols[i]) : pointer_text(frames[i])));
    std::free(symbols);
}

bool is_corruption(DebugErrorKind kind) noexcept {
    return kind == DebugErrorKind::guard_damaged || kind == DebugErrorKind::write_after_free;
}

void write_stderr(std::string_view line) noexcept {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
}

} // namespace

DebugReport DebugAllocator::make_report(DebugErrorKind kind,
                                        const AllocationRecord& r) const noexcept {
    DebugReport report;
    report.kind = kind;
    report.allocator_name = name_;
    report.pointer = r.address;
    report.site_known = r.address != nullptr;
    report.allocation = r;
    return report;
}

void DebugAllocator::finish_message(DebugReport& report) const noexcept {
    try {
        std::string m = "ziggy::DebugAllocator '" + name_ + "': ";
        const AllocationRecord& r = report.allocation;
        switch (report.kind) {
            case DebugErrorKind::guard_damaged:
                m += (report.side == GuardSide::underrun ? "underrun at " : "overrun at ") +
                     signed_offset(report.offset) + " of " + allocation_text(r);
                break;
            case DebugErrorKind::write_after_free:
                m += "write after free at " + signed_offset(report.offset) + " of " +
                     allocation_text(r) + " (freed, in quarantine)";
                break;
            case DebugErrorKind::double_free:
                m += "double free of " + pointer_text(report.pointer) + ": " + allocation_text(r) +
                     " was already freed";
                break;
            case DebugErrorKind::foreign_pointer:
                m += "free of foreign pointer " + pointer_text(report.pointer) +
                     ": this allocator never returned it (not passed on)";
                break;
            case DebugErrorKind::interior_pointer:
                m += "free of interior pointer " + pointer_text(report.pointer) + " at " +
                     signed_offset(report.offset) + " of " + allocation_text(r) + " (not freed)";
                break;
            case DebugErrorKind::size_mismatch:
                m += "sized deallocation of " + pointer_text(report.pointer) + " with size " +
                     std::to_string(report.claimed_size) + " and alignment " +
                     std::to_string(report.claimed_alignment) + ", but " + allocation_text(r) +
                     " has size " + std::to_string(r.size) + " and alignment " +
                     std::to_string(r.alignment);
                break;
        }
        report.message = std::move(m);
    } catch (...) { // out of memory: the structured fields still tell the story
        report.message.clear();
    }
}

void DebugAllocator::raise(std::vector<DebugReport>& reports, bool may_throw) {
    if (reports.empty()) return;
    if (options_.on_error)
        for (const DebugReport& r : reports) options_.on_error(r);
    switch (options_.reaction) {
        case ErrorReaction::abort:
            for (const DebugReport& r : reports) write_stderr(r.message);
            std::abort();
        case ErrorReaction::throw_exception:
            if (may_throw) {
                for (std::size_t i = 1; i < reports.size(); ++i) log_line(reports[i].message);
                const DebugReport& first = reports.front();
                if (is_corruption(first.kind)) throw MemoryCorruptionError(first.message);
                throw InvalidFreeError(first.message);
            }
            // A noexcept caller (deallocate_bytes, a Buffer's destructor, the
            // allocator's destructor) cannot throw: the report is logged instead.
            [[fallthrough]];
        case ErrorReaction::log:
            for (const DebugReport& r : reports) log_line(r.message);
            break;
    }
}

void DebugAllocator::emit_leaks(const std::vector<AllocationRecord>& leaked, bool may_throw) {
    std::size_t bytes = 0;
    for (const AllocationRecord& r : leaked) bytes += r.size;
    std::vector<std::string> lines;
    lines.reserve(leaked.size() + 1);
    lines.push_back("ziggy::DebugAllocator '" + name_ + "': " + std::to_string(leaked.size()) +
                    (leaked.size() == 1 ? " memory leak, " : " memory leaks, ") +
                    std::to_string(bytes) + " bytes:");
    for (const AllocationRecord& r : leaked) {
        lines.push_back("  " + site_of(r) + ": " + std::to_string(r.size) + " bytes (allocation #" +
                        std::to_string(r.sequence) + ")");
        if (options_.capture_stack) append_stack(lines, allocation_stack(r.address));
    }
    switch (mode_) {
        case LeakReportingMode::ignore:
            return;
        case LeakReportingMode::abort:
            for (const std::string& line : lines) write_stderr(line);
            std::abort();
        case LeakReportingMode::throw_exception:
            if (may_throw) {
                std::string what;
                for (const std::string& line : lines) (what += line) += '\n';
                what.pop_back();
                throw MemoryLeakError(what, leaked);
            }
            // The destructor logs instead: it never throws.
            [[fallthrough]];
        case LeakReportingMode::log:
            for (const std::string& line : lines) log_line(line);
            return;
    }
}

std::size_t DebugAllocator::report_memory_leaks() {
    const std::vector<AllocationRecord> leaked = leaks();
    if (!leaked.empty()) emit_leaks(leaked, /*may_throw=*/true);
    return leaked.size();
}

void DebugAllocator::log_line(std::string_view line) const noexcept {
    if (options_.log_sink) {
        try {
            options_.log_sink(line);
            return;
        } catch (...) { // a failing sink must not lose the report
        }
    }
    write_stderr(line);
}

} // namespace ziggy
