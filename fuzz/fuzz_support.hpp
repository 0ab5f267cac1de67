// fuzz/fuzz_support.hpp — what every ziggyalloc fuzz harness shares.
//
// - `ZIGGY_FUZZ_CHECK(cond, fmt, ...)`: the oracle's assertion. A violated check
//   prints the message on stderr and traps, which is how libFuzzer (and the
//   replay main) sees a finding. It is never compiled out.
// - `Reader`: decodes the fuzzer's bytes. Reading past the end yields zeros and
//   sets `exhausted()`, so a harness decodes what it can and stops; no input is
//   ever "invalid".
// - `CheckedBacking`: a backing allocator for composing allocators (pool, arena,
//   hybrid, debug) that traps on any deallocation whose pointer, size or
//   alignment does not match what it handed out, and counts live blocks so a
//   harness can prove that destroying the composite returned everything. It
//   can also fail the next requests, to drive the composites' out-of-memory paths.
// - `pattern_byte`: the deterministic fill the model predicts.
//
//     extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
//         ziggy_fuzz::Reader in(data, size);
//         while (!in.exhausted()) {
//             std::size_t n = in.range(0, 64);
//             ZIGGY_FUZZ_CHECK(n <= 64, "range returned %zu", n);
//         }
//         return 0;
//     }
#pragma once

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <vector>

#include <ziggy/system_allocator.hpp>

