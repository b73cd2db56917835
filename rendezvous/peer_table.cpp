// PeerTable; see peer_table.hpp. The three indexes change together in add/remove/move only.
#include "peer_table.hpp"

#include <algorithm>
#include <cassert>

namespace chat::rdv {

bool Peer::in_room(std::string_view room) const {
    return std::find(rooms.begin(), rooms.end(), room) != rooms.end();
}

Peer* PeerTable::find(PeerId id) {
    auto it = peers_.find(id);
    return it == peers_.end() ? nullptr : &it->second;
}

Peer* PeerTable::find_by_endpoint(const proto::Endpoint& e) {
    auto it = by_endpoint_.find(e);
    return it == by_endpoint_.end() ? nullptr : find(it->second);
}

Peer* PeerTable::find_by_name(std::string_view name) {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : find(it->second);
}

Peer& PeerTable::add(Peer peer) {
    assert(!by_endpoint_.contains(peer.endpoint));
    assert(by_name_.find(peer.name) == by_name_.end());
    peer.id = next_id_++;
    by_endpoint_[peer.endpoint] = peer.id;
    by_name_.emplace(peer.name, peer.id);
    if (peer.plaintext)
        ++plaintext_count_;
    const PeerId id = peer.id;
    return peers_.emplace(id, std::move(peer)).first->second;
}

void PeerTable::remove(PeerId id) {
    auto it = peers_.find(id);
    if (it == peers_.end())
        return;
    by_endpoint_.erase(it->second.endpoint);
    by_name_.erase(it->second.name);
    if (it->second.plaintext)
        --plaintext_count_;
    peers_.erase(it);
}

void PeerTable::move(Peer& peer, const proto::Endpoint& to) {
    assert(!by_endpoint_.contains(to));
    by_endpoint_.erase(peer.endpoint);
    peer.endpoint = to;
    by_endpoint_[to] = peer.id;
}

} // namespace chat::rdv
