// A bound UDP socket that hands each datagram to a callback and sends without copying in
// the common case. Settles libuv's edge cases once: nread == 0 with a null address is
// "nothing more to read", UV_UDP_PARTIAL is a truncated (oversize) datagram, and
// uv_udp_try_send's UV_EAGAIN falls back to a queued uv_udp_send that owns its bytes.
// Datagrams are read kRecvBatch at a time with one recvmmsg (libuv's UV_UDP_RECVMMSG). The
// peer's socket; the rendezvous, which sends in bulk, has BatchedUdpSocket.
#pragma once

#include "handle.hpp"
#include "proto/endpoint.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <sys/socket.h>

namespace chat::uvpp {

struct UdpStats {
    std::uint64_t received = 0;
    std::uint64_t truncated = 0; // larger than our receive buffer
    std::uint64_t recv_errors = 0;
    std::uint64_t sent = 0;
    std::uint64_t queued = 0;      // try_send said EAGAIN; sent via uv_udp_send
    std::uint64_t send_errors = 0; // dropped: unreachable, unsupported family, ...
};

class UdpSocket {
  public:
    // from, bytes; `truncated` is true when the datagram did not fit the buffer.
    using OnDatagram =
        std::function<void(const proto::Endpoint& from, std::string_view bytes, bool truncated)>;

    explicit UdpSocket(uv_loop_t* loop);
    // Binds to `local`. An IPv6 wildcard binds dual-stack. Throws UvError on failure.
    void bind(const proto::Endpoint& local);
    // The address actually bound (the real port when bound to port 0).
    proto::Endpoint local_endpoint() const;
    // Asks the kernel for larger buffers; returns the sizes obtained (0 if unknown).
    void set_buffer_sizes(int recv_bytes, int send_bytes);
    // Starts reading.
    void start(OnDatagram on_datagram);
    // Sends one datagram; never blocks. Returns false if it was dropped (counted).
    bool send(const proto::Endpoint& to, std::string_view bytes);
    const UdpStats& stats() const { return stats_; }
    int family() const { return family_; }
    void close() { h_.close(); }

  private:
    static void on_alloc(uv_handle_t* h, std::size_t suggested, uv_buf_t* buf);
    static void on_recv(uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                        unsigned flags);
    bool send_later(const sockaddr* addr, std::string_view bytes);

    Handle<uv_udp_t> h_;
    OnDatagram on_datagram_;
    UdpStats stats_;
    int family_ = 0;
    // With UV_UDP_RECVMMSG libuv splits the buffer it is given into 64 KiB slots, one per
    // datagram, and reads at most 20 (its UV__MMSG_MAXWIDTH) per recvmmsg call. A slot
    // larger than any legal datagram lets an oversize one be seen (and dropped) as such.
    static constexpr std::size_t kSlotBytes = 64 * 1024;
    static constexpr std::size_t kRecvBatch = 20;
    // One receive buffer, reused for every batch: pages of slots that are never filled are
    // never touched, so it costs little resident memory.
    std::unique_ptr<char[]> buffer_;
};

} // namespace chat::uvpp
