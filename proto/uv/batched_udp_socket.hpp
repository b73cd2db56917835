// A bound UDP socket read and written in batches, for a server: recvmmsg and sendmmsg on a
// descriptor of our own, watched by a uv_poll_t. libuv's own UDP handle reads at most 20
// datagrams per recvmmsg (UV__MMSG_MAXWIDTH) and keeps reading until EAGAIN, one extra
// system call per wake-up; this reads kRecvBatch (64) and stops at a short batch, so one
// datagram alone costs what it costs a bare loop (poll, recvmmsg, sendmmsg), and a busy
// socket a third of the calls. Replies are queued and sent with one sendmmsg per batch.
//
// What the kernel will not take now (EAGAIN, ENOBUFS) waits in a bounded overflow queue until
// the socket is writable: libuv's uv_udp_send cannot be used for it, because two libuv
// watchers on one descriptor would break the loop. Over the bound, datagrams are dropped and
// counted. The peer keeps UdpSocket: it sends a few datagrams a second.
#pragma once

#include "handle.hpp"
#include "udp_socket.hpp"

#include "proto/endpoint.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <sys/socket.h>

namespace chat::uvpp {

class BatchedUdpSocket {
  public:
    // from, bytes; `truncated`: the datagram was larger than kSlotBytes (cut to it).
    using OnDatagram = UdpSocket::OnDatagram;

    explicit BatchedUdpSocket(uv_loop_t* loop) : loop_(loop) {}
    BatchedUdpSocket(const BatchedUdpSocket&) = delete;
    BatchedUdpSocket& operator=(const BatchedUdpSocket&) = delete;
    ~BatchedUdpSocket() { close(); }

    // Opens and binds a non-blocking socket (an IPv6 wildcard binds dual-stack). Throws
    // UvError on failure.
    void bind(const proto::Endpoint& local);
    proto::Endpoint local_endpoint() const; // the real port when bound to port 0
    // Asks the kernel for larger buffers; failures leave its defaults (harmless).
    void set_buffer_sizes(int recv_bytes, int send_bytes);
    // Starts reading: on_datagram for each datagram, then on_batch_end after each batch (one
    // recvmmsg): the moment to flush().
    void start(OnDatagram on_datagram, std::function<void()> on_batch_end);
    // Queues a copy of one datagram for the next flush(); never blocks. A full queue flushes
    // itself, so memory stays bounded.
    void queue(const proto::Endpoint& to, std::string_view bytes);
    // Sends every queued datagram with as few sendmmsg calls as it takes.
    void flush();
    const UdpStats& stats() const { return stats_; }
    int family() const { return family_; }
    // Stops reading and closes the descriptor; datagrams still queued are dropped.
    void close();

  private:
    struct Queued {
        proto::Endpoint to;   // 20 bytes: the sockaddr is built when it is sent
        std::uint32_t offset; // into Queue::bytes
        std::uint32_t size;
    };
    // Destinations and one byte arena, reused (cleared, never shrunk), so a steady stream of
    // replies allocates nothing.
    struct Queue {
        std::vector<Queued> items;
        std::string bytes;
        void push(const proto::Endpoint& to, std::string_view data) {
            items.push_back(Queued{to, static_cast<std::uint32_t>(bytes.size()),
                                   static_cast<std::uint32_t>(data.size())});
            bytes.append(data);
        }
        std::string_view data(const Queued& item) const {
            return std::string_view(bytes).substr(item.offset, item.size);
        }
        void clear() {
            items.clear();
            bytes.clear();
        }
    };

    void set_dont_fragment(); // at bind: see the .cpp
    static void on_poll(uv_poll_t* h, int status, int events);
    void on_readable();
    void on_writable();
    // Sends q.items[from..]; returns the index of the first the kernel did not take.
    std::size_t send_from(Queue& q, std::size_t from);
    // Copies q.items[from..] to the overflow queue (dropping what is over its bound).
    void keep_for_later(const Queue& q, std::size_t from);
    // Watches for readable, and writable too while datagrams wait; `again` after libuv
    // stopped the watcher.
    void watch(bool writable, bool again = false);

    static constexpr std::size_t kRecvBatch = 64;       // datagrams per recvmmsg
    static constexpr std::size_t kSlotBytes = 2048;     // > kMaxDatagram: oversize is seen as such
    static constexpr std::size_t kBatchesPerWakeup = 8; // then let timers and signals run
    static constexpr std::size_t kSendBatch = 256;      // datagrams per sendmmsg call
    static constexpr std::size_t kMaxQueued = 4096;     // a fuller queue flushes itself
    // What may wait for a writable socket: 16,384 datagrams (~1 s of a busy server's
    // replies, a few MB at most); beyond that the kernel is not draining and we drop.
    static constexpr std::size_t kMaxOverflow = 16'384;

    uv_loop_t* loop_;
    int fd_ = -1;
    int family_ = 0;
    std::unique_ptr<Handle<uv_poll_t>> poll_;
    bool watching_writable_ = false;
    OnDatagram on_datagram_;
    std::function<void()> on_batch_end_;
    Queue queued_;   // replies of the batch being handled
    Queue overflow_; // what the kernel would not take yet, oldest first
    UdpStats stats_;
    std::unique_ptr<char[]> buffer_ = std::make_unique<char[]>(kRecvBatch * kSlotBytes);
};

} // namespace chat::uvpp
