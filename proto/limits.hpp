// Protocol and implementation limits. Protocol constants: changing one means changing
// proto/PROTOCOL.md, because both programs must agree. Implementation constants are ours
// to tune and live beside the code they bound when only one side uses them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace chat::proto {

using namespace std::chrono_literals;

// ---- Protocol constants ----
inline constexpr std::uint32_t kProtocolVersion = 1;

// One message per datagram. 1200 bytes fits IPv6's 1280-byte minimum MTU with the 40-byte
// IPv6 header and 8-byte UDP header to spare, so no message is ever fragmented.
inline constexpr std::size_t kMaxDatagram = 1200;

// The heartbeat of the classic UDP chat room: exactly these six bytes, no JSON.
inline constexpr char kPing[] = "#ping#";
inline constexpr char kPong[] = "#pong#";
// The answer to a #ping# from an address without a session (the server restarted, or evicted
// us): "register again". Six bytes, no larger than the ping, so it amplifies nothing.
inline constexpr char kWhoAreYou[] = "#who?#";
// A session's heartbeat is kPing followed by this many lowercase hex digits: a tag derived
// from the session token (heartbeat_tag.hpp), so only the session's owner can keep it alive.
// A bare kPing is the legacy plain-text client's heartbeat.
inline constexpr std::size_t kHeartbeatTagHexChars = 16;

inline constexpr auto kHeartbeatEvery = std::chrono::milliseconds{5s}; // sent by every peer
inline constexpr auto kEvictAfter = 2 * kHeartbeatEvery; // two heartbeats missed in a row

// A hello must be padded to at least this size: the welcome (or error) it earns is never
// larger, so a spoofed source address gains no amplification (the QUIC Initial rule).
inline constexpr std::size_t kMinHelloSize = 256;

inline constexpr std::size_t kMaxNameBytes = 32;       // user and room names: [A-Za-z0-9_.-]
inline constexpr std::size_t kMaxTextBytes = 500;      // UTF-8 bytes of one chat line; JSON
                                                       // escaping at most doubles it, which
                                                       // still fits kMaxDatagram with headers
inline constexpr std::size_t kMaxPrivateEndpoints = 4; // LAN candidates in a hello
inline constexpr std::size_t kMaxRecipients = 16;      // names in one /msg or /create
inline constexpr std::size_t kTokenHexChars = 32;      // 128-bit session token, hex
inline constexpr std::size_t kNonceHexChars = 32;      // 128-bit punch nonce, hex
inline constexpr std::size_t kCookieHexChars = 32;     // 128-bit address-validation MAC, hex
inline constexpr std::size_t kInstHexChars = 8;        // an author process's id in a Stamp:
                                                       // 32 random bits tell restarts apart
inline constexpr std::size_t kMaxAcksPerGot = 32;      // delivery ids acked in one `got`
// A say/dm must encode to at most kMaxDatagram - kRelayHeadroom bytes: relaying swaps its
// "tok" and "id" for "from" and "d", which can add a few bytes, and the msg must still fit.
inline constexpr std::size_t kRelayHeadroom = 64;
inline constexpr std::size_t kMaxErrorTextBytes = 160; // human text in an error
inline constexpr std::size_t kMaxListEntries = 40;     // names per room/user list page:
                                                       // 40 * (32 + 3 + count) < 1200

inline constexpr char kLobby[] = "lobby"; // every peer starts here

} // namespace chat::proto
