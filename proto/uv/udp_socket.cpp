// UdpSocket; see udp_socket.hpp.
#include "udp_socket.hpp"

#include <sys/socket.h>

#include <memory>
#include <string>

namespace chat::uvpp {
namespace {

// A queued send owns its bytes until libuv's callback, which frees both.
struct PendingSend {
    uv_udp_send_t req{};
    std::string bytes;
};

} // namespace

UdpSocket::UdpSocket(uv_loop_t* loop)
    : h_(uv_udp_init_ex, loop, static_cast<unsigned>(AF_UNSPEC | UV_UDP_RECVMMSG)),
      buffer_(new char[kSlotBytes * kRecvBatch]) {
    h_.get()->data = this;
}

void UdpSocket::bind(const proto::Endpoint& local) {
    family_ = local.is_v6() ? AF_INET6 : AF_INET;
    sockaddr_storage ss{};
    local.to_sockaddr(family_, ss);
    check(uv_udp_bind(h_.get(), reinterpret_cast<const sockaddr*>(&ss), 0), "bind");
}

proto::Endpoint UdpSocket::local_endpoint() const {
    sockaddr_storage ss{};
    int len = sizeof ss;
    if (uv_udp_getsockname(h_.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0)
        return {};
    return proto::Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss))
        .value_or(proto::Endpoint{});
}

void UdpSocket::set_buffer_sizes(int recv_bytes, int send_bytes) {
    // Failures are harmless (the kernel keeps its defaults), so they are ignored here.
    if (recv_bytes > 0)
        (void)uv_recv_buffer_size(h_.raw(), &recv_bytes);
    if (send_bytes > 0)
        (void)uv_send_buffer_size(h_.raw(), &send_bytes);
}

void UdpSocket::start(OnDatagram on_datagram) {
    on_datagram_ = std::move(on_datagram);
    check(uv_udp_recv_start(h_.get(), &UdpSocket::on_alloc, &UdpSocket::on_recv),
          "uv_udp_recv_start");
}

bool UdpSocket::send(const proto::Endpoint& to, std::string_view bytes) {
    sockaddr_storage ss{};
    if (!to.to_sockaddr(family_, ss)) {
        ++stats_.send_errors;
        return false;
    }
    const auto* addr = reinterpret_cast<const sockaddr*>(&ss);
    uv_buf_t buf =
        uv_buf_init(const_cast<char*>(bytes.data()), static_cast<unsigned>(bytes.size()));
    const int rc = uv_udp_try_send(h_.get(), &buf, 1, addr);
    if (rc >= 0) {
        ++stats_.sent;
        return true;
    }
    if (rc != UV_EAGAIN) {
        ++stats_.send_errors;
        return false;
    }
    return send_later(addr, bytes);
}

bool UdpSocket::send_later(const sockaddr* addr, std::string_view bytes) {
    auto pending = std::make_unique<PendingSend>();
    pending->bytes.assign(bytes);
    pending->req.data = pending.get();
    const uv_buf_t buf =
        uv_buf_init(pending->bytes.data(), static_cast<unsigned>(pending->bytes.size()));
    const int qrc =
        uv_udp_send(&pending->req, h_.get(), &buf, 1, addr,
                    [](uv_udp_send_t* req, int) { delete static_cast<PendingSend*>(req->data); });
    if (qrc < 0) {
        ++stats_.send_errors;
        return false;
    }
    (void)pending.release(); // the callback owns it now
    ++stats_.queued;
    return true;
}

void UdpSocket::on_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
    auto* self = static_cast<UdpSocket*>(h->data);
    if (self == nullptr) {
        *buf = uv_buf_init(nullptr, 0);
        return;
    }
    *buf = uv_buf_init(self->buffer_.get(), static_cast<unsigned>(kSlotBytes * kRecvBatch));
}

void UdpSocket::on_recv(uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                        unsigned flags) {
    auto* self = static_cast<UdpSocket*>(h->data);
    if (self == nullptr)
        return;
    if (nread < 0)
        ++self->stats_.recv_errors; // e.g. ICMP port unreachable surfaced as ECONNREFUSED
    if (addr == nullptr)
        return; // an error, nothing more to read, or (UV_UDP_MMSG_FREE) the end of a
                // recvmmsg batch, whose buffer is ours and needs no freeing
    const auto from = proto::Endpoint::from_sockaddr(addr);
    if (!from)
        return;
    const bool truncated = (flags & UV_UDP_PARTIAL) != 0;
    ++self->stats_.received;
    if (truncated)
        ++self->stats_.truncated;
    if (self->on_datagram_)
        self->on_datagram_(*from, std::string_view(buf->base, static_cast<std::size_t>(nread)),
                           truncated);
}

} // namespace chat::uvpp
