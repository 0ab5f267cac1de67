#include <ziggy/debug_allocator.hpp>

#include <ziggy/detail/sanitizer.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

// Tracking, guards and quarantine. Reports are formatted and dispatched in
// debug_report.cpp. Every check runs under `mutex_` (so a block being checked
// cannot be freed meanwhile); reports are raised after the lock is dropped, so a
// callback may use the allocator.
namespace ziggy {
namespace {

constexpr std::size_t granule = detail::asan_granularity;

char* block_of(const AllocationRecord& r, std::size_t front) noexcept {
    return static_cast<char*>(const_cast<void*>(r.address)) - front;
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

DebugAllocator::Geometry DebugAllocator::geometry(std::size_t size,
                                                  std::size_t alignment) const noexcept {
    // total == 0 says the request cannot be laid out (it overflows).
    const std::size_t g = options_.guard_width;
    const std::size_t block_alignment = std::max(alignment, granule);
    Geometry geo{0, 0, 0, block_alignment};
    std::size_t tail = 0;
    if (size > detail::max_object_size || detail::align_up_overflows(g, block_alignment))
        return geo;
    geo.front = detail::align_up(g, block_alignment);
    tail = detail::align_up(size, granule);
    geo.back = tail - size + g;
    if (!detail::checked_add(geo.front, tail, geo.total) ||
        !detail::checked_add(geo.total, g, geo.total) || geo.total > detail::max_object_size)
        geo.total = 0;
    return geo;
}

void* DebugAllocator::do_allocate(std::size_t size, std::size_t alignment, bool zero_memory,
                                  const CallSite& site) noexcept {
    const Geometry geo = geometry(size, alignment);
    if (geo.total == 0) [[unlikely]]
        return nullptr;
    void* block = backing_.try_allocate_bytes(geo.total, geo.alignment, false, site);
    if (block == nullptr) [[unlikely]]
        return nullptr;

    char* user = static_cast<char*>(block) + geo.front;
    detail::fill(block, geo.front, options_.guard_fill);
    detail::fill(user, size, zero_memory ? 0 : options_.fresh_fill);
    detail::fill(user + size, geo.back, options_.guard_fill);
    detail::poison(block, geo.front);
    detail::poison(user + size, geo.back);  // leaves [user, user+size) addressable

    AllocationRecord record{user, size, alignment, site, 0};
    try {
        std::lock_guard lock(mutex_);
        record.sequence = ++sequence_;
        live_.insert(user, record);
        live_bytes_.fetch_add(size, std::memory_order_relaxed);
    } catch (...) {  // the table could not grow: fail like an exhausted heap
        detail::unpoison(block, geo.total);
        backing_.deallocate_bytes(block, geo.total, geo.alignment);
        return nullptr;
    }
    return user;
}

void DebugAllocator::do_deallocate(void* pointer, std::size_t size, std::size_t alignment) noexcept {
    release(pointer, &size, alignment, /*may_throw=*/false);
}

void DebugAllocator::do_free(void* pointer) {
    if (!backing_.supports_individual_deallocation())
        throw NotSupportedError("ziggy::DebugAllocator '" + name_ +
                                "': free() needs a backing allocator with individual "
                                "deallocation; return Buffers or use deallocate_bytes()");
    release(pointer, nullptr, 0, /*may_throw=*/true);
}

void DebugAllocator::release(void* pointer, const std::size_t* claimed_size,
                             std::size_t claimed_alignment, bool may_throw) {
    std::vector<DebugReport> reports;  // stays empty (no allocation) for a good free
    AllocationRecord record;
    {
        std::lock_guard lock(mutex_);
        const AllocationRecord* found = live_.find(pointer);
        if (found == nullptr) [[unlikely]] {
            // Never handed to the backing allocator: it is not ours to free.
            reports.push_back(classify_invalid_free(pointer));
        } else {
            record = *found;
            live_.erase(pointer);
            live_bytes_.fetch_sub(record.size, std::memory_order_relaxed);
            if (!history_.empty()) {
                history_[history_next_] = record;
                history_next_ = (history_next_ + 1) % history_.size();
            }
            if (claimed_size != nullptr &&
                (*claimed_size != record.size || claimed_alignment != record.alignment))
                [[unlikely]] {
                DebugReport r = make_report(DebugErrorKind::size_mismatch, record);
                r.claimed_size = *claimed_size;
                r.claimed_alignment = claimed_alignment;
                finish_message(r);
                reports.push_back(std::move(r));
            }
            DebugReport damage;
            if (check_block_guards(record, damage)) [[unlikely]]
                reports.push_back(std::move(damage));
        }
    }
    if (record.address != nullptr) quarantine(record);
    if (!reports.empty()) [[unlikely]]
        raise(reports, may_throw);
}

void DebugAllocator::quarantine(const AllocationRecord& record) {
    const Geometry geo = geometry(record.size, record.alignment);
    char* block = block_of(record, geo.front);
    const bool held = record.size <= options_.quarantine_bytes && !quarantine_.empty();
    if (held) {
        // The whole block, guards included, turns "freed": any later change
        // anywhere in it is a write after free.
        detail::unpoison(block, geo.total);
        detail::fill(block, geo.total, options_.freed_fill);
        detail::poison(block, geo.total);
    }
    std::vector<DebugReport> reports;
    bool pushed = !held;
    if (!held) return_to_backing(record);
    while (!pushed) {
        AllocationRecord evicted;
        {
            std::lock_guard lock(mutex_);
            const std::size_t cap = quarantine_.size();
            if (quarantine_size_ == cap || quarantine_bytes_ + record.size > options_.quarantine_bytes) {
                evicted = quarantine_[quarantine_head_];
                quarantine_head_ = (quarantine_head_ + 1) % cap;
                --quarantine_size_;
                quarantine_bytes_ -= evicted.size;
            }
            if (quarantine_size_ < cap && quarantine_bytes_ + record.size <= options_.quarantine_bytes) {
                quarantine_[(quarantine_head_ + quarantine_size_) % cap] = record;
                ++quarantine_size_;
                quarantine_bytes_ += record.size;
                pushed = true;
            }
        }
        // The evicted block left every table: no other thread can reach it.
        if (evicted.address != nullptr) {
            DebugReport waf;
            if (check_freed_pattern(evicted, waf)) [[unlikely]]
                reports.push_back(std::move(waf));
            return_to_backing(evicted);
        }
    }
    if (!reports.empty()) [[unlikely]]
        raise(reports, false);
}

bool DebugAllocator::check_block_guards(const AllocationRecord& r, DebugReport& out) const noexcept {
    const Geometry geo = geometry(r.size, r.alignment);
    char* block = block_of(r, geo.front);
    char* back = block + geo.front + r.size;
    // Unpoison to look (ASan would flag our own read), re-poison afterwards;
    // the poison of `back` starts mid-granule and keeps the user's tail bytes.
    detail::unpoison_defined(block, geo.front);
    detail::unpoison_defined(back, geo.back);
    const std::size_t over = detail::first_mismatch(back, geo.back, options_.guard_fill);
    const std::size_t under = detail::last_mismatch(block, geo.front, options_.guard_fill);
    detail::poison(block, geo.front);
    detail::poison(back, geo.back);
    if (over == geo.back && under == geo.front) [[likely]]
        return false;
    out = make_report(DebugErrorKind::guard_damaged, r);
    if (over != geo.back) {
        out.side = GuardSide::overrun;
        out.offset = static_cast<std::ptrdiff_t>(r.size + over);
    } else {
        out.side = GuardSide::underrun;
        out.offset = static_cast<std::ptrdiff_t>(under) - static_cast<std::ptrdiff_t>(geo.front);
    }
    finish_message(out);
    return true;
}

bool DebugAllocator::check_freed_pattern(const AllocationRecord& r, DebugReport& out) const noexcept {
    const Geometry geo = geometry(r.size, r.alignment);
    char* block = block_of(r, geo.front);
    detail::unpoison_defined(block, geo.total);
    const std::size_t i = detail::first_mismatch(block, geo.total, options_.freed_fill);
    detail::poison(block, geo.total);
    if (i == geo.total) [[likely]]
        return false;
    out = make_report(DebugErrorKind::write_after_free, r);
    out.offset = static_cast<std::ptrdiff_t>(i) - static_cast<std::ptrdiff_t>(geo.front);
    finish_message(out);
    return true;
}

void DebugAllocator::return_to_backing(const AllocationRecord& r) noexcept {
    const Geometry geo = geometry(r.size, r.alignment);
    char* block = block_of(r, geo.front);
    detail::unpoison(block, geo.total);
    backing_.deallocate_bytes(block, geo.total, geo.alignment);
}

DebugReport DebugAllocator::classify_invalid_free(void* pointer) {
    // Error path, under the lock: linear scans are fine here.
    const auto* p = static_cast<const char*>(pointer);
    for (std::size_t k = 0; k < quarantine_size_; ++k) {
        const AllocationRecord& r = quarantine_[(quarantine_head_ + k) % quarantine_.size()];
        if (r.address == pointer) return finished(make_report(DebugErrorKind::double_free, r));
    }
    for (std::size_t k = 1; k <= history_.size(); ++k) {
        const AllocationRecord& r = history_[(history_next_ + history_.size() - k) % history_.size()];
        if (r.address == pointer) return finished(make_report(DebugErrorKind::double_free, r));
    }
    DebugReport interior;
    live_.for_each([&](const void*, const AllocationRecord& r) {
        const Geometry geo = geometry(r.size, r.alignment);
        const auto* start = static_cast<const char*>(r.address);
        if (p >= start - geo.front && p < start + r.size + geo.back && !interior.site_known) {
            interior = make_report(DebugErrorKind::interior_pointer, r);
            interior.offset = p - start;
        }
    });
    DebugReport report = interior.site_known ? std::move(interior)
                                             : make_report(DebugErrorKind::foreign_pointer, {});
    report.pointer = pointer;
    finish_message(report);
    return report;
}

std::size_t DebugAllocator::check_guards() {
    std::vector<DebugReport> reports;
    {
        std::lock_guard lock(mutex_);
        live_.for_each([&](const void*, const AllocationRecord& r) {
            DebugReport damage;
            if (!check_block_guards(r, damage)) return;
            reports.push_back(std::move(damage));
            // Repaint, so the same damage is not reported again at free.
            const Geometry geo = geometry(r.size, r.alignment);
            char* block = block_of(r, geo.front);
            detail::unpoison(block, geo.front);
            detail::fill(block, geo.front, options_.guard_fill);
            detail::poison(block, geo.front);
            char* back = block + geo.front + r.size;
            detail::unpoison(back, geo.back);
            detail::fill(back, geo.back, options_.guard_fill);
            detail::poison(back, geo.back);
        });
    }
    const std::size_t n = reports.size();
    raise(reports, /*may_throw=*/true);
    return n;
}

std::size_t DebugAllocator::check_quarantine() {
    std::vector<DebugReport> reports;
    {
        std::lock_guard lock(mutex_);
        for (std::size_t k = 0; k < quarantine_size_; ++k) {
            const AllocationRecord& r = quarantine_[(quarantine_head_ + k) % quarantine_.size()];
            DebugReport waf;
            if (!check_freed_pattern(r, waf)) continue;
            reports.push_back(std::move(waf));
            const Geometry geo = geometry(r.size, r.alignment);
            char* block = block_of(r, geo.front);
            detail::unpoison(block, geo.total);
            detail::fill(block, geo.total, options_.freed_fill);
            detail::poison(block, geo.total);
        }
    }
    const std::size_t n = reports.size();
    raise(reports, /*may_throw=*/true);
    return n;
}

std::size_t DebugAllocator::tracked_allocation_count() const {
    std::lock_guard lock(mutex_);
    return live_.size();
}

std::size_t DebugAllocator::quarantined_count() const {
    std::lock_guard lock(mutex_);
    return quarantine_size_;
}

std::vector<AllocationRecord> DebugAllocator::leaks() const {
    std::vector<AllocationRecord> out;
    {
        std::lock_guard lock(mutex_);
        out.reserve(live_.size());
        live_.for_each([&](const void*, const AllocationRecord& r) { out.push_back(r); });
    }
    std::sort(out.begin(), out.end(),
              [](const AllocationRecord& a, const AllocationRecord& b) { return a.sequence < b.sequence; });
    return out;
}

DebugAllocator::~DebugAllocator() {
    std::vector<DebugReport> reports;
    std::vector<AllocationRecord> leaked;
    try {
        leaked = leaks();
        for (const AllocationRecord& r : leaked) {
            DebugReport damage;
            if (check_block_guards(r, damage)) reports.push_back(std::move(damage));
        }
        for (std::size_t k = 0; k < quarantine_size_; ++k) {
            const AllocationRecord& r = quarantine_[(quarantine_head_ + k) % quarantine_.size()];
            DebugReport waf;
            if (check_freed_pattern(r, waf)) reports.push_back(std::move(waf));
        }
        raise(reports, /*may_throw=*/false);
        if (mode_ != LeakReportingMode::ignore && !leaked.empty())
            emit_leaks(leaked, /*may_throw=*/false);
    } catch (...) {  // out of memory while reporting: still release everything
    }
    for (std::size_t k = 0; k < quarantine_size_; ++k)
        return_to_backing(quarantine_[(quarantine_head_ + k) % quarantine_.size()]);
    live_.for_each([&](const void*, const AllocationRecord& r) { return_to_backing(r); });
}

} // namespace ziggy
