// Registered peers, indexed three ways: by id (the record), by source endpoint (every
// datagram's first lookup) and by name (unique among live peers; sorted, so user lists
// page in order). Plain-text clients live here too, named by their "ip:port".
//
// Memory is the point of this layout (issue 7: at most 200 bytes per registered peer, where
// three node-based maps and a record full of heap strings took ~650). Records (128 bytes)
// sit in a slab of fixed-size chunks: they never move, so a Peer& stays valid while the peer
// is registered, and a PeerId names its slot (peer_id.hpp), so the id lookup is an array
// index. The endpoint and name indexes hold 4-byte slots, never copies of their keys
// (slot_index.hpp, ~10 bytes a peer; name_index.hpp, ~5). A freed slot is reused, newest
// first, under its next generation.
#pragma once

#include "keyed_hash.hpp"
#include "name_index.hpp"
#include "peer_id.hpp"
#include "rate_limit.hpp"
#include "rooms.hpp"
#include "session_token.hpp"
#include "slot_index.hpp"
#include "small_vector.hpp"

#include "proto/endpoint.hpp"
#include "proto/message.hpp"
#include "proto/time.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chat::rdv {

// A peer's LAN candidates (<= kMaxPrivateEndpoints): on the heap only when there are any,
// as most peers have none (8 bytes then, where a std::vector takes 24).
class PrivateEndpoints {
  public:
    PrivateEndpoints& operator=(const std::vector<proto::Endpoint>& list) {
        list_ = list.empty() ? nullptr : std::make_unique<std::vector<proto::Endpoint>>(list);
        return *this;
    }
    const std::vector<proto::Endpoint>& list() const { return list_ ? *list_ : kNone; }
    std::size_t size() const { return list_ ? list_->size() : 0; }

  private:
    static inline const std::vector<proto::Endpoint> kNone;
    std::unique_ptr<std::vector<proto::Endpoint>> list_;
};

// A session's last create that succeeded: a resend of it (same id and room, the ok was lost)
// gets the same ok again instead of room_exists. On the heap, as few peers ever create a room
// (8 bytes in every record, where the ok and the room name inline would take ~80).
struct LastCreate {
    proto::Ok ok;
    std::string room;
};

struct Peer {
    // First, together: what a fan-out reads of each member (and a datagram's lookup of its
    // source compares), so that is one cache line of the record, not three.
    PeerId id = 0;            // 0 while the slot is free
    proto::Endpoint endpoint; // where it is now (moves on migration)
    bool plaintext = false;
    SessionToken token;                 // empty for a plain-text client
    std::string name;                   // a valid name (up to 15 bytes stay inline), or
                                        // "ip:port" for a plain-text client
    PrivateEndpoints private_endpoints; // <= kMaxPrivateEndpoints
    SmallVector<Room*, 1> rooms;        // rooms joined, <= ServerConfig::max_rooms_per_peer
    TokenBucket inbound;                // datagrams it may send (at the session rate)
    Time last_heard{};
    // One per session: a peer waits for each answer. Null until its first created room.
    std::unique_ptr<LastCreate> last_create;

    // The joined room called `room`, or nullptr.
    Room* room(std::string_view room) const;
    bool in_room(std::string_view room) const { return this->room(room) != nullptr; }
};

class PeerTable {
  public:
    PeerTable() = default;
    explicit PeerTable(const KeyedHash& hash) : hash_(hash) {}
    PeerTable(const PeerTable&) = delete;
    PeerTable& operator=(const PeerTable&) = delete;

    Peer* find(PeerId id);
    Peer* find_by_endpoint(const proto::Endpoint& e);
    Peer* find_by_name(std::string_view name);
    // Adds a peer whose name and endpoint are not in the table; assigns and returns its id.
    Peer& add(Peer peer);
    void remove(PeerId id);
    // Moves a peer to a new endpoint that no other peer holds.
    void move(Peer& peer, const proto::Endpoint& to);

    std::size_t size() const { return by_endpoint_.size(); }
    std::size_t plaintext_count() const { return plaintext_count_; }
    // Every peer, in no particular order.
    template <typename F> void for_each(F&& f) {
        for (std::uint32_t s = 0; s < slots_used_; ++s)
            if (Peer& p = at(s); p.id != 0)
                f(p);
    }
    // Peers in name order from the `from`-th on, while visit(const Peer&) returns true.
    template <typename F> void visit_by_name(std::size_t from, F&& visit) {
        by_name_.visit_from(from, [&](std::uint32_t s) { return visit(std::as_const(at(s))); });
    }

  private:
    static constexpr std::uint32_t kChunk = 512; // peers per slab chunk: ~70 KB

    Peer& at(std::uint32_t slot) { return chunks_[slot / kChunk][slot % kChunk]; }
    std::string_view name_at(std::uint32_t slot) { return at(slot).name; }
    std::uint64_t hash(const proto::Endpoint& e) const { return hash_(e); } // keyed: see below

    // Every datagram's first lookup hashes its source: keyed, so no sender can choose
    // sources that collide (SipHash on 19 bytes, ~20 ns).
    KeyedHash hash_;
    std::vector<std::unique_ptr<Peer[]>> chunks_;
    std::uint32_t slots_used_ = 0; // slots [0, slots_used_) have held a peer
    // Free slots and the generation each gets next, the last freed at the back.
    std::vector<std::pair<std::uint32_t, std::uint32_t>> free_;
    SlotIndex by_endpoint_;
    NameIndex by_name_;
    std::size_t plaintext_count_ = 0;
};

} // namespace chat::rdv
