// fuzz/buffer_fuzzer.cpp — Buffer<T> against a std::vector model.
//
// The input is a program over four buffer slots of one element type (chosen by
// the first byte: 1-, 4-, 6- and 32-byte-aligned elements). Each operation is
// checked against the model: contents, size, size_bytes, empty/valid/owns_memory,
// and the exact exception contract — std::out_of_range exactly when
// index >= size (operator[], at) or the buffer is empty (front, back), and
// std::invalid_argument exactly when copy_from's source is longer than the
// buffer (which then stays unchanged). Sources for copy_from include other
// slots and the buffer itself (overlapping, memmove semantics). The allocator's
// byte count must match the owned buffers after every step.
#include "fuzz_support.hpp"

#include <ziggy/buffer.hpp>
#include <ziggy/system_allocator.hpp>

#include <array>
#include <cstring>
#include <limits>
#include <span>
#include <stdexcept>
#include <utility>
#include <vector>

namespace {

using ziggy_fuzz::Reader;

struct Triple {
    std::uint16_t a, b, c;
};
struct alignas(32) Wide {
    std::uint8_t bytes[32];
};

template <class T>
T make_value(std::uint32_t seed) {
    T v;
    auto* bytes = reinterpret_cast<unsigned char*>(&v);
    std::memcpy(bytes, ziggy_fuzz::pattern(seed), sizeof(T));
    return v;
}

template <class T>
bool same(const T& x, const T& y) {
    return std::memcmp(&x, &y, sizeof(T)) == 0;
}

enum class Op : std::uint8_t {
    allocate,
    wrap,
    write,
    read,
    front_back,
    fill,
    clear,
    copy_from,
    move,
    reset,
    release,
    spans,
    count_
};

template <class T>
class Program {
public:
    explicit Program(Reader& in) : in_(in) {}

    void run() {
        for (int step = 0; step < 256; ++step) {
            const auto op = static_cast<Op>(in_.u8() % static_cast<unsigned>(Op::count_));
            if (in_.exhausted()) break;
            Slot& s = slots_[in_.pick(slots_.size())];
            apply(op, s);
            check_slot(s);
            check_accounting();
        }
        for (Slot& s : slots_) check_slot(s);
        for (Slot& s : slots_) s.buffer.reset();
        ZIGGY_FUZZ_CHECK(system_.total_allocated_bytes() == 0, "%zu bytes leaked",
                         system_.total_allocated_bytes());
    }

private:
    struct Slot {
        ziggy::Buffer<T> buffer;
        std::vector<T> model;   // what the buffer must contain
        std::vector<T> storage; // the memory behind a wrapped (non-owning) buffer
        bool owned = false;
    };

