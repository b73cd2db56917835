// Bytes in, values out, and back: no sockets, timers or printing here.
// decode() is the only place a datagram becomes a Message. It runs the cheapest checks
// first (size, the exact heartbeat, UTF-8, a leading '{'), then parses JSON with exceptions
// off and checks every field's type and limits. It never throws.
#pragma once

#include "drop_reason.hpp"
#include "limits.hpp"
#include "message.hpp"

#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace chat::proto {

struct DecodeError {
    DropReason reason;
    std::string detail; // which field or rule, for a debug log line
};

using DecodeResult = std::variant<Message, DecodeError>;

DecodeResult decode(std::string_view datagram);
inline DecodeResult decode(std::span<const std::byte> datagram) {
    return decode(
        std::string_view(reinterpret_cast<const char*>(datagram.data()), datagram.size()));
}

namespace detail {
// decode() without its shortcut for a got written as encode() writes it: every datagram
// must get the same answer from both (the unit tests and the decode fuzzer check this).
DecodeResult decode_without_shortcuts(std::string_view datagram);
} // namespace detail

// Encodes a message built from valid values. Hello is padded to kMinHelloSize. The result
// can exceed kMaxDatagram only if the caller broke a documented limit; fits_datagram checks.
std::string encode(const Message& m);
inline bool fits_datagram(std::string_view bytes) {
    return bytes.size() <= kMaxDatagram;
}

} // namespace chat::proto
