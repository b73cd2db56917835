// PeerTable; see peer_table.hpp. The record and its two indexes change together in
// add/remove/move only.
#include "peer_table.hpp"

#include <algorithm>
#include <cassert>

namespace chat::rdv {

Room* Peer::room(std::string_view room) const {
    const auto it =
        std::find_if(rooms.begin(), rooms.end(), [&](const Room* r) { return r->name == room; });
    return it == rooms.end() ? nullptr : *it;
}

Peer* PeerTable::find(PeerId id) {
    if (slot_of(id) >= slots_used_)
        return nullptr;
    Peer& p = at(slot_of(id));
    return p.id == id && id != 0 ? &p : nullptr;
}

Peer* PeerTable::find_by_endpoint(const proto::Endpoint& e) {
    const auto slot =
        by_endpoint_.find(hash(e), [&](std::uint32_t s) { return at(s).endpoint == e; });
    return slot ? &at(*slot) : nullptr;
}

Peer* PeerTable::find_by_name(std::string_view name) {
    const auto slot = by_name_.find(name, [this](std::uint32_t s) { return name_at(s); });
    return slot ? &at(*slot) : nullptr;
}

Peer& PeerTable::add(Peer peer) {
    assert(find_by_endpoint(peer.endpoint) == nullptr);
    assert(find_by_name(peer.name) == nullptr);
    std::uint32_t slot = slots_used_;
    std::uint32_t generation = 1;
    if (!free_.empty()) {
        std::tie(slot, generation) = free_.back();
        free_.pop_back();
    } else {
        if (slot % kChunk == 0)
            chunks_.push_back(std::make_unique<Peer[]>(kChunk));
        ++slots_used_;
    }
    Peer& p = at(slot);
    p = std::move(peer);
    p.id = make_peer_id(slot, generation);
    by_endpoint_.insert(hash(p.endpoint), slot);
    by_name_.insert(slot, [this](std::uint32_t s) { return name_at(s); });
    if (p.plaintext)
        ++plaintext_count_;
    return p;
}

void PeerTable::remove(PeerId id) {
    Peer* p = find(id);
    if (p == nullptr)
        return;
    const std::uint32_t slot = slot_of(id);
    by_endpoint_.erase(hash(p->endpoint), slot);
    by_name_.erase(p->name, [this](std::uint32_t s) { return name_at(s); });
    if (p->plaintext)
        --plaintext_count_;
    *p = Peer{}; // frees what it held; id 0 marks the slot free
    const std::uint32_t next = generation_of(id) + 1;
    free_.emplace_back(slot, next == 0 ? 1 : next); // 0 would make id 0 possible
}

void PeerTable::move(Peer& peer, const proto::Endpoint& to) {
    assert(find_by_endpoint(to) == nullptr);
    by_endpoint_.erase(hash(peer.endpoint), slot_of(peer.id));
    peer.endpoint = to;
    by_endpoint_.insert(hash(to), slot_of(peer.id));
}

} // namespace chat::rdv
