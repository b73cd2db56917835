// Every message of the wire protocol as a plain struct, and Message, their variant.
// Values here are already validated: the codec is the only place bytes become these, and it
// checks each field against the limit written beside it. See proto/PROTOCOL.md.
#pragma once

#include "endpoint.hpp"
#include "time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace chat::proto {

using Token = std::string;        // session token: kTokenHexChars lowercase hex
using RequestId = std::uint32_t;  // chosen by the peer, echoed in the reply
using DeliveryId = std::uint32_t; // chosen by the server per member, echoed in `got`

// The end-to-end identity of a chat line, set by its author and carried unchanged on every
// path (say -> msg, dm -> dm_msg, p2p_msg), so a receiver shows each line once and in order
// whichever way and however often it arrived. A stream is one room, or one set of direct
// recipients; see "Reliable delivery" in PROTOCOL.md.
struct Stamp {
    std::string inst;     // kInstHexChars lowercase hex, random per author process
    std::uint32_t n = 0;  // the line's number in its stream, from 1
    std::uint32_t lo = 0; // every n below this is settled: never wait for one
    friend bool operator==(const Stamp&, const Stamp&) = default;
};

// ---- Not JSON ----
struct Ping {         // "#ping#", then a session's tag (none from a legacy client)
    static constexpr std::string_view kType = "#ping#";
    std::string tag;  // empty, or kHeartbeatTagHexChars lowercase hex (heartbeat_tag.hpp)
};
struct Pong { // exactly "#pong#"
    static constexpr std::string_view kType = "#pong#";
};
struct WhoAreYou { // exactly "#who?#": no session here for the address that pinged
    static constexpr std::string_view kType = "#who?#";
};
struct PlainText {    // a legacy client's line: valid text, CR/LF stripped
    static constexpr std::string_view kType = "plain";
    std::string text; // 1..kMaxTextBytes, no control characters but tab
};

// ---- Peer -> server ----
struct Hello {
    static constexpr std::string_view kType = "hello";
    std::string name;                        // valid name
    std::vector<Endpoint> private_endpoints; // 0..kMaxPrivateEndpoints LAN candidates
    std::optional<Token> token;              // to resume a session (migration)
    std::optional<std::string> cookie = std::nullopt; // kCookieHexChars hex, from a Retry
};
struct Bye {
    static constexpr std::string_view kType = "bye";
    Token token;
};
struct Join {
    static constexpr std::string_view kType = "join";
    Token token;
    RequestId id;
    std::string room;
}; // creates it if needed
struct Leave {
    static constexpr std::string_view kType = "leave";
    Token token;
    RequestId id;
    std::string room;
};
struct ListRooms {
    static constexpr std::string_view kType = "rooms";
    Token token;
    RequestId id;
    std::uint32_t offset = 0;
};
struct ListUsers {
    static constexpr std::string_view kType = "users";
    Token token;
    RequestId id;
    std::optional<std::string> room; // absent: everyone online
    std::uint32_t offset = 0;
};
struct CreateRoom {
    static constexpr std::string_view kType = "create";
    Token token;
    RequestId id;
    std::string room;                 // must not exist yet
    std::vector<std::string> members; // 0..kMaxRecipients names to add
};
struct Say {
    static constexpr std::string_view kType = "say";
    Token token;
    RequestId id; // acked by ok{id} once the server has taken the line; resent until then
    std::string room;
    std::string text;
    std::optional<Stamp> stamp = std::nullopt; // this version always sends one
};
struct Direct {
    static constexpr std::string_view kType = "dm";
    Token token;
    RequestId id;
    std::vector<std::string> to; // 1..kMaxRecipients distinct names
    std::string text;
    std::optional<Stamp> stamp = std::nullopt;
};
struct Connect {
    static constexpr std::string_view kType = "connect";
    Token token;
    RequestId id;
    std::string name;
};
struct Got { // a member acknowledges msg/dm_msg/peer deliveries (selectively, any order)
    static constexpr std::string_view kType = "got";
    Token token;
    std::vector<DeliveryId> d; // 1..kMaxAcksPerGot
};

