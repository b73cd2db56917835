// The rendezvous shell; see shell.hpp.
#include "shell.hpp"

#include <csignal>

namespace chat::rdv {

Shell::Shell(const ShellConfig& shell_cfg, const ServerConfig& server_cfg, Logger& log)
    : cfg_(shell_cfg), log_(log) {
    socket_ = std::make_unique<uvpp::BatchedUdpSocket>(loop_.get());
    timer_ = std::make_unique<uvpp::Timer>(loop_.get());
    sigint_ = std::make_unique<uvpp::Signal>(loop_.get());
    sigterm_ = std::make_unique<uvpp::Signal>(loop_.get());
    server_ = std::make_unique<Server>(server_cfg, rng_, log_, now());
}

Shell::~Shell() {
    socket_.reset();
    timer_.reset();
    sigint_.reset();
    sigterm_.reset();
    if (!loop_.close())
        log_.warn("loop did not close cleanly");
}

// The core's times come from uv_hrtime, read fresh, never from uv_now: the loop's cached
// time lags real time (by a whole iteration under load, and libuv may read a coarse clock),
// which would stamp arrivals early and make deadlines fall due early. See stamp_clock.hpp.
Time Shell::now() const {
    return clock_.reading(uv_hrtime());
}

proto::Endpoint Shell::bind() {
    socket_->bind(cfg_.listen);
    socket_->set_buffer_sizes(cfg_.receive_buffer_bytes, cfg_.send_buffer_bytes);
    return socket_->local_endpoint();
}

int Shell::run() {
    // Datagrams arrive up to 64 per recvmmsg; their replies are queued and go out together at
    // the batch's end, with one sendmmsg per batch (a room message to 1,000 members is 4
    // calls, not 1,000).
    socket_->start([this](const proto::Endpoint& from, std::string_view bytes,
                          bool) { on_datagram(from, bytes); },
                   [this] { socket_->flush(); });
    sigint_->start(SIGINT, [this](int s) { on_signal(s); });
    sigterm_->start(SIGTERM, [this](int s) { on_signal(s); });
    arm_timer();
    loop_.run();
    return 0;
}

void Shell::on_datagram(const proto::Endpoint& from, std::string_view bytes) {
    uv_update_time(loop_.get()); // the timer armed below counts from the loop's time
    // Rounded up: the deadline this arrival sets is never before real arrival + timeout.
    for (const Datagram d : server_->on_datagram(from, bytes, clock_.arrival(uv_hrtime())))
        socket_->queue(d.to, d.bytes); // sent when the batch ends
    arm_timer();
}

void Shell::on_timer() {
    armed_for_.reset();
    // Rounded down, so a tick takes only deadlines already past in real time. A timer that
    // fires early (libuv counts from its cached time) makes a harmless early tick.
    const auto t = clock_.tick(uv_hrtime());
    if (!t) { // an arrival in this millisecond was stamped with the next one
        timer_->start(std::chrono::milliseconds{1}, [this] { on_timer(); });
        return;
    }
    deliver(server_->on_tick(*t));
    arm_timer();
}

void Shell::on_signal(int signum) {
    if (stopping_)
        return;
    stopping_ = true;
    log_.info(std::string("stopping signal=") + (signum == SIGINT ? "SIGINT" : "SIGTERM"));
    deliver(server_->shutdown(now()));
    const auto& s = socket_->stats();
    log_.info("socket received=" + std::to_string(s.received) + " sent=" + std::to_string(s.sent) +
              " queued=" + std::to_string(s.queued) +
              " send_errors=" + std::to_string(s.send_errors));
    socket_->close();
    timer_->close();
    sigint_->close();
    sigterm_->close();
}

void Shell::deliver(const Outbox& out) {
    for (const Datagram d : out)
        socket_->queue(d.to, d.bytes);
    socket_->flush();
}

void Shell::arm_timer() {
    if (stopping_)
        return;
    const auto wake = server_->next_wakeup();
    if (!wake) {
        timer_->stop();
        armed_for_.reset();
        return;
    }
    if (armed_for_ == wake)
        return; // the common case: a ping that moved a later deadline
    armed_for_ = wake;
    timer_->start(*wake - now(), [this] { on_timer(); });
}

} // namespace chat::rdv
