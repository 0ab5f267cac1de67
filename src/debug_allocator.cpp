#include <ziggy/debug_allocator.hpp>

#include <ziggy/detail/sanitizer.hpp>

#include <algorithm>
#include <iterator>

#if __has_include(<execinfo.h>)
#include <execinfo.h>
#define ZIGGY_HAS_BACKTRACE 1
#else
#define ZIGGY_HAS_BACKTRACE 0
#endif

// Tracking, guards and quarantine; reports are worded and dispatched in
// debug_report.cpp. A free does all its work in one critical section under
// `lock_` (so no block can be checked and freed at once, and a double free
// racing the first one still finds it), then raises its reports after the lock
// is dropped, so an `on_error` callback may use the allocator.
//
// The helpers of the allocate and free paths are `inline` (the two largest
// always) although only this file uses them: in a shared library an ordinary
// member function may be interposed, so the compiler would call it through the
// PLT instead of inlining it.
namespace ziggy {
namespace {

constexpr std::size_t granule = detail::asan_granularity;

// Only ever reached through the live table or the quarantine, never from a
// pointer a caller handed in: a foreign pointer is not dereferenced.
char* user_of(const AllocationRecord& r) noexcept {
    return static_cast<char*>(const_cast<void*>(r.address));
}

// Updates the live byte count. Every writer holds the lock, so a relaxed load
// and store suffice (readers still see a whole value) and cost less than an
// atomic read-modify-write.
void adjust(std::atomic<std::size_t>& counter, std::size_t add, std::size_t sub) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + add - sub, std::memory_order_relaxed);
}

} // namespace

DebugAllocator::DebugAllocator(std::string name, Allocator& backing, LeakReportingMode mode,
                               DebugOptions options)
    : name_(std::move(name)), backing_(backing), mode_(mode), options_(std::move(options)) {
    // Guard zones stay granule-sized so ASan can poison exactly them.
    const std::size_t widest = std::size_t(1) << 20;
    options_.guard_width = detail::align_up(std::min(options_.guard_width, widest), granule);
    quarantine_.resize(options_.quarantine_count);
    history_.resize(options_.freed_history);
}

inline DebugAllocator::Geometry DebugAllocator::geometry(std::size_t size,
                                                         std::size_t alignment) const noexcept {
    // total == 0 says the request cannot be laid out (it would overflow).
    const std::size_t g = options_.guard_width;
    Geometry geo{0, 0, 0, std::max(alignment, granule)};
    if (size > detail::max_object_size || detail::align_up_overflows(g, geo.alignment)) [[unlikely]]
        return geo;
    geo.front = detail::align_up(g, geo.alignment);
    const std::size_t tail = detail::align_up(size, granule);
    geo.back = tail - size + g;
    if (!detail::checked_add(geo.front, tail, geo.total) ||
        !detail::checked_add(geo.total, g, geo.total) || geo.total > detail::max_object_size)
        [[unlikely]]
        geo.total = 0;
    return geo;
}

void* DebugAllocator::do_allocate(std::size_t size, std::size_t alignment, bool zero_memory,
                                  const CallSite& site) noexcept {
    const Geometry geo = geometry(size, alignment);
    if (geo.total == 0) [[unlikely]]
        return nullptr;
    // The caller built `site` with one store per field; copying it as a whole
    // loads across two stores, which the CPU cannot forward (perf showed the
    // stall). Field by field, each load meets its own store.
    const CallSite where{site.file, site.line, site.function};
    void* block = backing_.try_allocate_bytes(geo.total, geo.alignment, false, where);
    if (block == nullptr) [[unlikely]]
        return nullptr;

    StackTrace stack{};
#if ZIGGY_HAS_BACKTRACE
    if (options_.capture_stack) [[unlikely]]
        stack.depth = ::backtrace(stack.frames, static_cast<int>(std::size(stack.frames)));
#endif
    AllocationRecord record{static_cast<char*>(block) + geo.front, size, alignment, where, 0};
    detail::fill(user_of(record), size, zero_memory ? 0 : options_.fresh_fill);
    paint_guards(record, geo);
    try {
        std::lock_guard lock(lock_);
        record.sequence = ++sequence_;
        live_.insert(record.address, record);
        if (options_.capture_stack) [[unlikely]] {
            try {
                stacks_.insert(record.address, stack);
            } catch (...) {
                live_.erase(record.address);
                throw;
            }
        }
        adjust(live_bytes_, size, 0);
    } catch (...) { // the table could not grow: fail like an exhausted heap
        return_to_backing(record, geo);
        return nullptr;
    }
    return user_of(record);
}

