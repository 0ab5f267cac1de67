// fuzz/ops_engine.hpp — the program interpreter behind ops_fuzzer and its profiles.
//
// `run_ops(data, size, profile)` decodes the input as a program (see
// ops_fuzzer.cpp for the operations and the checks) over the targets the
// profile builds. A profile chooses the targets, the operation mix (a table the
// opcode byte indexes) and the sizes of raw allocations, so pool_fuzzer and
// scope_defer_fuzzer are the same engine aimed at one allocator.
#pragma once

#include "targets.hpp"
#if __has_include(<ziggy/defer_scope.hpp>)
#include "defer_model.hpp"
#define ZIGGY_FUZZ_HAS_DEFER 1
#endif

#include <cstring>

namespace ziggy_fuzz {

enum class Op : std::uint8_t {
    allocate,
    allocate_bytes,
    reset,
    release,
    raw_free,
    write,
    read,
    fill,
    copy,
    move,
    edge,
    containers,
    out_of_memory,
    target_op,
    defer,
    check_all,
    count_
};

/// What a harness aims the engine at.
struct Profile {
    /// Builds the allocators under test from the configuration byte.
    Targets (*make_targets)(std::uint8_t config) = &ziggy_fuzz::make_targets;
    /// The operation each opcode byte selects (byte % size).
    std::vector<Op> ops = all_ops();
    /// Sizes of raw and out-of-memory allocations.
    std::size_t (*raw_size)(Reader& in) = &default_raw_size;
    int max_steps = 128;

    static std::vector<Op> all_ops() {
        std::vector<Op> v;
        for (unsigned i = 0; i < static_cast<unsigned>(Op::count_); ++i)
            v.push_back(static_cast<Op>(i));
        return v;
    }
    // Mostly small, sometimes beyond every pool class and arena block.
    static std::size_t default_raw_size(Reader& in) {
        const bool large = in.flag();
        return in.range(1, large ? 20000 : 512);
    }
};

class OpsProgram {
public:
    OpsProgram(Reader& in, Targets& targets, const Profile& profile)
        : in_(in), m_(targets), profile_(profile) {}

    void run() {
        for (int step = 0; step < profile_.max_steps && !in_.exhausted(); ++step) {
            const Op op = profile_.ops[in_.u8() % profile_.ops.size()];
            if (in_.exhausted()) break;
            apply(op);
            // The allocators this step used; every 16 steps, everything.
            m_.check_accounting(step % 16 == 15);
            if (step % 16 == 15) m_.check_all_contents();
        }
        m_.check_all_contents();
#ifdef ZIGGY_FUZZ_HAS_DEFER
        defers_.close_all(m_);
#endif
        m_.free_everything(in_);
    }

private:
    void apply(Op op) {
        switch (op) {
            case Op::allocate: {
                Target& t = m_.pick_target(in_);
                const auto type = static_cast<ElementType>(in_.u8() % element_type_count);
                const std::size_t max_bytes = in_.flag() ? 20000 : 2048;
                const std::size_t count = in_.range(0, max_bytes / element_size(type));
                const bool zero = in_.flag();
                const bool concrete = in_.flag();
                m_.allocate_typed(t, type, count, zero, concrete, in_.u8());
                break;
            }
            case Op::allocate_bytes: {
                Target& t = m_.pick_target(in_);
                const std::size_t size = profile_.raw_size(in_);
                const std::size_t alignment = std::size_t{1} << (in_.u8() % 13); // up to 4096
                const std::uint8_t how = in_.u8();
                m_.allocate_raw(t, size, alignment, (how & 1) != 0, (how & 2) != 0, in_.u8());
                break;
            }
            case Op::reset:
                if (Entry* e = m_.pick_freeable(in_)) m_.destroy(*e, /*through_buffer=*/true);
                break;
            case Op::release:
                if (Entry* e = m_.pick_freeable(in_)) release_buffer(*e);
                break;
            case Op::raw_free:
                if (Entry* e = m_.pick_freeable(in_)) m_.raw_free(*e, in_.flag());
                break;
            case Op::write:
                if (Entry* e = m_.pick_entry(in_)) {
                    const std::size_t offset = in_.pick(e->size);
                    const std::size_t length = in_.range(0, e->size - offset);
                    const std::uint32_t seed = in_.u8();
                    write_bytes(*e, offset, length, seed);
                    check_contents(*e);
                }
                break;
            case Op::read:
                if (Entry* e = m_.pick_entry(in_)) check_contents(*e);
                break;
            case Op::fill:
                if (Entry* e = m_.pick_entry(in_)) {
                    fill(*e, in_.u8());
                    check_contents(*e);
                }
                break;
            case Op::copy: {
                Entry* from = m_.pick_entry(in_);
                Entry* to = m_.pick_entry(in_);
                if (from != nullptr && to != nullptr) {
                    copy(*from, *to, in_.u16());
                    check_contents(*to);
                }
                break;
            }
            case Op::move:
                if (Entry* e = m_.pick_entry(in_)) move_buffer(*e);
                break;
            case Op::edge: {
                Target& t = m_.pick_target(in_);
                edge_cases(t, in_.u8());
                break;
            }
            case Op::containers: {
                Target& t = m_.pick_target(in_);
                const std::size_t count = in_.range(0, 200); // growth to 256 elements
                containers(t, count, in_.u8());
                break;
            }
            case Op::out_of_memory: {
                Target& t = m_.pick_target(in_);
                const std::size_t size = profile_.raw_size(in_);
                m_.out_of_memory(t, size, in_.u8());
                break;
            }
            case Op::target_op: {
                Target& t = m_.pick_target(in_);
                t.special(in_.u8(), in_, m_);
                break;
            }
            case Op::defer:
#ifdef ZIGGY_FUZZ_HAS_DEFER
                defers_.apply(in_.u8(), in_, m_);
#endif
                break;
            case Op::check_all:
                m_.check_all_contents();
                break;
            case Op::count_:
                break;
        }
    }

    Reader& in_;
    Model m_;
    const Profile& profile_;
#ifdef ZIGGY_FUZZ_HAS_DEFER
    Defers defers_; // after the model: destroyed first, while the allocators live
#endif
};

/// Runs one input as a program under `profile`.
inline void run_ops(const std::uint8_t* data, std::size_t size, const Profile& profile) {
    Reader in(data, size);
    Targets targets = profile.make_targets(in.u8());
    OpsProgram(in, targets, profile).run();
}

} // namespace ziggy_fuzz
