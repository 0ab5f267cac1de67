// fuzz/debug_guard_fuzzer.cpp — differential oracle for DebugAllocator's guard bytes.
//
// The input configures a DebugAllocator (guard width, reaction: log or throw)
// and then runs a program over up to 8 live blocks of random size and
// alignment: allocate, write a byte anywhere in [-g, size + g) (g: the guard
// width rounded up to 8, which the layout guarantees on both sides), check
// guards, free (sized or unsized). The model knows which guard bytes differ
// from the guard fill, so it predicts every report exactly: a block with a
// damaged byte behind it is reported once as an overrun at `size + k` (the
// first damaged byte), else one with a damaged byte in front as an underrun at
// `-k` (the damaged byte nearest the block); in-bounds writes and writes of the
// fill value itself are never reported. Reports are collected through
// `on_error`; with the throw reaction `check_guards()` and `free()` must throw
// MemoryCorruptionError exactly when they report. After a report the
// allocator repaints the guards, so the model forgets the damage.
//
// Under ASan the guards are poisoned: the harness writes through
// ziggy::detail::unpoison, as a real overrun would not (ASan itself would stop
// it, which tests/debug_allocator_test.cpp covers).
#include "fuzz_support.hpp"

#include <ziggy/debug_allocator.hpp>
#include <ziggy/detail/sanitizer.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

using ziggy_fuzz::Reader;

struct Block {
    unsigned char* data = nullptr;
    std::size_t size = 0;
    std::size_t alignment = 0;
    std::map<std::ptrdiff_t, unsigned char> damage; // guard offset -> written value
};

struct Expected {
    ziggy::GuardSide side;
    std::ptrdiff_t offset;
};

class GuardProgram {
public:
    GuardProgram(Reader& in, std::uint8_t config)
        : in_(in),
          throws_((config & 1) != 0),
          guard_width_(widths[(config >> 1) % widths.size()]),
          g_((guard_width_ + 7) / 8 * 8),
          debug_("guard", backing_, ziggy::LeakReportingMode::ignore, options()) {}

    void run() {
        for (int step = 0; step < 128; ++step) {
            const std::uint8_t op = in_.u8();
            if (in_.exhausted()) break;
            switch (op % 5) {
                case 0:
                    allocate();
                    break;
                case 1:
                case 2:
                    write();
                    break;
                case 3:
                    check_all();
                    break;
                default:
                    free_one();
                    break;
            }
        }
        while (!blocks_.empty()) free_block(blocks_.size() - 1, in_.flag());
        ZIGGY_FUZZ_CHECK(
            debug_.tracked_allocation_count() == 0 && debug_.total_allocated_bytes() == 0,
            "debug: %zu blocks tracked after every free", debug_.tracked_allocation_count());
    }

private:
    static constexpr std::array<std::size_t, 6> widths{16, 8, 1, 24, 64, 0};

    ziggy::DebugOptions options() {
        ziggy::DebugOptions o;
        o.guard_width = guard_width_;
        o.quarantine_count = 4;
        o.reaction = throws_ ? ziggy::ErrorReaction::throw_exception : ziggy::ErrorReaction::log;
        o.on_error = [this](const ziggy::DebugReport& r) { reports_.push_back(r); };
        o.log_sink = [](std::string_view) {};
        return o;
    }

    void allocate() {
        const std::size_t size = in_.range(1, 300);
        const std::size_t alignment = std::size_t{1} << (in_.u8() % 9); // up to 256
        if (blocks_.size() >= 8) return;
        void* p = debug_.allocate_bytes(size, alignment);
        ZIGGY_FUZZ_CHECK(reinterpret_cast<std::uintptr_t>(p) % alignment == 0,
                         "debug: %p not aligned to %zu", p, alignment);
        blocks_.push_back(Block{static_cast<unsigned char*>(p), size, alignment, {}});
    }

    // One byte anywhere in [-g, size + g): in bounds, or in a guard.
    void write() {
        if (blocks_.empty()) return;
        Block& b = blocks_[in_.pick(blocks_.size())];
        const auto span = static_cast<std::ptrdiff_t>(b.size + 2 * g_);
        const std::ptrdiff_t offset =
            static_cast<std::ptrdiff_t>(in_.u16() % span) - static_cast<std::ptrdiff_t>(g_);
        // Mostly damaging values, sometimes the fill itself (no damage).
        const std::uint8_t v = in_.u8();
        const unsigned char value = v < 32 ? fill_ : static_cast<unsigned char>(v);
        unsigned char* at = b.data + offset;
        const bool in_bounds = offset >= 0 && offset < static_cast<std::ptrdiff_t>(b.size);
        if (!in_bounds) ziggy::detail::unpoison(at, 1);
        *at = value;
        if (!in_bounds) {
            if (value == fill_)
                b.damage.erase(offset);
            else
                b.damage[offset] = value;
        }
    }

