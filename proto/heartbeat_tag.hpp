// The tag that follows "#ping#" in a session's heartbeat. Both sides derive it from the
// session token, so a #ping# forged from a session's address (its sender cannot see the
// token) refreshes nothing, and the tag does not reveal the token to anyone who sees it.
// SipHash-2-4 (libsodium's crypto_shorthash) keyed with the token's 16 bytes, over a fixed
// label: the token is a uniformly random 128-bit key, which is exactly what a PRF needs.
#pragma once

#include <string>
#include <string_view>

namespace chat::proto {

// What the tag is a MAC of: part of the wire protocol.
inline constexpr std::string_view kHeartbeatTagLabel = "udpchat heartbeat";

// kHeartbeatTagHexChars lowercase hex digits for a token of kTokenHexChars lowercase hex
// digits; the empty string for anything else (no valid session has such a token).
std::string heartbeat_tag(std::string_view token_hex);

} // namespace chat::proto
