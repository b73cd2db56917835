// Rooms; see rooms.hpp.
#include "rooms.hpp"

#include "proto/limits.hpp"

namespace chat::rdv {

Rooms::Rooms() {
    rooms_.emplace(proto::kLobby, Room{proto::kLobby, {}, {}});
}

Room* Rooms::find(std::string_view name) {
    auto it = rooms_.find(name);
    return it == rooms_.end() ? nullptr : &it->second;
}

Room& Rooms::add_member(std::string_view name, PeerId id) {
    auto it = rooms_.find(name);
    if (it == rooms_.end())
        it = rooms_.emplace(std::string(name), Room{std::string(name), {}, {}}).first;
    it->second.members.insert(id);
    return it->second;
}

bool Rooms::remove_member(Room& room, PeerId id) {
    room.members.erase(id);
    if (!room.members.empty() || room.name == proto::kLobby)
        return true;
    rooms_.erase(rooms_.find(room.name)); // by iterator: room.name dies with the node
    return false;
}

} // namespace chat::rdv
