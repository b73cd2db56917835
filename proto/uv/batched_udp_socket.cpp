// BatchedUdpSocket; see batched_udp_socket.hpp.
#include "batched_udp_socket.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

namespace chat::uvpp {
namespace {

[[noreturn]] void fail(const char* what) {
    throw UvError(what, uv_translate_sys_error(errno));
}

bool is_full(int err) {
    return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS;
}

} // namespace

void BatchedUdpSocket::bind(const proto::Endpoint& local) {
    family_ = local.is_v6() ? AF_INET6 : AF_INET;
    fd_ = ::socket(family_, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0)
        fail("socket");
    sockaddr_storage ss{};
    local.to_sockaddr(family_, ss);
    const int off = 0;
    if ((family_ == AF_INET6 &&
         ::setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) != 0) ||
        ::bind(fd_, reinterpret_cast<const sockaddr*>(&ss),
               family_ == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in)) != 0) {
        const int err = errno;
        ::close(fd_);
        fd_ = -1;
        errno = err;
        fail("bind");
    }
    set_dont_fragment();
    poll_ = std::make_unique<Handle<uv_poll_t>>(uv_poll_init_socket, loop_, fd_);
    poll_->get()->data = this;
}

void BatchedUdpSocket::set_dont_fragment() {
    // DF on every datagram, as QUIC stacks set it (RFC 9000 section 14; quic-go's setDF sets
    // both levels on a dual-stack socket). The protocol's datagrams are at most 1,200 bytes
    // so that no path needs to fragment them, and a fragment is what NATs and firewalls drop
    // first. PROBE, not DO: the kernel's cached path MTU (which a forged ICMP message can
    // lower) never turns a send into EMSGSIZE. A side effect the fan-out feels: a DF datagram
    // from an unconnected socket gets IP ID 0 (RFC 6864) instead of a hashed per-destination
    // counter, a few percent of the kernel's cost per datagram. Best effort: on failure the
    // kernel keeps its default.
    const int probe = IP_PMTUDISC_PROBE;
    (void)::setsockopt(fd_, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof probe);
    if (family_ == AF_INET6) {
        const int probe6 = IPV6_PMTUDISC_PROBE;
        (void)::setsockopt(fd_, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &probe6, sizeof probe6);
    }
}

proto::Endpoint BatchedUdpSocket::local_endpoint() const {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (fd_ < 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
        return {};
    return proto::Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss))
        .value_or(proto::Endpoint{});
}

void BatchedUdpSocket::set_buffer_sizes(int recv_bytes, int send_bytes) {
    if (recv_bytes > 0)
        (void)::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &recv_bytes, sizeof recv_bytes);
    if (send_bytes > 0)
        (void)::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &send_bytes, sizeof send_bytes);
}

void BatchedUdpSocket::start(OnDatagram on_datagram, std::function<void()> on_batch_end) {
    on_datagram_ = std::move(on_datagram);
    on_batch_end_ = std::move(on_batch_end);
    check(uv_poll_start(poll_->get(), UV_READABLE, &BatchedUdpSocket::on_poll), "uv_poll_start");
}

void BatchedUdpSocket::watch(bool writable, bool again) {
    if ((writable == watching_writable_ && !again) || !poll_)
        return;
    watching_writable_ = writable;
    if (uv_poll_start(poll_->get(), UV_READABLE | (writable ? UV_WRITABLE : 0),
                      &BatchedUdpSocket::on_poll) < 0)
        ++stats_.recv_errors; // only with a bad descriptor, which bind() never leaves
}

void BatchedUdpSocket::on_poll(uv_poll_t* h, int status, int events) {
    auto* self = static_cast<BatchedUdpSocket*>(h->data);
    if (self == nullptr)
        return;
    if (status < 0) {
        // POLLERR: an error is pending on the socket, and libuv has stopped the watcher.
        // Take the error and watch again, or the server would go deaf.
        ++self->stats_.recv_errors;
        int err = 0;
        socklen_t len = sizeof err;
        (void)::getsockopt(self->fd_, SOL_SOCKET, SO_ERROR, &err, &len);
        self->watch(self->watching_writable_, true);
        return;
    }
    if ((events & UV_WRITABLE) != 0)
        self->on_writable();
    if ((events & UV_READABLE) != 0 && self->fd_ >= 0)
        self->on_readable();
}