void DebugAllocator::do_deallocate(void* pointer, std::size_t size,
                                   std::size_t alignment) noexcept {
    release(pointer, &size, alignment, /*may_throw=*/false);
}

void DebugAllocator::do_free(void* pointer) {
    if (!backing_.supports_individual_deallocation())
        throw NotSupportedError("ziggy::DebugAllocator '" + name_ +
                                "': free() needs a backing allocator with individual "
                                "deallocation; return Buffers or use deallocate_bytes()");
    release(pointer, nullptr, 0, /*may_throw=*/true);
}

[[gnu::always_inline]] inline void DebugAllocator::release(void* pointer,
                                                           const std::size_t* claimed_size,
                                                           std::size_t claimed_alignment,
                                                           bool may_throw) {
    std::vector<DebugReport> reports; // stays empty (no allocation) for a good free
    {
        std::lock_guard lock(lock_);
        const AllocationRecord* found = live_.find(pointer);
        if (found == nullptr) [[unlikely]] {
            // Not ours (or no longer): the backing allocator never sees it.
            reports.push_back(classify_invalid_free(pointer));
        } else {
            const AllocationRecord record = *found;
            live_.erase(pointer);
            if (options_.capture_stack) [[unlikely]]
                stacks_.erase(pointer);
            adjust(live_bytes_, 0, record.size);
            if (!history_.empty()) {
                history_[history_next_] = record;
                if (++history_next_ == history_.size()) history_next_ = 0;
            }
            if (claimed_size != nullptr && (*claimed_size != record.size ||
                                            claimed_alignment != record.alignment)) [[unlikely]] {
                DebugReport r = make_report(DebugErrorKind::size_mismatch, record);
                r.claimed_size = *claimed_size;
                r.claimed_alignment = claimed_alignment;
                finish_message(r);
                reports.push_back(std::move(r));
            }
            const Geometry geo = geometry(record.size, record.alignment);
            (void)check_block_guards(record, geo, reports);
            retire(record, geo, reports);
        }
    }
    if (!reports.empty()) [[unlikely]]
        raise(reports, may_throw);
}

[[gnu::always_inline]] inline void DebugAllocator::retire(const AllocationRecord& record,
                                                          const Geometry& geo,
                                                          std::vector<DebugReport>& reports) {
    const std::size_t cap = quarantine_.size();
    if (cap == 0 || record.size > options_.quarantine_bytes) {
        return_to_backing(record, geo);
        return;
    }
    paint_freed(record, geo);
    // FIFO: the oldest blocks leave (verified) until the new one fits.
    while (quarantine_size_ == cap || quarantine_bytes_ + record.size > options_.quarantine_bytes) {
        const AllocationRecord evicted = quarantine_[quarantine_head_];
        if (++quarantine_head_ == cap) quarantine_head_ = 0;
        --quarantine_size_;
        quarantine_bytes_ -= evicted.size;
        const Geometry evicted_geo = geometry(evicted.size, evicted.alignment);
        (void)check_freed_pattern(evicted, evicted_geo, reports);
        return_to_backing(evicted, evicted_geo);
    }
    std::size_t tail = quarantine_head_ + quarantine_size_;
    if (tail >= cap) tail -= cap;
    quarantine_[tail] = record;
    ++quarantine_size_;
    quarantine_bytes_ += record.size;
}

