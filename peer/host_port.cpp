// HOST:PORT parsing; see host_port.hpp.
#include "host_port.hpp"

#include <charconv>

namespace chat::peer {

std::optional<HostPort> parse_host_port(std::string_view text) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
        return std::nullopt;
    std::string_view host = text.substr(0, colon);
    const std::string_view port_text = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    else if (host.find_first_of(":[]") != std::string_view::npos)
        return std::nullopt; // an IPv6 literal without brackets is ambiguous
    if (host.empty() || port_text.empty())
        return std::nullopt;
    unsigned port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535)
        return std::nullopt;
    return HostPort{std::string(host), static_cast<std::uint16_t>(port)};
}

} // namespace chat::peer