void BatchedUdpSocket::on_readable() {
    std::array<mmsghdr, kRecvBatch> msgs;
    std::array<iovec, kRecvBatch> iov;
    std::array<sockaddr_storage, kRecvBatch> from;
    for (std::size_t round = 0; round < kBatchesPerWakeup && fd_ >= 0; ++round) {
        for (std::size_t i = 0; i < kRecvBatch; ++i) {
            iov[i] = iovec{buffer_.get() + i * kSlotBytes, kSlotBytes};
            msgs[i] = mmsghdr{};
            msgs[i].msg_hdr.msg_name = &from[i];
            msgs[i].msg_hdr.msg_namelen = sizeof from[i];
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int n = 0;
        do
            n = ::recvmmsg(fd_, msgs.data(), kRecvBatch, MSG_DONTWAIT, nullptr);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            ++stats_.recv_errors; // e.g. an ICMP error surfacing: the next read goes on
            continue;
        }
        for (std::size_t i = 0; i < static_cast<std::size_t>(n) && fd_ >= 0; ++i) {
            const auto peer =
                proto::Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&from[i]));
            if (!peer)
                continue;
            const bool truncated = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
            ++stats_.received;
            if (truncated)
                ++stats_.truncated;
            if (on_datagram_)
                on_datagram_(*peer,
                             std::string_view(buffer_.get() + i * kSlotBytes,
                                              std::min<std::size_t>(msgs[i].msg_len, kSlotBytes)),
                             truncated);
        }
        if (on_batch_end_)
            on_batch_end_();
        if (static_cast<std::size_t>(n) < kRecvBatch)
            return; // drained for now: no extra call to hear EAGAIN
    }
}

void BatchedUdpSocket::queue(const proto::Endpoint& to, std::string_view bytes) {
    if (family_ != AF_INET6 && to.is_v6()) { // what Endpoint::to_sockaddr cannot convert
        ++stats_.send_errors;
        return;
    }
    queued_.push(to, bytes);
    if (queued_.items.size() >= kMaxQueued)
        flush();
}

void BatchedUdpSocket::flush() {
    if (queued_.items.empty())
        return;
    // Older datagrams waiting for a writable socket go first: then these wait behind them.
    const std::size_t sent = overflow_.items.empty() ? send_from(queued_, 0) : 0;
    keep_for_later(queued_, sent);
    queued_.clear();
}

std::size_t BatchedUdpSocket::send_from(Queue& q, std::size_t from) {
    std::array<mmsghdr, kSendBatch> msgs;
    std::array<iovec, kSendBatch> iov;
    std::array<sockaddr_storage, kSendBatch> to;
    const socklen_t to_len = family_ == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    std::size_t done = from;
    while (done < q.items.size() && fd_ >= 0) {
        const std::size_t n = std::min(kSendBatch, q.items.size() - done);
        for (std::size_t i = 0; i < n; ++i) {
            const Queued& item = q.items[done + i];
            (void)item.to.to_sockaddr(family_, to[i]); // queue() admitted only what converts
            iov[i] = iovec{q.bytes.data() + item.offset, item.size};
            msgs[i] = mmsghdr{};
            msgs[i].msg_hdr.msg_name = &to[i];
            msgs[i].msg_hdr.msg_namelen = to_len;
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int sent = 0;
        do
            sent = ::sendmmsg(fd_, msgs.data(), static_cast<unsigned>(n), 0);
        while (sent < 0 && errno == EINTR);
        if (sent > 0) {
            stats_.sent += static_cast<std::uint64_t>(sent);
            done += static_cast<std::size_t>(sent);
        } else if (is_full(errno)) {
            break; // the kernel is full for now
        } else {
            ++stats_.send_errors; // this datagram cannot go (unreachable, ...): skip it
            ++done;
        }
    }
    return done;
}

void BatchedUdpSocket::keep_for_later(const Queue& q, std::size_t from) {
    for (std::size_t i = from; i < q.items.size(); ++i) {
        if (overflow_.items.size() >= kMaxOverflow) {
            ++stats_.send_errors; // the kernel has not drained for a long while: drop
            continue;
        }
        overflow_.push(q.items[i].to, q.data(q.items[i]));
        ++stats_.queued;
    }
    watch(!overflow_.items.empty());
}

void BatchedUdpSocket::on_writable() {
    const std::size_t sent = send_from(overflow_, 0);
    if (sent == overflow_.items.size()) {
        overflow_.clear();
    } else if (sent > 0) { // keep the rest, oldest first (a rare path: copying is fine)
        Queue rest;
        for (std::size_t i = sent; i < overflow_.items.size(); ++i)
            rest.push(overflow_.items[i].to, overflow_.data(overflow_.items[i]));
        overflow_ = std::move(rest);
    }
    watch(!overflow_.items.empty());
}

void BatchedUdpSocket::close() {
    if (poll_) {
        poll_->close(); // stops the watcher (the descriptor leaves epoll) before we close it
        poll_.reset();
    }
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    queued_.clear();
    overflow_.clear();
    watching_writable_ = false;
}

} // namespace chat::uvpp
