// The tour: what each ziggyalloc allocator does, in a few printed lines per
// allocator. `scripts/dev.sh demo` builds and runs it.
#include "tour.hpp"

#include <ziggy/ziggy.hpp>

#include <cstdio>
#include <numeric>
#include <stdexcept>

void tour_system() {
    std::puts("-- SystemAllocator: the platform heap with exact accounting");
    ziggy::SystemAllocator sys;
    {
        auto xs = sys.allocate<int>(10, /*zero_memory=*/true);
        std::iota(xs.begin(), xs.end(), 1);
        std::printf("   allocated %zu ints (%zu bytes); sum = %d; allocator reports %zu live bytes\n",
                    xs.size(), xs.size_bytes(), std::accumulate(xs.begin(), xs.end(), 0),
                    sys.total_allocated_bytes());
        try {
            (void)xs[10];
        } catch (const std::out_of_range& e) {
            std::printf("   xs[10] is caught: %s\n", e.what());
        }
        const int src[3] = {7, 8, 9};
        xs.copy_from(src);
        std::printf("   copy_from({7,8,9}) -> xs[0..3) = %d %d %d\n", xs[0], xs[1], xs[2]);
        xs.fill(5);
        const int after_fill = xs.back();
        xs.clear();
        std::printf("   fill(5) -> back() = %d; clear() -> back() = %d\n", after_fill, xs.back());
        try {
            const int too_long[11] = {};
            xs.copy_from(too_long);
        } catch (const std::invalid_argument& e) {
            std::printf("   copy_from(11 elements) is refused: %s\n", e.what());
        }
    }
    std::printf("   after the buffer's scope: %zu live bytes\n\n", sys.total_allocated_bytes());
}

int main() {
    std::puts("== ziggyalloc tour ==\n");
    tour_system();
    tour_scoped();
    tour_debug();
    tour_pool();
    std::puts("== end of the tour ==");
    return 0;
}