    void apply(Op op, Slot& s) {
        switch (op) {
            case Op::allocate: {
                const std::size_t count = in_.range(0, 300);
                const bool zero = in_.flag();
                s.buffer = system_.allocate<T>(count, zero);
                s.owned = count != 0;
                s.model.assign(count, T{});
                ZIGGY_FUZZ_CHECK(s.buffer.size() == count, "allocate size %zu != %zu",
                                 s.buffer.size(), count);
                ZIGGY_FUZZ_CHECK(s.buffer.owns_memory() == (count != 0) &&
                                     s.buffer.allocator() == (count ? &system_ : nullptr),
                                 "allocate ownership");
                ZIGGY_FUZZ_CHECK(
                    reinterpret_cast<std::uintptr_t>(s.buffer.data()) % alignof(T) == 0,
                    "allocate misaligned for alignof %zu", alignof(T));
                if (zero) {
                    for (std::size_t i = 0; i < count; ++i)
                        ZIGGY_FUZZ_CHECK(same(s.buffer[i], T{}), "zeroed element %zu is not zero",
                                         i);
                } else {
                    const std::uint32_t seed = in_.u8();
                    for (std::size_t i = 0; i < count; ++i)
                        s.buffer.data()[i] = s.model[i] =
                            make_value<T>(seed + static_cast<std::uint32_t>(i));
                }
                break;
            }
            case Op::wrap: {
                s.buffer.reset();
                const std::size_t count = in_.range(0, 64);
                const std::uint8_t how = in_.u8() % 3;
                s.storage.resize(count);
                for (std::size_t i = 0; i < count; ++i)
                    s.storage[i] = make_value<T>(static_cast<std::uint32_t>(i) * 3u + how);
                if (how == 0) {
                    s.buffer = ziggy::wrap_existing(s.storage.data(), count);
                } else if (how == 1) {
                    s.buffer = ziggy::wrap_span(std::span<T>(s.storage));
                } else {
                    // A null pointer wraps as empty, whatever count says.
                    s.buffer = ziggy::wrap_existing(static_cast<T*>(nullptr), count);
                    s.storage.clear();
                }
                s.model = s.storage;
                s.owned = false;
                ZIGGY_FUZZ_CHECK(!s.buffer.owns_memory() && s.buffer.allocator() == nullptr,
                                 "a wrapped buffer claims ownership");
                ZIGGY_FUZZ_CHECK(count == 0 || how == 2 || s.buffer.data() == s.storage.data(),
                                 "wrap does not view the given memory");
                break;
            }
            case Op::write:
            case Op::read: {
                const std::size_t index = pick_index(s);
                const bool use_at = in_.flag();
                const T value = make_value<T>(in_.u8());
                bool threw = false;
                try {
                    T& ref = use_at ? s.buffer.at(index) : s.buffer[index];
                    if (op == Op::write)
                        ref = value;
                    else
                        ZIGGY_FUZZ_CHECK(same(ref, s.model[index]), "read of element %zu", index);
                } catch (const std::out_of_range&) {
                    threw = true;
                }
                ZIGGY_FUZZ_CHECK(threw == (index >= s.model.size()),
                                 "index %zu, size %zu: out_of_range %s", index, s.model.size(),
                                 threw ? "thrown" : "not thrown");
                if (op == Op::write && !threw) s.model[index] = value;
                break;
            }
            case Op::front_back: {
                const bool front = in_.flag();
                bool threw = false;
                try {
                    const T& v = front ? s.buffer.front() : s.buffer.back();
                    ZIGGY_FUZZ_CHECK(same(v, front ? s.model.front() : s.model.back()),
                                     "front/back value");
                } catch (const std::out_of_range&) {
                    threw = true;
                }
                ZIGGY_FUZZ_CHECK(threw == s.model.empty(), "front/back on size %zu: %s",
                                 s.model.size(), threw ? "threw" : "did not throw");
                break;
            }
            case Op::fill: {
                const T value = make_value<T>(in_.u8());
                s.buffer.fill(value);
                for (T& x : s.model) x = value;
                break;
            }
            case Op::clear:
                s.buffer.clear();
                for (T& x : s.model) x = T{};
                break;
            case Op::copy_from: {
                // Source: a fresh vector (may be longer than the buffer), or a piece
                // of another slot's buffer, or of this one (overlapping).
                Slot& from = slots_[in_.pick(slots_.size())];
                const bool from_vector = in_.flag();
                std::vector<T> temp;
                std::span<const T> source;
                std::vector<T> expected_source;
                if (from_vector || from.model.empty()) {
                    temp.resize(in_.range(0, s.model.size() + 4));
                    for (std::size_t i = 0; i < temp.size(); ++i)
                        temp[i] = make_value<T>(static_cast<std::uint32_t>(i + 100));
                    source = temp;
                    expected_source = temp;
                } else {
                    const std::size_t offset = in_.pick(from.model.size());
                    const std::size_t length = in_.range(0, from.model.size() - offset);
                    source = from.buffer.as_read_only_span().subspan(offset, length);
                    expected_source.assign(
                        from.model.begin() + static_cast<std::ptrdiff_t>(offset),
                        from.model.begin() + static_cast<std::ptrdiff_t>(offset + length));
                }
                bool threw = false;
                try {
                    s.buffer.copy_from(source);
                } catch (const std::invalid_argument&) {
                    threw = true;
                }
                ZIGGY_FUZZ_CHECK(threw == (source.size() > s.model.size()),
                                 "copy_from %zu into %zu: invalid_argument %s", source.size(),
                                 s.model.size(), threw ? "thrown" : "not thrown");
                if (!threw)
                    std::copy(expected_source.begin(), expected_source.end(), s.model.begin());
                break;
            }
            case Op::move: {
                Slot& from = slots_[in_.pick(slots_.size())];
                if (&from == &s) break;
                T* const data = from.buffer.data();
                s.buffer = std::move(from.buffer);
                s.model = std::move(from.model);
                s.storage = std::move(from.storage); // keeps its heap block, so `data` stays valid
                s.owned = std::exchange(from.owned, false);
                from.model.clear();
                from.storage.clear();
                ZIGGY_FUZZ_CHECK(s.buffer.data() == data, "move changed the data pointer");
                ZIGGY_FUZZ_CHECK(from.buffer.empty() && !from.buffer.valid() &&
                                     !from.buffer.owns_memory() && from.buffer.data() == nullptr,
                                 "a moved-from buffer is not empty");
                break;
            }
            case Op::reset:
                s.buffer.reset();
                s.model.clear();
                s.owned = false;
                ZIGGY_FUZZ_CHECK(s.buffer.empty() && !s.buffer.valid(), "reset left a view");
                break;
            case Op::release: {
                const std::size_t bytes = s.buffer.size_bytes();
                T* p = s.buffer.release();
                ZIGGY_FUZZ_CHECK(s.buffer.empty() && !s.buffer.valid() && !s.buffer.owns_memory(),
                                 "release left a view");
                if (s.owned) {
                    if (in_.flag())
                        system_.free(p);
                    else
                        system_.deallocate_bytes(p, bytes, alignof(T));
                }
                s.model.clear();
                s.owned = false;
                break;
            }
            case Op::spans: {
                const std::span<T> rw = s.buffer;
                const std::span<const T> ro = s.buffer;
                ZIGGY_FUZZ_CHECK(rw.data() == s.buffer.data() && ro.data() == s.buffer.data() &&
                                     rw.size() == s.buffer.size() && ro.size() == s.buffer.size() &&
                                     s.buffer.as_span().data() == s.buffer.data() &&
                                     s.buffer.as_read_only_span().size() == s.buffer.size(),
                                 "spans do not view the buffer");
                ZIGGY_FUZZ_CHECK(
                    static_cast<std::size_t>(s.buffer.end() - s.buffer.begin()) == s.buffer.size(),
                    "begin/end distance");
                break;
            }
            case Op::count_:
                break;
        }
    }

