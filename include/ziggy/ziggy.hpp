// ziggy/ziggy.hpp — everything in ziggyalloc with one include.
#pragma once

#include <ziggy/allocator.hpp>
#include <ziggy/buffer.hpp>
#include <ziggy/debug_allocator.hpp>
#include <ziggy/defer_scope.hpp>
#include <ziggy/errors.hpp>
#include <ziggy/failing_allocator.hpp>
#include <ziggy/hybrid_allocator.hpp>
#include <ziggy/memory_resource.hpp>
#include <ziggy/scoped_allocator.hpp>
#include <ziggy/std_allocator.hpp>
#include <ziggy/system_allocator.hpp>
#include <ziggy/unmanaged.hpp>
#include <ziggy/unmanaged_memory_pool.hpp>
