// What the peer core hands back: datagrams for the rendezvous and UiEvents for the screen.
// A UiEvent is a fact ("bob said hi in dev", "the server is gone"), never text: render.cpp
// turns it into a line for a person or a JSON object for a program (peer/JSON_EVENTS.md),
// so the TTY UI, the pipe mode and --json all show the same things.
#pragma once

#include "direct_path.hpp"

#include "proto/endpoint.hpp"
#include "proto/message.hpp"
#include "proto/time.hpp"

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace chat::peer {

struct Datagram {
    proto::Endpoint to;
    std::string bytes; // <= proto::kMaxDatagram
};

// Where plain text goes.
struct Target {
    enum class Kind { None, Room, Direct };
    Kind kind = Kind::None;
    std::string name; // the room, or the peer's name
    friend bool operator==(const Target&, const Target&) = default;
};

enum class ConnectionState { Connecting, Online, Reconnecting, Closed };

namespace ui {
struct Message { // a line in a room
    std::string room;
    std::string from; // a name, or a legacy client's "ip:port"
    std::string text;
    bool self = false;   // our own line, echoed
    bool queued = false; // ours, typed while the server is unreachable: sent when it is back
    bool late = false;   // shown after later lines: it was missing for too long
};
struct Direct { // a direct message
    std::string from;
    std::vector<std::string> to; // every recipient
    std::string text;
    bool self = false;
    bool relayed = true; // through the rendezvous, else peer to peer over the direct path
    bool queued = false;
    bool late = false;
};
struct Joined {
    std::string room;
    std::string name;
    std::optional<std::string> by; // set when /create added `name`
    bool self = false;
};
struct Left {
    std::string room;
    std::string name;
    proto::LeaveReason reason;
    bool self = false;
};
struct RoomList { // the answer to /rooms, every page
    std::vector<proto::RoomInfo> rooms;
    std::uint32_t total = 0;
};
struct UserList { // the answer to /users
    std::optional<std::string> room;
    std::vector<std::string> users;
    std::uint32_t total = 0;
};
struct PeerPath { // one /connect-ed peer, for /status
    std::string name;
    PathState state = PathState::Relayed;
    std::optional<proto::Endpoint> via; // the direct path's remote endpoint
    std::optional<Duration> rtt;        // smoothed, over the direct path
    std::optional<Duration> since_last; // since the last datagram on the direct path
};
struct Status {
    std::string name;
    proto::Endpoint server;
    std::optional<proto::Endpoint> public_endpoint;
    std::optional<Duration> rtt; // smoothed
    std::vector<std::string> rooms;
    Target target;
    ConnectionState state = ConnectionState::Connecting;
    std::vector<PeerPath> peers; // every peer we have a path (or relay) to
};
struct Connection { // registered, lost, back
    ConnectionState state;
    std::string text; // for a person
};
struct PeerFound { // the rendezvous introduced a peer (after /connect, ours or theirs)
    std::string name;
    proto::Endpoint public_endpoint;
    std::vector<proto::Endpoint> private_endpoints;
    bool initiator = false; // true when we sent /connect
};
struct PathChanged { // hole punching started, a direct path is up, or we are relayed
    std::string peer;
    PathState state;
    std::optional<proto::Endpoint> via;
    std::optional<Duration> rtt;
    std::string reason; // why relayed
};
struct TargetChanged {
    Target target;
};
struct Delivered {                   // one of our lines is acknowledged: every recipient has it
    std::optional<std::string> room; // a room line
    std::vector<std::string> to;     // a direct line's recipients
    std::string text;
    bool queued = false; // it had waited for the server: the terminal says it went out
};
struct Info { // help lines, results of commands
    std::string text;
};
struct Error {        // a refused command or request; the client carries on
    std::string code; // a server error code ("no_such_room") or ours ("usage", "offline",
                      // "no_answer", "not_delivered", "no_room", "name_taken")
    std::string text;
    // For a chat line that was not delivered (or refused): which line, and to where.
    std::optional<std::string> line = std::nullopt;
    std::optional<std::string> room = std::nullopt;
    std::vector<std::string> to = {};
};
struct Fatal { // the client cannot start: the shell prints it and exits 1
    std::string text;
};
struct Quit {}; // the user asked to leave: the shell exits 0
} // namespace ui

using UiEvent =
    std::variant<ui::Message, ui::Direct, ui::Joined, ui::Left, ui::RoomList, ui::UserList,
                 ui::Status, ui::Connection, ui::PeerFound, ui::PathChanged, ui::TargetChanged,
                 ui::Delivered, ui::Info, ui::Error, ui::Fatal, ui::Quit>;

struct Outbox {
    std::vector<Datagram> datagrams;
    std::vector<UiEvent> events;
};

} // namespace chat::peer
