// ziggy/ziggy.hpp — everything in ziggyalloc with one include.
#pragma once

#include <ziggy/allocator.hpp>
#include <ziggy/buffer.hpp>
#include <ziggy/errors.hpp>
#include <ziggy/hybrid_allocator.hpp>
#include <ziggy/system_allocator.hpp>
#include <ziggy/unmanaged.hpp>
#include <ziggy/unmanaged_memory_pool.hpp>
