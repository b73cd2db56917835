// Rooms and their members. `lobby` always exists; any other room is deleted when its last
// member leaves. Sorted by name so room lists page in a stable order. Limits (rooms on the
// server, members per room) are checked by the caller, which knows what error to send.
#pragma once

#include "expiry_index.hpp"

#include <map>
#include <string>
#include <unordered_set>

namespace chat::rdv {

struct Room {
    std::unordered_set<PeerId> members;
};

class Rooms {
  public:
    Rooms();
    Room* find(std::string_view name);
    bool exists(std::string_view name) const { return rooms_.find(name) != rooms_.end(); }
    // Adds `id` to `name`, creating the room; true if it was not a member before.
    bool add_member(const std::string& name, PeerId id);
    // Removes `id`; deletes the room if it is empty and not the lobby. True if it was a member.
    bool remove_member(std::string_view name, PeerId id);
    std::size_t size() const { return rooms_.size(); }
    const std::map<std::string, Room, std::less<>>& all() const { return rooms_; }

  private:
    std::map<std::string, Room, std::less<>> rooms_;
};

} // namespace chat::rdv
