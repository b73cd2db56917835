// PeerId: how the core names a session, in the peer table and in every index beside it.
// The low 32 bits are the session's slot in the peer table (slots are dense and reused once
// a session ends), the high 32 bits the slot's generation (one more for each session the
// slot has held). So an index can keep per-slot state in a plain array, and an id never
// comes back while the server runs: one that outlives its session finds nothing.
#pragma once

#include <cstdint>

namespace chat::rdv {

using PeerId = std::uint64_t; // never 0: generations start at 1

constexpr std::uint32_t slot_of(PeerId id) {
    return static_cast<std::uint32_t>(id & 0xffff'ffffu);
}
constexpr std::uint32_t generation_of(PeerId id) {
    return static_cast<std::uint32_t>(id >> 32);
}
constexpr PeerId make_peer_id(std::uint32_t slot, std::uint32_t generation) {
    return (static_cast<PeerId>(generation) << 32) | slot;
}

} // namespace chat::rdv
