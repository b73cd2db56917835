// UdpClient; see udp_client.hpp.
#include "udp_client.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace chat::e2e {

namespace {

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

[[noreturn]] void fail(const char* what) {
    throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

} // namespace

UdpClient::UdpClient() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0)
        fail("socket");
    sockaddr_in local = loopback(0);
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
        ::close(fd_);
        fail("bind 127.0.0.1:0");
    }
    socklen_t len = sizeof local;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &len) != 0) {
        ::close(fd_);
        fail("getsockname");
    }
    port_ = ntohs(local.sin_port);
}

UdpClient::~UdpClient() {
    ::close(fd_);
}

std::string UdpClient::address() const {
    return "127.0.0.1:" + std::to_string(port_);
}

bool UdpClient::send(std::uint16_t to_port, std::string_view bytes) {
    const sockaddr_in to = loopback(to_port);
    const ssize_t n = ::sendto(fd_, bytes.data(), bytes.size(), 0,
                               reinterpret_cast<const sockaddr*>(&to), sizeof to);
    return n == static_cast<ssize_t>(bytes.size());
}

std::optional<std::string> UdpClient::receive(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                              deadline - std::chrono::steady_clock::now())
                              .count();
        pollfd p{fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, left <= 0 ? 0 : static_cast<int>(left));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            return std::nullopt;
        char buf[65536];
        const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
        if (n >= 0)
            return std::string(buf, static_cast<std::size_t>(n));
        // ECONNREFUSED reports an ICMP error for an earlier send; keep waiting for data.
        if (errno != EINTR && errno != EAGAIN && errno != ECONNREFUSED)
            return std::nullopt;
    }
}

std::size_t UdpClient::drain() {
    std::size_t n = 0;
    char buf[65536];
    for (;;) {
        const ssize_t r = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
        if (r >= 0)
            ++n;
        else if (errno != EINTR && errno != ECONNREFUSED)
            return n;
    }
}

} // namespace chat::e2e