    // Mostly indexes near the size (the edge), sometimes anything at all.
    std::size_t pick_index(const Slot& s) {
        switch (in_.u8() % 4) {
            case 0:
                return std::numeric_limits<std::size_t>::max() - in_.u8();
            case 1:
                return in_.u32();
            default: {
                const std::size_t above = in_.u8() % 4;
                const std::size_t below = s.model.empty() ? 0 : in_.u8() % 3;
                return s.model.size() + above - below;
            }
        }
    }

    void check_slot(const Slot& s) const {
        const ziggy::Buffer<T>& b = s.buffer;
        ZIGGY_FUZZ_CHECK(b.size() == s.model.size(), "size %zu, model %zu", b.size(),
                         s.model.size());
        ZIGGY_FUZZ_CHECK(b.size_bytes() == s.model.size() * sizeof(T), "size_bytes");
        ZIGGY_FUZZ_CHECK(b.empty() == s.model.empty(), "empty()");
        // Documented: valid() means data() != nullptr, and an empty buffer is not valid.
        ZIGGY_FUZZ_CHECK(b.valid() == (b.data() != nullptr) && !(b.empty() && b.valid()),
                         "valid() is %d for size %zu, data %p", b.valid(), b.size(),
                         static_cast<void*>(b.data()));
        ZIGGY_FUZZ_CHECK(b.owns_memory() == s.owned, "owns_memory() %d, model %d", b.owns_memory(),
                         s.owned);
        if (!s.model.empty())
            ZIGGY_FUZZ_CHECK(std::memcmp(b.data(), s.model.data(), s.model.size() * sizeof(T)) == 0,
                             "contents differ from the model");
    }

    void check_accounting() const {
        std::size_t owned = 0;
        for (const Slot& s : slots_)
            if (s.owned) owned += s.model.size() * sizeof(T);
        ZIGGY_FUZZ_CHECK(system_.total_allocated_bytes() == owned,
                         "total_allocated_bytes %zu, owned buffers hold %zu",
                         system_.total_allocated_bytes(), owned);
    }

    Reader& in_;
    ziggy::SystemAllocator system_;
    std::array<Slot, 4> slots_;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Reader in(data, size);
    switch (in.u8() % 4) {
        case 0:
            Program<std::uint8_t>(in).run();
            break;
        case 1:
            Program<std::uint32_t>(in).run();
            break;
        case 2:
            Program<Triple>(in).run();
            break;
        default:
            Program<Wide>(in).run();
            break;
    }
    return 0;
}
