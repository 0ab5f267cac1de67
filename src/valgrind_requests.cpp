// valgrind_requests.cpp — Valgrind's client requests, out of line (see
// detail/sanitizer.hpp): compiled in every build, with a body only where
// the library is built with -Dvalgrind=true, which needs Valgrind's headers
// (its users do not).
#include <ziggy/detail/sanitizer.hpp>

#if ZIGGY_HAS_VALGRIND
#if !__has_include(<valgrind/memcheck.h>)
#error "-Dvalgrind=true needs Valgrind's headers (Debian: apt-get install valgrind)"
#endif
#include <valgrind/memcheck.h>

namespace ziggy::detail::valgrind {

void make_noaccess(const void* p, std::size_t n) noexcept { VALGRIND_MAKE_MEM_NOACCESS(p, n); }
void make_undefined(const void* p, std::size_t n) noexcept { VALGRIND_MAKE_MEM_UNDEFINED(p, n); }
void make_defined(const void* p, std::size_t n) noexcept { VALGRIND_MAKE_MEM_DEFINED(p, n); }

bool unaddressable(const void* p) noexcept {
    // memcheck answers 3 for memory that is not addressable, and reports nothing.
    unsigned char bits = 0;
    return VALGRIND_GET_VBITS(p, &bits, 1) == 3;
}

bool running() noexcept { return RUNNING_ON_VALGRIND != 0; }

void create_mempool(const void* pool) noexcept { VALGRIND_CREATE_MEMPOOL(pool, 0, 0); }
void destroy_mempool(const void* pool) noexcept { VALGRIND_DESTROY_MEMPOOL(pool); }
void mempool_alloc(const void* pool, const void* p, std::size_t n) noexcept {
    VALGRIND_MEMPOOL_ALLOC(pool, p, n);
}
void mempool_free(const void* pool, const void* p) noexcept { VALGRIND_MEMPOOL_FREE(pool, p); }

} // namespace ziggy::detail::valgrind
#endif
