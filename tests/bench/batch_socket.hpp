// A plain IPv4 UDP socket driven with recvmmsg/sendmmsg, for the benchmark tools only (not
// part of the product). Optionally sets IP_PKTINFO both ways, so one socket bound to the
// wildcard address can act as many loopback peers: each datagram is sent from a chosen
// 127.x.y.z source, and each reply tells which of those addresses it was sent to.
// Deliberately minimal: no libuv, no allocation per datagram, nothing but the two syscalls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>

namespace chat::bench {

struct Addr {  // IPv4 address and port, host byte order
    std::uint32_t ip = 0;
    std::uint16_t port = 0;
    friend bool operator==(const Addr&, const Addr&) = default;
};

inline constexpr std::uint32_t kLoopback = 0x7F000001;  // 127.0.0.1
inline bool is_loopback(std::uint32_t ip) { return (ip >> 24) == 127; }
// "127.0.0.1:7777" -> Addr (port 0 allowed); false for anything but IPv4 loopback.
bool parse_loopback(std::string_view text, Addr& out);

struct Received {
    std::string_view bytes;
    Addr from;
    std::uint32_t to_ip = 0;  // the local address it was sent to (IP_PKTINFO), host order
};

class BatchSocket {
public:
    static constexpr std::size_t kRecvBatch = 64;
    static constexpr std::size_t kSendBatch = 256;
    static constexpr std::size_t kMaxBytes = 2048;  // larger than any datagram we send or expect

    // Binds ip:port (port 0: any). With `pktinfo`, IP_PKTINFO is enabled for both directions.
    BatchSocket(std::uint32_t ip, std::uint16_t port, bool pktinfo);
    ~BatchSocket();
    BatchSocket(const BatchSocket&) = delete;
    BatchSocket& operator=(const BatchSocket&) = delete;

    int fd() const { return fd_; }
    std::uint16_t port() const;
    // Raises both buffers (SO_*BUFFORCE when allowed, else capped by net.core.*mem_max);
    // returns the receive buffer the kernel reports.
    int raise_buffers(int bytes);

    // Queues one datagram (copied); sent by flush() or when the batch is full. `from_ip` 0:
    // the socket's own address; otherwise a local address to send from (needs pktinfo).
    void add(const Addr& to, std::string_view bytes, std::uint32_t from_ip = 0);
    void flush();
    std::size_t queued() const { return nsend_; }
    std::uint64_t send_errors() const { return send_errors_; }

    // Waits up to timeout_ms (0: not at all, -1: forever) for a datagram, then takes up to
    // kRecvBatch. The views stay valid until the next receive().
    std::size_t receive(int timeout_ms);
    const Received& at(std::size_t i) const { return rx_[i]; }

private:
    int fd_ = -1;
    bool pktinfo_ = false;
    std::size_t nsend_ = 0;
    std::uint64_t send_errors_ = 0;
    std::vector<mmsghdr> smsg_, rmsg_;
    std::vector<iovec> siov_, riov_;
    std::vector<sockaddr_in> sdst_, rsrc_;
    std::vector<char> sbuf_, rbuf_, sctl_, rctl_;
    std::vector<Received> rx_;
};

} // namespace chat::bench
