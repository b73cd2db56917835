// Registered peers, indexed three ways: by id (the record), by source endpoint (every
// datagram's first lookup) and by name (unique among live peers; sorted, so user lists
// page in order). Plain-text clients live here too, named by their "ip:port".
#pragma once

#include "expiry_index.hpp"
#include "rate_limit.hpp"
#include "session_token.hpp"

#include "proto/endpoint.hpp"
#include "proto/message.hpp"

#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace chat::rdv {

struct Peer {
    PeerId id = 0;
    std::string name;         // a valid name, or "ip:port" for a plain-text client
    proto::Endpoint endpoint; // where it is now (moves on migration)
    SessionToken token;       // empty for a plain-text client
    std::vector<proto::Endpoint> private_endpoints; // <= kMaxPrivateEndpoints
    std::vector<std::string> rooms; // rooms joined, <= ServerConfig::max_rooms_per_peer
    TokenBucket inbound;            // datagrams it may send (at the session rate)
    Time last_heard{};
    bool plaintext = false;
    // Its last create that succeeded: a resend of it (same id and room, the ok was lost) gets
    // the same ok again instead of room_exists. One per session: a peer waits for each answer.
    std::optional<proto::Ok> last_create;
    std::string last_create_room;

    bool in_room(std::string_view room) const;
};

class PeerTable {
  public:
    Peer* find(PeerId id);
    Peer* find_by_endpoint(const proto::Endpoint& e);
    Peer* find_by_name(std::string_view name);
    // Adds a peer whose name and endpoint are not in the table; assigns and returns its id.
    Peer& add(Peer peer);
    void remove(PeerId id);
    // Moves a peer to a new endpoint that no other peer holds.
    void move(Peer& peer, const proto::Endpoint& to);

    std::size_t size() const { return peers_.size(); }
    std::size_t plaintext_count() const { return plaintext_count_; }
    const std::map<std::string, PeerId, std::less<>>& by_name() const { return by_name_; }
    template <typename F> void for_each(F&& f) {
        for (auto& [id, peer] : peers_)
            f(peer);
    }

  private:
    std::unordered_map<PeerId, Peer> peers_;
    std::unordered_map<proto::Endpoint, PeerId, proto::EndpointHash> by_endpoint_;
    std::map<std::string, PeerId, std::less<>> by_name_;
    PeerId next_id_ = 1;
    std::size_t plaintext_count_ = 0;
};

} // namespace chat::rdv