// ---- Server -> peer ----
// The answer to a hello from an address that has not yet shown it receives our datagrams:
// send the same hello again with this cookie. Stateless on the server (see PROTOCOL.md).
struct Retry {
    static constexpr std::string_view kType = "retry";
    std::string cookie; // kCookieHexChars lowercase hex
};
struct Welcome {
    static constexpr std::string_view kType = "welcome";
    std::string name;
    Endpoint public_endpoint; // the source address the server saw
    Token token;
    Duration heartbeat; // send #ping# at least this often
    Duration timeout;   // silent this long and you are evicted
};
struct Ok {
    static constexpr std::string_view kType = "ok";
    RequestId id;
    std::vector<std::string> unknown; // names that were not online (direct, create)
    // say/dm only: the server has the line and is still delivering it; stop resending, wait
    // for the final ok (taken == false). Lets the author time its resends on the hop alone.
    bool taken = false;
};
enum class ErrorCode : std::uint8_t {
    NameTaken,    // hello: another live peer holds the name
    NoSession,    // the server has no session for this token/address: send hello again
    NoSuchRoom,   // leave/users/say: the room does not exist
    NotInRoom,    // leave/say: you are not a member
    NoSuchUser,   // direct/connect: nobody online by that name
    RoomExists,   // create: the room already exists
    RoomFull,     // join/create: members per room at its limit
    TooManyRooms, // join/create: the server or the peer is at its room limit
    ServerFull,   // hello: peer table at --max-peers
    RateLimited,  // slow down
    BadRequest,   // a request that cannot apply (e.g. connect to yourself)
    NetworkLimit, // hello/join/create: the sender's network holds its share of a table
};
struct Error {
    static constexpr std::string_view kType = "error";
    std::optional<RequestId> id; // absent when not answering a request
    ErrorCode code;
    std::string text; // for a person; 0..kMaxErrorTextBytes, valid UTF-8
};
struct RoomInfo {
    std::string name;
    std::uint32_t members = 0;
    friend bool operator==(const RoomInfo&, const RoomInfo&) = default;
};
struct RoomList {
    static constexpr std::string_view kType = "room_list";
    RequestId id;
    std::vector<RoomInfo> rooms;       // 0..kMaxListEntries, sorted by name
    std::uint32_t total = 0;           // rooms on the server
    std::optional<std::uint32_t> next; // offset of the next page, if any
};
struct UserList {
    static constexpr std::string_view kType = "user_list";
    RequestId id;
    std::optional<std::string> room;
    std::vector<std::string> users; // 0..kMaxListEntries senders, sorted
    std::uint32_t total = 0;
    std::optional<std::uint32_t> next;
};
struct RoomMessage {
    static constexpr std::string_view kType = "msg";
    std::string room;
    std::string from; // a name, or a legacy client's "ip:port"
    std::string text;
    std::optional<Stamp> stamp = std::nullopt;  // as the author sent it (none from legacy text)
    std::optional<DeliveryId> d = std::nullopt; // present: ack it with `got`; resent until then
};
struct DirectMessage {
    static constexpr std::string_view kType = "dm_msg";
    std::string from;
    std::vector<std::string> to; // every recipient, so a group reply is possible
    std::string text;
    std::optional<Stamp> stamp = std::nullopt;
    std::optional<DeliveryId> d = std::nullopt;
};
struct MemberJoined {
    static constexpr std::string_view kType = "joined";
    std::string room;
    std::string name;              // who joined (a sender)
    std::optional<std::string> by; // set when `name` was added by /create
};
enum class LeaveReason : std::uint8_t { Left, Quit, Timeout };
struct MemberLeft {
    static constexpr std::string_view kType = "left";
    std::string room;
    std::string name;
    LeaveReason reason;
};
struct PeerInfo {
    static constexpr std::string_view kType = "peer";
    std::string name;
    Endpoint public_endpoint;
    std::vector<Endpoint> private_endpoints; // 0..kMaxPrivateEndpoints
    std::string nonce;                       // kNonceHexChars, shared by both sides
    bool initiator = false;                  // true at the side that sent connect
    // Present (to the target only): ack it with `got`; resent until then, like a chat line.
    std::optional<DeliveryId> d = std::nullopt;
};
struct Shutdown { // the server is going away
    static constexpr std::string_view kType = "shutdown";
};

// ---- Peer -> peer (hole punching and the direct path) ----
// Every one carries the nonce from the `peer` exchange: a datagram without the right nonce
// did not come from the peer the rendezvous introduced, and is ignored.
struct Probe {
    static constexpr std::string_view kType = "probe";
    std::string from;  // the sender's name
    std::string nonce; // kNonceHexChars
    std::uint32_t seq; // echoed in the ack: RTT and which candidate answered
};
struct ProbeAck {
    static constexpr std::string_view kType = "probe_ack";
    std::string from;
    std::string nonce;
    std::uint32_t seq;
    Endpoint seen; // the source the probe arrived from: the prober's address as seen here
};
struct PeerText { // a chat line sent over the direct path
    static constexpr std::string_view kType = "p2p_msg";
    std::string from;
    std::string nonce;
    std::uint32_t id;                          // per-sender, acked by PeerAck
    std::string text;                          // valid text
    std::optional<Stamp> stamp = std::nullopt; // the same line relayed as a dm carries it too
};
struct PeerAck {
    static constexpr std::string_view kType = "p2p_ack";
    std::string nonce;
    std::uint32_t id;
};

using Message = std::variant<Ping, Pong, WhoAreYou, PlainText, Hello, Bye, Join, Leave, ListRooms,
                             ListUsers, CreateRoom, Say, Direct, Connect, Got, Retry, Welcome, Ok, Error,
                             RoomList, UserList, RoomMessage, DirectMessage, MemberJoined,
                             MemberLeft, PeerInfo, Shutdown, Probe, ProbeAck, PeerText, PeerAck>;

// Wire names, for logs and for PROTOCOL.md.
std::string_view wire_name(ErrorCode c);
std::optional<ErrorCode> parse_error_code(std::string_view s);
std::vector<ErrorCode> all_error_codes(); // every enumerator, in order (for tests and docs)
std::string_view wire_name(LeaveReason r);
std::optional<LeaveReason> parse_leave_reason(std::string_view s);
std::string_view type_name(const Message& m); // "hello", "#ping#", "plain", ...

} // namespace chat::proto
