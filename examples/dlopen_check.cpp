// Loads the library named on the command line with dlopen(), as a plugin
// host would, after the program has started (scripts/dev.sh install_test).
// The default build keeps 86 KiB of initial-exec TLS for the pools, more
// than glibc sets aside for libraries loaded late, so it loads only with
// GLIBC_TUNABLES=glibc.rtld.optional_static_tls=131072 (or more); a build
// with -Dpool_tls_front=false loads without it.
#include <dlfcn.h>

#include <cstdio>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s path/to/libziggyalloc.so\n", argv[0]);
        return 2;
    }
    void* library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
        std::fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    std::printf("dlopen: loaded %s\n", argv[1]);
    return dlclose(library) == 0 ? 0 : 1;
}
