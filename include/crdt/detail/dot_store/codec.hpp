// crdt/detail/dot_store/codec.hpp -- the codec shared by every causal type.
//
// Encoding of a causal state or delta: the causal context (version vector +
// cloud), the keep set (count, dots), for stores of the LWW kind (lww_map,
// maps of them) the base version, then the store. Decoding validates the
// kernel invariants (every store dot in the context and not kept, no dot
// twice, no empty substore, keys strictly increasing) and raises
// crdt::error(errc::invalid_value) naming the offending byte otherwise.
//
// Thread safety: stateless. Exception safety: decode throws crdt::error or
// std::bad_alloc and leaves nothing behind.
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/core/config.hpp>
#include <crdt/detail/dot_store/causal_base.hpp>

CRDT_BEGIN_NAMESPACE
namespace detail::dot_store {

template <class T>
struct causal_codec {
    static void encode(byte_writer& w, const T& v) { access::state(v).encode(w); }
    static T decode(byte_reader& r) {
        T t;
        access::state(t) = std::remove_cvref_t<decltype(access::state(t))>::decode(r);
        return t;
    }
};

} // namespace detail::dot_store
CRDT_END_NAMESPACE
