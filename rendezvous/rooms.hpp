// Rooms and their members. `lobby` always exists; any other room is deleted when its last
// member leaves. Sorted by name so room lists page in a stable order. Members are an IdSet
// (a flat hash set, ~10 bytes a member: the lobby holds every peer). A Room stays at one
// address while it exists, so a peer keeps pointers to its rooms (Peer::rooms) rather than
// their names. Limits (rooms on the server, members per room) are checked by the caller,
// which knows what error to send.
#pragma once

#include "id_set.hpp"
#include "peer_id.hpp"

#include "proto/endpoint.hpp"

#include <map>
#include <string>
#include <string_view>

namespace chat::rdv {

struct Room {
    std::string name; // a valid room name; the same as its key in Rooms
    IdSet members;
    proto::Endpoint creator; // whose network's share of rooms it counts in (NetLimits)
};

class Rooms {
  public:
    Rooms();
    Room* find(std::string_view name);
    bool exists(std::string_view name) const { return rooms_.find(name) != rooms_.end(); }
    // Adds `id` to `name`, creating the room, and returns the room.
    Room& add_member(std::string_view name, PeerId id);
    // Removes `id` from `room` and deletes the room if that left it empty (unless it is the
    // lobby). True if the room is still there; false if it is gone, and `room` with it.
    bool remove_member(Room& room, PeerId id);
    std::size_t size() const { return rooms_.size(); }
    const std::map<std::string, Room, std::less<>>& all() const { return rooms_; }

  private:
    std::map<std::string, Room, std::less<>> rooms_;
};

} // namespace chat::rdv
