// Rooms; see rooms.hpp.
#include "rooms.hpp"

#include "proto/limits.hpp"

namespace chat::rdv {

Rooms::Rooms() {
    rooms_.emplace(proto::kLobby, Room{});
}

Room* Rooms::find(std::string_view name) {
    auto it = rooms_.find(name);
    return it == rooms_.end() ? nullptr : &it->second;
}

bool Rooms::add_member(const std::string& name, PeerId id) {
    return rooms_[name].members.insert(id).second;
}

bool Rooms::remove_member(std::string_view name, PeerId id) {
    auto it = rooms_.find(name);
    if (it == rooms_.end() || it->second.members.erase(id) == 0)
        return false;
    if (it->second.members.empty() && it->first != proto::kLobby)
        rooms_.erase(it);
    return true;
}

} // namespace chat::rdv
