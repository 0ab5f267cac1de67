// Tour section: DebugAllocator catches an overrun, a leak and a double free,
// and (with the log reaction chosen here) reports them and carries on. Called
// from tour.cpp.
#include <ziggy/debug_allocator.hpp>

#include <cstdio>
#include <string_view>

void tour_debug() {
    std::puts("-- DebugAllocator: leaks with their call sites, guard bytes, invalid frees");
    ziggy::DebugOptions options;
    options.reaction = ziggy::ErrorReaction::log; // the default, abort, would stop the tour
    options.log_sink = [](std::string_view line) {
        std::printf("   | %.*s\n", static_cast<int>(line.size()), line.data());
    };
    ziggy::DebugAllocator debug("tour", ziggy::default_allocator(), ziggy::LeakReportingMode::log,
                                options);
    {
        auto samples = debug.allocate<int>(4);
        std::printf("   allocated 4 ints: %zu live allocation, %zu bytes\n",
                    debug.tracked_allocation_count(), debug.total_allocated_bytes());
        samples.data()[4] = 42; // one element past the end: lands in the guard bytes
        std::puts("   wrote samples.data()[4]; check_guards() reports:");
        debug.check_guards();
    }
    int* kept = debug.allocate<int>(8).release(); // ownership given up: a leak until freed
    std::printf("   released an 8-int buffer; report_memory_leaks() says:\n");
    debug.report_memory_leaks();
    debug.free(kept);
    std::printf("   freed it: %zu leaks; freeing it again is caught:\n", debug.leaks().size());
    debug.free(kept);
    std::puts("");
}
