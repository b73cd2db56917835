// Shares of the server's tables per source network, so that one host, or one network,
// cannot take what everyone shares: sessions, rooms it created that still exist, and room
// memberships beyond the lobby. Each is counted at two levels: the host (an IPv4 /32, an
// IPv6 /64, the block one subscriber usually gets) and the network around it (IPv4 /24,
// IPv6 /48). The defaults are generous enough for a campus NAT with a thousand users behind
// one address. Counts exist only for networks that hold something (at most two entries per
// session), under a keyed hash: the keys are the attacker's choice.
#pragma once

#include "keyed_hash.hpp"

#include "proto/endpoint.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>

namespace chat::rdv {

enum class NetResource : std::uint8_t { Sessions, Rooms, Joins };

struct NetCaps {
    std::uint32_t sessions_per_host = 1'000;
    std::uint32_t sessions_per_net = 4'000;
    std::uint32_t rooms_per_host = 100;
    std::uint32_t rooms_per_net = 400;
    std::uint32_t joins_per_host = 4'000;
    std::uint32_t joins_per_net = 16'000;
};

class NetLimits {
  public:
    enum class Level : std::uint8_t { Host, Net };

    NetLimits(const NetCaps& caps, KeyedHash hash) : caps_(caps), counts_(16, Hasher{hash}) {}

    // The level at its cap for `n` more of `r` from `e`'s networks, or nullopt if both have
    // room. The host level is checked first.
    std::optional<Level> full(const proto::Endpoint& e, NetResource r, std::uint32_t n = 1) const;
    void add(const proto::Endpoint& e, NetResource r, std::uint32_t n = 1);
    void remove(const proto::Endpoint& e, NetResource r, std::uint32_t n = 1);
    // What `e`'s network at `level` holds of `r` (for tests and stats).
    std::uint32_t count(const proto::Endpoint& e, Level level, NetResource r) const;
    std::uint32_t cap(Level level, NetResource r) const;
    std::size_t networks() const { return counts_.size(); }

    // "/32", "/24", "/64" or "/48": the prefix `level` stands for with `e`'s family.
    static std::string_view prefix_text(const proto::Endpoint& e, Level level);

  private:
    struct Key {
        std::array<std::uint8_t, 8> prefix{}; // the address's first 3, 4, 6 or 8 bytes
        std::uint8_t kind = 0;                // family and level, so no two kinds collide
        friend bool operator==(const Key&, const Key&) = default;
    };
    struct Hasher {
        KeyedHash hash;
        std::size_t operator()(const Key& k) const;
    };
    struct Counts {
        std::array<std::uint32_t, 3> n{}; // indexed by NetResource
    };
    static Key key(const proto::Endpoint& e, Level level);

    NetCaps caps_;
    std::unordered_map<Key, Counts, Hasher> counts_;
};

} // namespace chat::rdv