#define ZIGGY_FUZZ_CHECK(cond, ...)                                     \
    do {                                                                \
        if (!(cond)) [[unlikely]]                                       \
            ::ziggy_fuzz::fail(__FILE__, __LINE__, #cond, __VA_ARGS__); \
    } while (false)

namespace ziggy_fuzz {

/// Reports a violated oracle check and stops the process with a trap.
[[noreturn]] __attribute__((format(printf, 4, 5))) inline void fail(const char* file, int line,
                                                                    const char* cond,
                                                                    const char* fmt, ...) {
    std::fprintf(stderr, "\n==ziggy-fuzz== CHECK FAILED at %s:%d: %s\n==ziggy-fuzz== ", file, line,
                 cond);
    va_list args;
    va_start(args, fmt);
    std::vfprintf(stderr, fmt, args);
    va_end(args);
    std::fputc('\n', stderr);
    std::fflush(stderr);
    __builtin_trap();
}

/// Sequential decoder over the fuzzer's input.
class Reader {
public:
    Reader(const std::uint8_t* data, std::size_t size) noexcept : data_(data), size_(size) {}

    /// True once a read went past the end (that read returned zero).
    [[nodiscard]] bool exhausted() const noexcept { return exhausted_; }
    [[nodiscard]] std::size_t remaining() const noexcept { return size_ - pos_; }

    std::uint8_t u8() noexcept {
        if (pos_ >= size_) {
            exhausted_ = true;
            return 0;
        }
        return data_[pos_++];
    }
    /// Little-endian, so dictionary entries read as the sizes they spell.
    std::uint16_t u16() noexcept {
        const unsigned lo = u8();
        return static_cast<std::uint16_t>(lo | (unsigned{u8()} << 8));
    }
    std::uint32_t u32() noexcept {
        const std::uint32_t lo = u16();
        return lo | (std::uint32_t{u16()} << 16);
    }
    bool flag() noexcept { return (u8() & 1) != 0; }
    /// A value in [lo, hi] (hi - lo < 65536).
    std::size_t range(std::size_t lo, std::size_t hi) noexcept {
        return lo + u16() % (hi - lo + 1);
    }
    /// An index below `n` (0 when n == 0).
    std::size_t pick(std::size_t n) noexcept {
        const std::size_t b = u8();
        return n == 0 ? 0 : b % n;
    }

private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
    bool exhausted_ = false;
};

/// The bytes fills are cut from: 64 KiB of offsets plus room for the longest
/// fill, so a fill is one memcpy (per-byte loops are slow under coverage
/// instrumentation).
inline constexpr std::size_t max_fill = 1 << 16;
inline const std::uint8_t* pattern_table() noexcept {
    static const std::uint8_t* table = [] {
        static std::uint8_t t[(1 << 16) + max_fill];
        for (std::size_t i = 0; i < sizeof t; ++i)
            t[i] = static_cast<std::uint8_t>(i * 7 + (i >> 8) + (i >> 13) * 13);
        return t;
    }();
    return table;
}
[[nodiscard]] inline const std::uint8_t* pattern(std::uint32_t seed) noexcept {
    return pattern_table() + (seed * 131u) % (1u << 16);
}
/// Byte `i` (< max_fill) of the fill identified by `seed` (what the model
/// expects to read back).
[[nodiscard]] inline std::uint8_t pattern_byte(std::uint32_t seed, std::size_t i) noexcept {
    return pattern(seed)[i];
}
/// Writes the first `n` (<= max_fill) bytes of fill `seed` to `p`.
inline void fill_pattern(void* p, std::uint32_t seed, std::size_t n) noexcept {
    if (n != 0) std::memcpy(p, pattern(seed), n);
}
/// The index of the first non-zero byte of [p, p+n), or n if all are zero.
[[nodiscard]] inline std::size_t first_nonzero(const void* p, std::size_t n) noexcept {
    static const std::uint8_t zeros[4096] = {};
    const auto* b = static_cast<const std::uint8_t*>(p);
    for (std::size_t at = 0; at < n; at += sizeof zeros) {
        const std::size_t chunk = n - at < sizeof zeros ? n - at : sizeof zeros;
        if (std::memcmp(b + at, zeros, chunk) != 0) {
            for (std::size_t i = at;; ++i)
                if (b[i] != 0) return i;
        }
    }
    return n;
}

/// Backing allocator that verifies every deallocation (see the file comment).
class CheckedBacking final : public ziggy::Allocator {
public:
    explicit CheckedBacking(const char* name) : name_(name) { live_.reserve(256); }
    ~CheckedBacking() override {
        release_held();
        ZIGGY_FUZZ_CHECK(live_.empty(), "%s: %zu blocks never returned to the backing allocator",
                         name_, live_.size());
    }

    [[nodiscard]] bool supports_individual_deallocation() const noexcept override { return true; }
    [[nodiscard]] std::size_t total_allocated_bytes() const noexcept override {
        return system_.total_allocated_bytes();
    }
    [[nodiscard]] std::size_t live_blocks() const noexcept { return live_.size(); }
    [[nodiscard]] std::size_t allocations() const noexcept { return allocations_; }
    /// Makes the next `n` allocation requests fail (return nullptr).
    void fail_next(std::size_t n) noexcept { failures_ = n; }
    /// Until release_held(), a block given back is no longer live here but
    /// stays allocated in the system, its bytes as the allocator above left
    /// them: a second free of it through that allocator then reads what a
    /// base that does not reuse freed bytes at once (an arena) would show it,
    /// not freed memory, and a block given back twice stops the harness.
    void hold_frees() {
        held_.reserve(held_.size() + 256);
        holding_ = true;
    }
    void release_held() noexcept {
        holding_ = false;
        for (const Block& b : held_) system_.deallocate_bytes(b.pointer, b.size, b.alignment);
        held_.clear();
    }

private:
    struct Block {
        void* pointer;
        std::size_t size;
        std::size_t alignment;
    };
    // The live blocks, sorted by address: a flat vector, so tracking a block
    // costs no allocation of its own (allocations under ASan are the
    // harnesses' main cost).
    std::vector<Block>::iterator find(void* pointer) {
        auto it = std::lower_bound(live_.begin(), live_.end(), pointer,
                                   [](const Block& b, void* p) { return b.pointer < p; });
        return it != live_.end() && it->pointer == pointer ? it : live_.end();
    }

    void* do_allocate(std::size_t size, std::size_t alignment, bool zero_memory,
                      const ziggy::CallSite& site) noexcept override {
        if (failures_ > 0) {
            --failures_;
            return nullptr;
        }
        void* p = system_.try_allocate_bytes(size, alignment, zero_memory, site);
        if (p != nullptr) {
            ++allocations_;
            ZIGGY_FUZZ_CHECK(reinterpret_cast<std::uintptr_t>(p) % alignment == 0,
                             "%s: misaligned block", name_);
            auto at = std::lower_bound(live_.begin(), live_.end(), p,
                                       [](const Block& b, void* q) { return b.pointer < q; });
            live_.insert(at, Block{p, size, alignment});
        }
        return p;
    }
    void do_deallocate(void* pointer, std::size_t size, std::size_t alignment) noexcept override {
        auto it = find(pointer);
        ZIGGY_FUZZ_CHECK(it != live_.end(), "%s: deallocate of %p, which it never handed out",
                         name_, pointer);
        ZIGGY_FUZZ_CHECK(it->size == size && it->alignment == alignment,
                         "%s: deallocate(%p, %zu, %zu) but the block was (%zu, %zu)", name_,
                         pointer, size, alignment, it->size, it->alignment);
        if (holding_) {
            held_.push_back(*it);
            live_.erase(it);
            return;
        }
        live_.erase(it);
        system_.deallocate_bytes(pointer, size, alignment);
    }
    void do_free(void* pointer) override {
        auto it = find(pointer);
        ZIGGY_FUZZ_CHECK(it != live_.end(), "%s: free of %p, which it never handed out", name_,
                         pointer);
        if (holding_) {
            held_.push_back(*it);
            live_.erase(it);
            return;
        }
        live_.erase(it);
        system_.free(pointer);
    }

    const char* name_;
    ziggy::SystemAllocator system_;
    std::vector<Block> live_;
    std::vector<Block> held_; // given back while holding_
    bool holding_ = false;
    std::size_t allocations_ = 0;
    std::size_t failures_ = 0;
};

} // namespace ziggy_fuzz