inline bool DebugAllocator::check_block_guards(const AllocationRecord& r, const Geometry& geo,
                                               std::vector<DebugReport>& reports) const {
    char* block = user_of(r) - geo.front;
    char* back = user_of(r) + r.size;
    // Unpoison to look (ASan would flag our own read), re-poison afterwards;
    // the poison of `back` starts mid-granule and keeps the user's tail bytes.
    detail::unpoison_defined(block, geo.front);
    detail::unpoison_defined(back, geo.back);
    const std::size_t over = detail::first_mismatch(back, geo.back, options_.guard_fill);
    const std::size_t under = detail::last_mismatch(block, geo.front, options_.guard_fill);
    detail::poison(block, geo.front);
    detail::poison(back, geo.back);
    if (over == geo.back && under == geo.front) [[likely]]
        return true;
    DebugReport report = make_report(DebugErrorKind::guard_damaged, r);
    if (over != geo.back) {
        report.side = GuardSide::overrun;
        report.offset = static_cast<std::ptrdiff_t>(r.size + over);
    } else {
        report.side = GuardSide::underrun;
        report.offset = static_cast<std::ptrdiff_t>(under) - static_cast<std::ptrdiff_t>(geo.front);
    }
    finish_message(report);
    reports.push_back(std::move(report));
    return false;
}

inline bool DebugAllocator::check_freed_pattern(const AllocationRecord& r, const Geometry& geo,
                                                std::vector<DebugReport>& reports) const {
    char* block = user_of(r) - geo.front;
    detail::unpoison_defined(block, geo.total);
    const std::size_t i = detail::first_mismatch(block, geo.total, options_.freed_fill);
    detail::poison(block, geo.total);
    if (i == geo.total) [[likely]]
        return true;
    DebugReport report = make_report(DebugErrorKind::write_after_free, r);
    report.offset = static_cast<std::ptrdiff_t>(i) - static_cast<std::ptrdiff_t>(geo.front);
    finish_message(report);
    reports.push_back(std::move(report));
    return false;
}

inline void DebugAllocator::paint_guards(const AllocationRecord& r,
                                         const Geometry& geo) const noexcept {
    char* block = user_of(r) - geo.front;
    char* back = user_of(r) + r.size;
    detail::unpoison(block, geo.front);
    detail::unpoison(back, geo.back);
    detail::fill(block, geo.front, options_.guard_fill);
    detail::fill(back, geo.back, options_.guard_fill);
    detail::poison(block, geo.front);
    detail::poison(back, geo.back); // from mid-granule: [user, user+size) stays addressable
}

inline void DebugAllocator::paint_freed(const AllocationRecord& r,
                                        const Geometry& geo) const noexcept {
    // The whole block, guards included, turns "freed": a later change anywhere
    // in it is a write after free.
    char* block = user_of(r) - geo.front;
    detail::unpoison(block, geo.total);
    detail::fill(block, geo.total, options_.freed_fill);
    detail::poison(block, geo.total);
}

inline void DebugAllocator::return_to_backing(const AllocationRecord& r,
                                              const Geometry& geo) noexcept {
    char* block = user_of(r) - geo.front;
    detail::unpoison(block, geo.total);
    backing_.deallocate_bytes(block, geo.total, geo.alignment);
}

template <class F>
void DebugAllocator::for_each_quarantined(F&& f) const {
    std::size_t k = quarantine_head_;
    for (std::size_t n = 0; n < quarantine_size_; ++n) {
        f(quarantine_[k]);
        if (++k == quarantine_.size()) k = 0;
    }
}

