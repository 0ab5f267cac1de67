// Tour section: ScopedAllocator (arena) and DeferScope. Called from tour.cpp.
#include <ziggy/ziggy.hpp>

#include <cstdio>
#include <numeric>

void tour_scoped() {
    std::puts(
        "-- ScopedAllocator: an arena; allocation is a pointer bump, reset() frees everything");
    ziggy::SystemAllocator backing;
    {
        ziggy::ScopedAllocator arena(backing, {.initial_block_size = 4096});
        auto ids = arena.allocate<int>(100);
        std::iota(ids.begin(), ids.end(), 0);
        auto scratch = arena.allocate<double>(64, /*zero_memory=*/true);
        std::printf(
            "   2 buffers: arena hands out %zu bytes from %zu block(s) = %zu bytes of the backing "
            "allocator\n",
            arena.total_allocated_bytes(), arena.block_count(), backing.total_allocated_bytes());
        try {
            arena.free(ids.data());
        } catch (const ziggy::NotSupportedError&) {
            std::puts(
                "   arena.free(p) throws NotSupportedError: an arena frees everything at once");
        }
        scratch.reset(); // the most recent allocation: its bytes are reclaimed
        std::printf("   after destroying the newest buffer: %zu bytes handed out\n",
                    arena.total_allocated_bytes());
        (void)ids.release(); // the arena, not the buffer, frees it now
        arena.reset();
        std::printf("   after reset(): %zu bytes handed out, %zu block kept for reuse\n",
                    arena.total_allocated_bytes(), arena.block_count());
    }
    std::printf("   arena destroyed: the backing allocator holds %zu bytes\n\n",
                backing.total_allocated_bytes());

    std::puts("-- DeferScope: Zig's defer; actions run in reverse order when the scope ends");
    {
        ziggy::DeferScope defer;
        defer.defer([] { std::puts("   deferred 1 (registered first, runs last)"); });
        auto tmp = ziggy::allocate_deferred<char>(backing, defer, 256);
        defer.defer([] { std::puts("   deferred 2 (runs first)"); });
        std::printf("   %zu actions pending; deferred buffer of %zu bytes, %zu bytes live\n",
                    defer.count(), tmp.size(), backing.total_allocated_bytes());
    }
    std::printf("   scope ended: %zu bytes live\n\n", backing.total_allocated_bytes());
}
