// BatchSocket; see batch_socket.hpp.
#include "batch_socket.hpp"

#include <arpa/inet.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <string>

namespace chat::bench {
namespace {

constexpr std::size_t kCtl = CMSG_SPACE(sizeof(in_pktinfo));

[[noreturn]] void fail(const char* what) {
    throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

} // namespace

bool parse_loopback(std::string_view text, Addr& out) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return false;
    const std::string host(text.substr(0, colon));
    in_addr a{};
    if (inet_pton(AF_INET, host.c_str(), &a) != 1) return false;
    unsigned port = 0;
    const auto ps = text.substr(colon + 1);
    if (std::from_chars(ps.data(), ps.data() + ps.size(), port).ec != std::errc{} || port > 65535)
        return false;
    out.ip = ntohl(a.s_addr);
    out.port = static_cast<std::uint16_t>(port);
    return is_loopback(out.ip);
}

BatchSocket::BatchSocket(std::uint32_t ip, std::uint16_t port, bool pktinfo)
    : pktinfo_(pktinfo), smsg_(kSendBatch), rmsg_(kRecvBatch), siov_(kSendBatch),
      riov_(kRecvBatch), sdst_(kSendBatch), rsrc_(kRecvBatch), sbuf_(kSendBatch * kMaxBytes),
      rbuf_(kRecvBatch * kMaxBytes), sctl_(kSendBatch * kCtl), rctl_(kRecvBatch * kCtl),
      rx_(kRecvBatch) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) fail("socket");
    const int one = 1;
    if (pktinfo_ && setsockopt(fd_, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) != 0)
        fail("IP_PKTINFO");
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(ip);
    sa.sin_port = htons(port);
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) fail("bind");
}

BatchSocket::~BatchSocket() {
    if (fd_ >= 0) ::close(fd_);
}

std::uint16_t BatchSocket::port() const {
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    if (getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return 0;
    return ntohs(sa.sin_port);
}

int BatchSocket::raise_buffers(int bytes) {
    if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0)
        (void)setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
    if (setsockopt(fd_, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) != 0)
        (void)setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
    int got = 0;
    socklen_t len = sizeof got;
    (void)getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &got, &len);
    return got;
}

void BatchSocket::add(const Addr& to, std::string_view bytes, std::uint32_t from_ip) {
    if (bytes.size() > kMaxBytes) bytes = bytes.substr(0, kMaxBytes);
    const std::size_t i = nsend_;
    char* buf = &sbuf_[i * kMaxBytes];
    std::memcpy(buf, bytes.data(), bytes.size());
    siov_[i] = iovec{buf, bytes.size()};
    sockaddr_in& dst = sdst_[i];
    dst = sockaddr_in{};
    dst.sin_family = AF_INET;
    dst.sin_addr.s_addr = htonl(to.ip);
    dst.sin_port = htons(to.port);
    msghdr& h = smsg_[i].msg_hdr;
    h = msghdr{};
    h.msg_name = &dst;
    h.msg_namelen = sizeof dst;
    h.msg_iov = &siov_[i];
    h.msg_iovlen = 1;
    if (from_ip != 0) {
        char* ctl = &sctl_[i * kCtl];
        std::memset(ctl, 0, kCtl);
        h.msg_control = ctl;
        h.msg_controllen = kCtl;
        cmsghdr* c = CMSG_FIRSTHDR(&h);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
        in_pktinfo pi{};
        pi.ipi_spec_dst.s_addr = htonl(from_ip);
        std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
    }
    if (++nsend_ == kSendBatch) flush();
}

void BatchSocket::flush() {
    std::size_t done = 0;
    while (done < nsend_) {
        const int n = sendmmsg(fd_, &smsg_[done], static_cast<unsigned>(nsend_ - done), 0);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pollfd p{fd_, POLLOUT, 0};
            (void)poll(&p, 1, 10);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        ++send_errors_;  // this datagram cannot go (e.g. no route): skip it
        ++done;
    }
    nsend_ = 0;
}

std::size_t BatchSocket::receive(int timeout_ms) {
    if (timeout_ms != 0) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0) return 0;
    }
    for (std::size_t i = 0; i < kRecvBatch; ++i) {
        riov_[i] = iovec{&rbuf_[i * kMaxBytes], kMaxBytes};
        msghdr& h = rmsg_[i].msg_hdr;
        h = msghdr{};
        h.msg_name = &rsrc_[i];
        h.msg_namelen = sizeof(sockaddr_in);
        h.msg_iov = &riov_[i];
        h.msg_iovlen = 1;
        if (pktinfo_) {
            h.msg_control = &rctl_[i * kCtl];
            h.msg_controllen = kCtl;
        }
    }
    const int n = recvmmsg(fd_, rmsg_.data(), static_cast<unsigned>(kRecvBatch), MSG_DONTWAIT,
                           nullptr);
    if (n <= 0) return 0;
    const auto count = static_cast<std::size_t>(n);
    for (std::size_t i = 0; i < count; ++i) {
        msghdr& h = rmsg_[i].msg_hdr;
        Received& r = rx_[i];
        r.bytes = std::string_view(&rbuf_[i * kMaxBytes], rmsg_[i].msg_len);
        r.from = Addr{ntohl(rsrc_[i].sin_addr.s_addr), ntohs(rsrc_[i].sin_port)};
        r.to_ip = 0;
        if (pktinfo_)
            for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c))
                if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                    in_pktinfo pi{};
                    std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
                    r.to_ip = ntohl(pi.ipi_addr.s_addr);
                }
    }
    return count;
}

} // namespace chat::bench
