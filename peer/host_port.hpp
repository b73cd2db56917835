// "HOST:PORT" as typed on the command line, split into a host to resolve and a port. Pure:
// resolving the host (a DNS name or an IP literal) is the shell's job.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chat::peer {

struct HostPort {
    std::string host;   // "example.org", "192.0.2.1", "::1" (brackets removed)
    std::uint16_t port; // 1..65535
    friend bool operator==(const HostPort&, const HostPort&) = default;
};

// "example.org:7777", "192.0.2.1:7777", "[::1]:7777". An IPv6 literal needs the brackets;
// nullopt for anything else (no port, port 0 or above 65535, empty host).
std::optional<HostPort> parse_host_port(std::string_view text);

} // namespace chat::peer
