// crdt/detail/traits.hpp -- small concepts and traits shared across folders.
#pragma once

#include <crdt/core/config.hpp>

#include <concepts>

CRDT_BEGIN_NAMESPACE
namespace detail {

/// Types byte_writer::fixed and byte_reader::fixed write and read as
/// sizeof(T) little-endian bytes.
template <class T>
concept fixed_width = std::integral<T> || std::floating_point<T>;

} // namespace detail
CRDT_END_NAMESPACE
