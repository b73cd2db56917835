// Endpoint parsing and printing with inet_pton/inet_ntop; see endpoint.hpp.
#include "endpoint.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

namespace chat::proto {
namespace {

constexpr std::array<std::uint8_t, 12> kV4MappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

std::optional<std::uint16_t> parse_port(std::string_view text) {
    if (text.empty() || text.size() > 5)
        return std::nullopt;
    unsigned value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || ptr != text.data() + text.size() || value > 65535)
        return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

} // namespace

Endpoint Endpoint::v4(std::array<std::uint8_t, 4> addr, std::uint16_t port) {
    Endpoint e;
    std::memcpy(e.addr_.data(), addr.data(), 4);
    e.port_ = port;
    return e;
}

Endpoint Endpoint::v6(const std::array<std::uint8_t, 16>& addr, std::uint16_t port) {
    if (std::memcmp(addr.data(), kV4MappedPrefix.data(), kV4MappedPrefix.size()) == 0)
        return v4({addr[12], addr[13], addr[14], addr[15]}, port);
    Endpoint e;
    e.addr_ = addr;
    e.port_ = port;
    e.is_v6_ = true;
    return e;
}

std::optional<Endpoint> Endpoint::parse(std::string_view text) {
    if (text.size() > 64)
        return std::nullopt;
    std::string host;
    std::string_view port_text;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return std::nullopt;
        host = std::string(text.substr(1, close - 1));
        port_text = text.substr(close + 2);
        std::array<std::uint8_t, 16> a{};
        const auto port = parse_port(port_text);
        if (!port || inet_pton(AF_INET6, host.c_str(), a.data()) != 1)
            return std::nullopt;
        return v6(a, *port);
    }
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon)
        return std::nullopt;
    host = std::string(text.substr(0, colon));
    const auto port = parse_port(text.substr(colon + 1));
    std::array<std::uint8_t, 4> a{};
    if (!port || inet_pton(AF_INET, host.c_str(), a.data()) != 1)
        return std::nullopt;
    return v4(a, *port);
}

std::optional<Endpoint> Endpoint::from_sockaddr(const sockaddr* sa) {
    if (sa == nullptr)
        return std::nullopt;
    if (sa->sa_family == AF_INET) {
        sockaddr_in in{};
        std::memcpy(&in, sa, sizeof in);
        std::array<std::uint8_t, 4> a{};
        std::memcpy(a.data(), &in.sin_addr, 4);
        return v4(a, ntohs(in.sin_port));
    }
    if (sa->sa_family == AF_INET6) {
        sockaddr_in6 in6{};
        std::memcpy(&in6, sa, sizeof in6);
        std::array<std::uint8_t, 16> a{};
        std::memcpy(a.data(), &in6.sin6_addr, 16);
        return v6(a, ntohs(in6.sin6_port));
    }
    return std::nullopt;
}

bool Endpoint::to_sockaddr(int socket_family, sockaddr_storage& out) const {
    std::memset(&out, 0, sizeof out);
    if (socket_family == AF_INET) {
        if (is_v6_)
            return false;
        sockaddr_in in{};
        in.sin_family = AF_INET;
        in.sin_port = htons(port_);
        std::memcpy(&in.sin_addr, addr_.data(), 4);
        std::memcpy(&out, &in, sizeof in);
        return true;
    }
    if (socket_family != AF_INET6)
        return false;
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(port_);
    if (is_v6_) {
        std::memcpy(&in6.sin6_addr, addr_.data(), 16);
    } else {
        std::array<std::uint8_t, 16> mapped{};
        std::memcpy(mapped.data(), kV4MappedPrefix.data(), kV4MappedPrefix.size());
        std::memcpy(mapped.data() + 12, addr_.data(), 4);
        std::memcpy(&in6.sin6_addr, mapped.data(), 16);
    }
    std::memcpy(&out, &in6, sizeof in6);
    return true;
}

std::string Endpoint::to_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(is_v6_ ? AF_INET6 : AF_INET, addr_.data(), buf, sizeof buf);
    // Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict on "[" + std::string.
    std::string out;
    if (is_v6_)
        out += '[';
    out += buf;
    if (is_v6_)
        out += ']';
    out += ':';
    out += std::to_string(port_);
    return out;
}

bool Endpoint::is_unspecified() const {
    const std::size_t n = is_v6_ ? 16 : 4;
    for (std::size_t i = 0; i < n; ++i)
        if (addr_[i] != 0)
            return false;
    return true;
}

bool Endpoint::is_loopback() const {
    if (!is_v6_)
        return addr_[0] == 127;
    for (std::size_t i = 0; i < 15; ++i)
        if (addr_[i] != 0)
            return false;
    return addr_[15] == 1;
}

bool Endpoint::is_private() const {
    if (is_v6_)
        return false;
    return addr_[0] == 10 || (addr_[0] == 172 && (addr_[1] & 0xf0) == 16) ||
           (addr_[0] == 192 && addr_[1] == 168);
}

bool Endpoint::is_cgnat() const {
    return !is_v6_ && addr_[0] == 100 && (addr_[1] & 0xc0) == 64;
}

bool Endpoint::is_ula() const {
    return is_v6_ && (addr_[0] & 0xfe) == 0xfc;
}

bool Endpoint::is_link_local() const {
    if (!is_v6_)
        return addr_[0] == 169 && addr_[1] == 254;
    return addr_[0] == 0xfe && (addr_[1] & 0xc0) == 0x80;
}

bool Endpoint::is_multicast() const {
    return is_v6_ ? addr_[0] == 0xff : (addr_[0] & 0xf0) == 224;
}

bool Endpoint::is_unicast() const {
    if (is_unspecified() || is_multicast())
        return false;
    if (is_v6_)
        return true;
    return addr_[0] != 0 && addr_[0] < 240;
}

std::size_t EndpointHash::operator()(const Endpoint& e) const noexcept {
    // FNV-1a over the address, port and family: cheap, and the peer table also bounds
    // its size, so hash flooding can only slow one bucket, not grow memory.
    std::uint64_t h = 1469598103934665603ULL;
    auto mix = [&h](std::uint8_t b) {
        h ^= b;
        h *= 1099511628211ULL;
    };
    for (auto b : e.bytes())
        mix(b);
    mix(static_cast<std::uint8_t>(e.port() >> 8));
    mix(static_cast<std::uint8_t>(e.port() & 0xff));
    mix(e.is_v6() ? 1 : 0);
    return static_cast<std::size_t>(h);
}

} // namespace chat::proto
