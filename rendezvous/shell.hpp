// The rendezvous's libuv shell: owns the socket, the one wake-up timer and the signal
// handlers, and repeats one step in every callback: read the clock once (uv_hrtime, through
// StampClock), call the core, send what it returns, re-arm the timer for next_wakeup(). All
// protocol logic is in Server.
#pragma once

#include "server.hpp"
#include "stamp_clock.hpp"

#include "proto/uv/batched_udp_socket.hpp"
#include "proto/uv/loop.hpp"
#include "proto/uv/timer.hpp"

#include <memory>
#include <optional>

namespace chat::rdv {

struct ShellConfig {
    proto::Endpoint listen;             // where to bind; port 0 picks a free port
    int receive_buffer_bytes = 4 << 20; // the kernel default (~208 KiB) drops bursts
    int send_buffer_bytes = 4 << 20;
};

class Shell {
  public:
    Shell(const ShellConfig& shell_cfg, const ServerConfig& server_cfg, Logger& log);
    ~Shell();
    // Binds the socket (throws uvpp::UvError on failure) and returns the bound endpoint.
    proto::Endpoint bind();
    // Runs until SIGINT or SIGTERM, then tells every peer goodbye. Returns the exit code.
    int run();

  private:
    Time now() const;
    void on_datagram(const proto::Endpoint& from, std::string_view bytes);
    void on_timer();
    void on_signal(int signum);
    void deliver(const Outbox& out);
    void arm_timer();

    ShellConfig cfg_;
    Logger& log_;
    SystemRng rng_;
    uvpp::Loop loop_;
    std::unique_ptr<uvpp::BatchedUdpSocket> socket_;
    std::unique_ptr<uvpp::Timer> timer_;
    std::unique_ptr<uvpp::Signal> sigint_;
    std::unique_ptr<uvpp::Signal> sigterm_;
    std::unique_ptr<Server> server_;
    StampClock clock_; // uv_hrtime readings to core Times, never early for a deadline
    std::optional<Time> armed_for_;
    bool stopping_ = false;
};

} // namespace chat::rdv
