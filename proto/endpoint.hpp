// An IP address and UDP port as a plain value: parse, print, compare, hash.
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, as a dual-stack [::] socket reports IPv4
// senders) are stored as plain IPv4, so one host has one spelling. Conversion to and from
// sockaddr is here too (a pure struct copy); opening sockets is not.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

struct sockaddr;
struct sockaddr_storage;

namespace chat::proto {

class Endpoint {
  public:
    Endpoint() = default;
    static Endpoint v4(std::array<std::uint8_t, 4> addr, std::uint16_t port);
    static Endpoint v6(const std::array<std::uint8_t, 16>& addr, std::uint16_t port);

    // "1.2.3.4:5", "[::1]:5". Returns nullopt for anything else (no host names here).
    static std::optional<Endpoint> parse(std::string_view text);
    // From a sockaddr_in or sockaddr_in6; nullopt for other families or a null pointer.
    static std::optional<Endpoint> from_sockaddr(const sockaddr* sa);
    // Fill `out` for a socket of the given family (AF_INET or AF_INET6). An IPv4 endpoint
    // on an AF_INET6 socket becomes v4-mapped; an IPv6 one on AF_INET fails (returns false).
    bool to_sockaddr(int socket_family, sockaddr_storage& out) const;

    std::string to_string() const;
    bool is_v4() const { return !is_v6_; }
    bool is_v6() const { return is_v6_; }
    std::uint16_t port() const { return port_; }
    const std::array<std::uint8_t, 16>& bytes() const { return addr_; }
    bool is_unspecified() const; // 0.0.0.0 or ::
    bool is_loopback() const;    // 127/8 or ::1
    // Address classes, for deciding where a peer may send probes (PROTOCOL.md, "Peer to
    // peer"). Each looks at the address only, never the port.
    bool is_private() const;    // RFC 1918: 10/8, 172.16/12, 192.168/16 (IPv4 only)
    bool is_cgnat() const;      // RFC 6598 shared address space: 100.64/10
    bool is_ula() const;        // RFC 4193 unique local: fc00::/7
    bool is_link_local() const; // 169.254/16 or fe80::/10
    bool is_multicast() const;  // 224/4 or ff00::/8
    // A local-network address: private, CGNAT, ULA or link-local. Loopback is not one.
    bool is_lan() const { return is_private() || is_cgnat() || is_ula() || is_link_local(); }
    // An address one host answers on: not unspecified, not "this network" (0/8), not
    // multicast, not the reserved 240/4 (which holds the broadcast 255.255.255.255).
    bool is_unicast() const;

    friend auto operator<=>(const Endpoint&, const Endpoint&) = default;
    friend bool operator==(const Endpoint&, const Endpoint&) = default;

  private:
    std::array<std::uint8_t, 16> addr_{}; // IPv4 in the first four bytes, rest zero
    std::uint16_t port_ = 0;
    bool is_v6_ = false;
};

struct EndpointHash {
    std::size_t operator()(const Endpoint& e) const noexcept;
};

} // namespace chat::proto
