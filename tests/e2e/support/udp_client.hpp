// A UDP socket for end-to-end tests, bound to 127.0.0.1 on a port the kernel picks. It sends
// only to 127.0.0.1 (the port is the one argument), and receives with a timeout using poll.
// Blocking calls on purpose: a test reads like the conversation it checks.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chat::e2e {

class UdpClient {
  public:
    // Bound to 127.0.0.1:0. Throws std::runtime_error if the socket cannot be made.
    UdpClient();
    UdpClient(const UdpClient&) = delete;
    UdpClient& operator=(const UdpClient&) = delete;
    ~UdpClient();

    std::uint16_t port() const { return port_; } // our local port
    std::string address() const;                 // "127.0.0.1:PORT", as the server names us

    // One datagram to 127.0.0.1:`to_port`. Returns false if the kernel refused it (ENOBUFS,
    // ECONNREFUSED from an earlier ICMP error, ...): UDP gives no promise anyway.
    bool send(std::uint16_t to_port, std::string_view bytes);

    // The next datagram, or nullopt if none arrives within `timeout`.
    std::optional<std::string> receive(std::chrono::milliseconds timeout);

    // Throws away everything already queued; returns how many datagrams that was.
    std::size_t drain();

  private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

} // namespace chat::e2e
