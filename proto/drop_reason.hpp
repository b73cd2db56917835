// Why a datagram was dropped, counted per reason so a stats line tells a flood from a bug
// from an old client. The codec and both cores share this one enum.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace chat::proto {

enum class DropReason : std::uint8_t {
    Oversize,       // codec: more than kMaxDatagram bytes
    Empty,          // codec: zero bytes
    NotUtf8,        // codec: not valid UTF-8
    BadJson,        // codec: starts with '{' but is not one JSON object
    BadVersion,     // codec: "v" missing or not ours
    UnknownType,    // codec: a "t" we do not know (a newer client?)
    BadField,       // codec: a field missing, of the wrong type, or out of its limits
    ShortHello,     // codec: hello not padded to kMinHelloSize (anti-amplification)
    NotRegistered,  // core: no session at this address
    BadToken,       // core: the token does not match the session at this address
    BadHeartbeat,   // core: a #ping# whose tag is not the session's at this address
    RateLimited,    // core: the source is over its budget
    PlaintextOff,   // core: a plain-text datagram while --allow-plaintext is off
    TableFull,      // core: no room for another peer or plain-text client
    WrongDirection, // core: a message only the other side sends (a reflected datagram?)
    Count           // keep last: sizes the counters
};

std::string_view name(DropReason r); // stable snake_case word for logs and stats

class DropCounters {
  public:
    void add(DropReason r) { ++n_[static_cast<std::size_t>(r)]; }
    std::uint64_t operator[](DropReason r) const { return n_[static_cast<std::size_t>(r)]; }
    std::uint64_t total() const;

  private:
    std::array<std::uint64_t, static_cast<std::size_t>(DropReason::Count)> n_{};
};

} // namespace chat::proto
