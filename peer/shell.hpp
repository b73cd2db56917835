// The peer's libuv shell: owns the UDP socket, the one wake-up timer, the signal handlers and
// the input (the raw Terminal, or plain lines from a LineReader), and repeats one step in
// every callback: read uv_now once, call the Client, send its datagrams, show its events,
// re-arm the timer for next_wakeup(). All chat logic is in Client; all drawing in Terminal.
//
// Start-up (resolve HOST, bind, gather private endpoints) fails with one line on stderr and
// exit code 1; so does a Fatal event from the core. /quit, Ctrl-C, Ctrl-D, end of input,
// SIGINT, SIGTERM and SIGHUP send bye at once, restore the terminal and exit 0.
#pragma once

#include "client.hpp"
#include "host_port.hpp"
#include "line_reader.hpp"
#include "render.hpp"
#include "terminal.hpp"

#include "proto/limits.hpp"
#include "proto/logger.hpp"
#include "proto/rng.hpp"
#include "proto/uv/loop.hpp"
#include "proto/uv/timer.hpp"
#include "proto/uv/udp_socket.hpp"

#include <deque>
#include <memory>
#include <optional>
#include <string>

namespace chat::peer {

enum class UiMode {
    Terminal, // stdin and stdout are a terminal: raw mode, line editor, colours
    Pipe,     // plain lines in, plain lines out, no escape codes
    Json,     // plain lines in, one JSON object per event out (JSON_EVENTS.md)
};

struct ShellConfig {
    HostPort rendezvous;
    std::optional<proto::Endpoint> bind; // default: the wildcard of the server's family, port 0
    std::string name;
    std::string room = "lobby";
    UiMode mode = UiMode::Pipe;
    bool color = false;
    Duration connect_timeout = RegistrationConfig{}.startup_timeout; // no welcome by then: exit 1
};

class Shell {
  public:
    Shell(ShellConfig cfg, Logger& log);
    ~Shell();
    Shell(const Shell&) = delete;
    Shell& operator=(const Shell&) = delete;

    // Runs until the user leaves (0) or start-up fails (1). Never throws.
    int run();

  private:
    // Start-up; each throws std::runtime_error with the line to print.
    proto::Endpoint resolve_server();
    void bind_socket(const proto::Endpoint& server);
    std::vector<proto::Endpoint> private_endpoints(const proto::Endpoint& server) const;
    void start_input();

    Time now();
    void on_datagram(const proto::Endpoint& from, std::string_view bytes);
    void on_timer();
    void on_input_line(std::string line);
    void on_end_of_input();
    void run_line(const std::string& line);
    void drain_queued_input();
    void deliver(const Outbox& out);
    void show(const UiEvent& e);
    void print_lines(const std::vector<std::string>& lines);
    void arm_timer();
    void maybe_finish_input();
    bool waiting_for_answer() const;
    bool script_quit_must_wait(const std::string& line);
    void quit();
    void fail(const std::string& line); // start-up failure or Fatal: stderr, exit 1
    void close_all();
    std::string prompt() const;

    ShellConfig cfg_;
    Logger& log_;
    SystemRng rng_;
    uvpp::Loop loop_;
    std::unique_ptr<uvpp::UdpSocket> socket_;
    std::unique_ptr<uvpp::Timer> timer_;
    std::vector<std::unique_ptr<uvpp::Signal>> signals_;
    std::unique_ptr<Terminal> terminal_;
    std::unique_ptr<LineReader> reader_;
    std::unique_ptr<Client> client_;
    std::deque<std::string> queued_; // input not yet run (see drain_queued_input)
    bool input_ended_ = false;       // EOF seen (maybe still queued behind lines)
    std::optional<Time> finish_by_;  // after EOF: wait this long for answers, then quit
    bool draining_ = false;
    bool closing_ = false;
    bool quit_shown_ = false; // --json printed the quit event already
    int exit_code_ = 0;
};

} // namespace chat::peer