DebugReport DebugAllocator::classify_invalid_free(void* pointer) const {
    // Error path, under the lock: linear scans are fine here. Quarantine first
    // (its addresses cannot have been reused), then the history, newest first.
    DebugReport report;
    for_each_quarantined([&](const AllocationRecord& r) {
        if (r.address == pointer) report = make_report(DebugErrorKind::double_free, r);
    });
    for (std::size_t k = 1; k <= history_.size() && !report.site_known; ++k) {
        const std::size_t n = history_.size();
        const AllocationRecord& r = history_[(history_next_ + n - k) % n];
        if (r.address == pointer) report = make_report(DebugErrorKind::double_free, r);
    }
    const auto* p = static_cast<const char*>(pointer);
    live_.for_each([&](const void*, const AllocationRecord& r) {
        const Geometry geo = geometry(r.size, r.alignment);
        const char* start = user_of(r);
        if (!report.site_known && p >= start - geo.front && p < start + r.size + geo.back) {
            report = make_report(DebugErrorKind::interior_pointer, r);
            report.offset = p - start;
        }
    });
    if (!report.site_known) report = make_report(DebugErrorKind::foreign_pointer, {});
    report.pointer = pointer;
    finish_message(report);
    return report;
}

std::size_t DebugAllocator::check_guards() {
    std::vector<DebugReport> reports;
    {
        std::lock_guard lock(lock_);
        live_.for_each([&](const void*, const AllocationRecord& r) {
            const Geometry geo = geometry(r.size, r.alignment);
            // Repainted after a report, so the same damage is reported once.
            if (!check_block_guards(r, geo, reports)) paint_guards(r, geo);
        });
    }
    const std::size_t n = reports.size();
    raise(reports, /*may_throw=*/true);
    return n;
}

std::size_t DebugAllocator::check_quarantine() {
    std::vector<DebugReport> reports;
    {
        std::lock_guard lock(lock_);
        for_each_quarantined([&](const AllocationRecord& r) {
            const Geometry geo = geometry(r.size, r.alignment);
            if (!check_freed_pattern(r, geo, reports)) paint_freed(r, geo);
        });
    }
    const std::size_t n = reports.size();
    raise(reports, /*may_throw=*/true);
    return n;
}

std::size_t DebugAllocator::tracked_allocation_count() const {
    std::lock_guard lock(lock_);
    return live_.size();
}

std::vector<void*> DebugAllocator::allocation_stack(const void* pointer) const {
    std::lock_guard lock(lock_);
    const StackTrace* stack = stacks_.find(pointer);
    if (stack == nullptr) return {};
    return std::vector<void*>(stack->frames, stack->frames + stack->depth);
}

std::size_t DebugAllocator::quarantined_count() const {
    std::lock_guard lock(lock_);
    return quarantine_size_;
}

std::vector<AllocationRecord> DebugAllocator::leaks() const {
    std::vector<AllocationRecord> out;
    {
        std::lock_guard lock(lock_);
        out.reserve(live_.size());
        live_.for_each([&](const void*, const AllocationRecord& r) { out.push_back(r); });
    }
    std::sort(out.begin(), out.end(), [](const AllocationRecord& a, const AllocationRecord& b) {
        return a.sequence < b.sequence;
    });
    return out;
}

DebugAllocator::~DebugAllocator() {
    // No other thread may use an allocator being destroyed: no lock needed.
    try {
        std::vector<DebugReport> reports;
        const std::vector<AllocationRecord> leaked = leaks();
        for (const AllocationRecord& r : leaked)
            (void)check_block_guards(r, geometry(r.size, r.alignment), reports);
        for_each_quarantined([&](const AllocationRecord& r) {
            (void)check_freed_pattern(r, geometry(r.size, r.alignment), reports);
        });
        raise(reports, /*may_throw=*/false);
        if (!leaked.empty()) emit_leaks(leaked, /*may_throw=*/false);
    } catch (...) { // out of memory while reporting: still release everything
    }
    for_each_quarantined(
        [&](const AllocationRecord& r) { return_to_backing(r, geometry(r.size, r.alignment)); });
    live_.for_each([&](const void*, const AllocationRecord& r) {
        return_to_backing(r, geometry(r.size, r.alignment));
    });
}

} // namespace ziggy
