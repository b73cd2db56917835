// NetLimits; see net_limits.hpp.
#include "net_limits.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace chat::rdv {

std::size_t NetLimits::Hasher::operator()(const Key& k) const {
    std::array<unsigned char, 9> b{};
    std::memcpy(b.data(), k.prefix.data(), 8);
    b[8] = k.kind;
    return static_cast<std::size_t>(hash(std::span<const unsigned char>(b)));
}

NetLimits::Key NetLimits::key(const proto::Endpoint& e, Level level) {
    Key k;
    const std::size_t bytes = e.is_v6() ? (level == Level::Host ? 8 : 6)   // /64, /48
                                        : (level == Level::Host ? 4 : 3);  // /32, /24
    std::memcpy(k.prefix.data(), e.bytes().data(), bytes);
    k.kind = static_cast<std::uint8_t>((e.is_v6() ? 2 : 0) + (level == Level::Host ? 0 : 1));
    return k;
}

std::string_view NetLimits::prefix_text(const proto::Endpoint& e, Level level) {
    if (e.is_v6())
        return level == Level::Host ? "/64" : "/48";
    return level == Level::Host ? "/32" : "/24";
}

std::uint32_t NetLimits::cap(Level level, NetResource r) const {
    const bool host = level == Level::Host;
    switch (r) {
    case NetResource::Sessions:
        return host ? caps_.sessions_per_host : caps_.sessions_per_net;
    case NetResource::Rooms:
        return host ? caps_.rooms_per_host : caps_.rooms_per_net;
    case NetResource::Joins:
        return host ? caps_.joins_per_host : caps_.joins_per_net;
    }
    return 0;
}

std::uint32_t NetLimits::count(const proto::Endpoint& e, Level level, NetResource r) const {
    const auto it = counts_.find(key(e, level));
    return it == counts_.end() ? 0 : it->second.n[static_cast<std::size_t>(r)];
}

std::optional<NetLimits::Level> NetLimits::full(const proto::Endpoint& e, NetResource r,
                                                std::uint32_t n) const {
    for (const Level level : {Level::Host, Level::Net})
        if (count(e, level, r) + n > cap(level, r))
            return level;
    return std::nullopt;
}

void NetLimits::add(const proto::Endpoint& e, NetResource r, std::uint32_t n) {
    if (n == 0)
        return;
    for (const Level level : {Level::Host, Level::Net})
        counts_[key(e, level)].n[static_cast<std::size_t>(r)] += n;
}

void NetLimits::remove(const proto::Endpoint& e, NetResource r, std::uint32_t n) {
    if (n == 0)
        return;
    for (const Level level : {Level::Host, Level::Net}) {
        const auto it = counts_.find(key(e, level));
        assert(it != counts_.end());
        if (it == counts_.end())
            continue;
        auto& c = it->second.n[static_cast<std::size_t>(r)];
        assert(c >= n);
        c -= std::min(c, n);
        if (std::all_of(it->second.n.begin(), it->second.n.end(),
                        [](std::uint32_t v) { return v == 0; }))
            counts_.erase(it);
    }
}

} // namespace chat::rdv