    std::optional<Expected> expected(const Block& b) const {
        std::optional<Expected> over, under;
        for (const auto& [offset, value] : b.damage) {
            if (offset >= static_cast<std::ptrdiff_t>(b.size)) {
                if (!over) over = Expected{ziggy::GuardSide::overrun, offset};
            } else {
                under = Expected{ziggy::GuardSide::underrun, offset}; // the last is the nearest
            }
        }
        return over ? over : under;
    }

    void check_all() {
        std::vector<std::optional<Expected>> want;
        std::size_t damaged = 0;
        for (const Block& b : blocks_) {
            want.push_back(expected(b));
            damaged += want.back().has_value();
        }
        reports_.clear();
        std::size_t returned = 0;
        bool threw = false;
        try {
            returned = debug_.check_guards();
        } catch (const ziggy::MemoryCorruptionError&) {
            threw = true;
            returned = reports_.size();
        }
        ZIGGY_FUZZ_CHECK(threw == (throws_ && damaged > 0),
                         "check_guards() %s with %zu damaged blocks",
                         threw ? "threw" : "did not throw", damaged);
        ZIGGY_FUZZ_CHECK(
            returned == damaged && reports_.size() == damaged,
            "check_guards() reported %zu (returned %zu), the model has %zu damaged blocks",
            reports_.size(), returned, damaged);
        for (std::size_t i = 0; i < blocks_.size(); ++i) {
            if (!want[i]) continue;
            match(blocks_[i], *want[i]);
            blocks_[i].damage.clear(); // repainted
        }
    }

    void free_one() {
        if (!blocks_.empty()) free_block(in_.pick(blocks_.size()), in_.flag());
    }

    void free_block(std::size_t index, bool unsized) {
        Block b = blocks_[index];
        blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(index));
        const std::optional<Expected> want = expected(b);
        reports_.clear();
        bool threw = false;
        if (unsized) {
            try {
                debug_.free(b.data);
            } catch (const ziggy::MemoryCorruptionError&) {
                threw = true;
            }
        } else {
            debug_.deallocate_bytes(b.data, b.size, b.alignment); // noexcept: logs
        }
        ZIGGY_FUZZ_CHECK(threw == (throws_ && unsized && want.has_value()),
                         "free() %s for a block with%s damage", threw ? "threw" : "did not throw",
                         want ? "" : "out");
        ZIGGY_FUZZ_CHECK(reports_.size() == (want ? 1u : 0u),
                         "freeing a %zu-byte block gave %zu reports, the model expects %d", b.size,
                         reports_.size(), want ? 1 : 0);
        if (want) match(b, *want);
    }

    void match(const Block& b, const Expected& want) {
        const auto it = std::find_if(reports_.begin(), reports_.end(),
                                     [&](const auto& r) { return r.allocation.address == b.data; });
        ZIGGY_FUZZ_CHECK(it != reports_.end(), "no report for the damaged %zu-byte block at %p",
                         b.size, static_cast<void*>(b.data));
        const ziggy::DebugReport& r = *it;
        const char* side = want.side == ziggy::GuardSide::overrun ? "overrun" : "underrun";
        ZIGGY_FUZZ_CHECK(r.kind == ziggy::DebugErrorKind::guard_damaged && r.side == want.side &&
                             r.offset == want.offset && r.allocation.size == b.size &&
                             r.message.find(side) != std::string::npos &&
                             r.allocator_name == "guard",
                         "report for a %zu-byte block (align %zu, guard %zu): side %d offset %td, "
                         "expected %s at %td: %s",
                         b.size, b.alignment, guard_width_, static_cast<int>(r.side), r.offset,
                         side, want.offset, r.message.c_str());
    }

    Reader& in_;
    const bool throws_;
    const std::size_t guard_width_;
    const std::size_t g_;
    const unsigned char fill_ = ziggy::DebugOptions{}.guard_fill;
    std::vector<ziggy::DebugReport> reports_;
    ziggy_fuzz::CheckedBacking backing_{"debug backing"};
    ziggy::DebugAllocator debug_;
    std::vector<Block> blocks_;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Reader in(data, size);
    const std::uint8_t config = in.u8();
    GuardProgram(in, config).run();
    return 0;
}
