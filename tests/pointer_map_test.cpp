// detail::PointerMap: the open-addressing table DebugAllocator tracks blocks in.
#include <ziggy/detail/pointer_map.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

namespace {

using ziggy::detail::PointerMap;

const void* key(std::uintptr_t v) { return reinterpret_cast<const void*>(v); }

// An empty map finds nothing and erases nothing.
TEST(PointerMapTest, EmptyMapFindsNothing) {
    PointerMap<int> m;
    EXPECT_EQ(m.find(key(16)), nullptr);
    EXPECT_FALSE(m.erase(key(16)));
    EXPECT_TRUE(m.empty());
}

// Inserted keys are found with their values; erased ones are gone.
TEST(PointerMapTest, InsertFindErase) {
    PointerMap<int> m;
    m.insert(key(16), 1);
    m.insert(key(32), 2);
    ASSERT_NE(m.find(key(16)), nullptr);
    EXPECT_EQ(*m.find(key(32)), 2);
    EXPECT_TRUE(m.erase(key(16)));
    EXPECT_EQ(m.find(key(16)), nullptr);
    EXPECT_EQ(*m.find(key(32)), 2);
    EXPECT_EQ(m.size(), 1u);
}

// Random inserts and erases (many growths, long probe runs, wrap-around)
// agree with std::unordered_map at every step.
TEST(PointerMapTest, RandomOperationsMatchAReferenceMap) {
    PointerMap<std::uint64_t> m;
    std::unordered_map<const void*, std::uint64_t> ref;
    std::mt19937_64 rng(42);
    std::vector<const void*> keys;
    for (int op = 0; op < 200000; ++op) {
        if (keys.empty() || rng() % 3 != 0) {
            // Aligned addresses with few distinct high bits: many collisions.
            const void* k = key((rng() % 4096 + 1) * 64);
            if (ref.count(k) != 0) continue;
            m.insert(k, static_cast<std::uint64_t>(op));
            ref[k] = static_cast<std::uint64_t>(op);
            keys.push_back(k);
        } else {
            const std::size_t i = rng() % keys.size();
            EXPECT_TRUE(m.erase(keys[i]));
            ref.erase(keys[i]);
            keys[i] = keys.back();
            keys.pop_back();
        }
        if (op % 997 == 0) {
            ASSERT_EQ(m.size(), ref.size());
            for (const auto& [k, v] : ref) {
                const std::uint64_t* found = m.find(k);
                ASSERT_NE(found, nullptr);
                ASSERT_EQ(*found, v);
            }
        }
    }
    std::size_t visited = 0;
    m.for_each([&](const void* k, std::uint64_t v) {
        ++visited;
        EXPECT_EQ(ref.at(k), v);
    });
    EXPECT_EQ(visited, ref.size());
}

} // namespace
