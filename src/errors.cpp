#include <ziggy/allocator.hpp>
#include <ziggy/buffer.hpp>
#include <ziggy/errors.hpp>

#include <new>
#include <stdexcept>
#include <string>

// Every throw lives here, out of line, so the inline fast paths stay a compare
// and a branch.
namespace ziggy::detail {

void throw_bad_alloc() { throw std::bad_alloc(); }

void throw_bad_array_new_length() { throw std::bad_array_new_length(); }

void throw_bad_alignment(std::size_t alignment) {
    throw std::invalid_argument("ziggy: alignment " + std::to_string(alignment) +
                                " is not a power of two");
}

void throw_index_out_of_range(std::size_t index, std::size_t size) {
    throw std::out_of_range("ziggy::Buffer: index " + std::to_string(index) +
                            " is out of range for size " + std::to_string(size));
}

void throw_empty_buffer_access(const char* what) {
    throw std::out_of_range(std::string("ziggy::Buffer::") + what + "() called on an empty buffer");
}

void throw_copy_too_long(std::size_t source_size, std::size_t size) {
    throw std::invalid_argument("ziggy::Buffer::copy_from: source has " +
                                std::to_string(source_size) + " elements but the buffer holds " +
                                std::to_string(size));
}

} // namespace ziggy::detail
