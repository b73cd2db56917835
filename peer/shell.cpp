// The peer shell; see shell.hpp.
#include "shell.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <ctime>
#include <stdexcept>

namespace chat::peer {
namespace {

using namespace std::chrono_literals;

// After end of input, answers to requests still in flight (a script's last /users) are
// waited for this long before bye.
constexpr Duration kFinishAnswersWithin = 10s; // answers and line acks after the script ends

WallClock wall_clock() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    localtime_r(&t, &tm);
    return WallClock{
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count(),
        tm.tm_hour, tm.tm_min};
}

} // namespace

Shell::Shell(ShellConfig cfg, Logger& log) : cfg_(std::move(cfg)), log_(log) {}

Shell::~Shell() {
    close_all();
    terminal_.reset();
    reader_.reset();
    socket_.reset();
    timer_.reset();
    signals_.clear();
    if (!loop_.close())
        log_.warn("loop did not close cleanly");
}

Time Shell::now() {
    uv_update_time(loop_.get());
    return time_from_millis(static_cast<std::int64_t>(uv_now(loop_.get())));
}

int Shell::run() {
    try {
        const proto::Endpoint server = resolve_server();
        bind_socket(server);
        ClientConfig cc;
        cc.name = cfg_.name;
        cc.room = cfg_.room;
        cc.server = server;
        cc.private_endpoints = private_endpoints(server);
        cc.registration.startup_timeout = cfg_.connect_timeout;
        client_ = std::make_unique<Client>(std::move(cc), rng_, log_);
        timer_ = std::make_unique<uvpp::Timer>(loop_.get());
        for (const int signum : {SIGINT, SIGTERM, SIGHUP}) {
            signals_.push_back(std::make_unique<uvpp::Signal>(loop_.get()));
            signals_.back()->start(signum, [this](int s) {
                log_.info(std::string("signal ") + (s == SIGINT    ? "SIGINT"
                                                    : s == SIGTERM ? "SIGTERM"
                                                                   : "SIGHUP"));
                quit();
            });
        }
        socket_->start([this](const proto::Endpoint& from, std::string_view bytes, bool truncated) {
            if (!truncated)
                on_datagram(from, bytes);
        });
        deliver(client_->start(now()));
        start_input();
        arm_timer();
    } catch (const std::exception& e) {
        fail(e.what());
    }
    loop_.run();
    close_all();
    return exit_code_;
}

// ---- Start-up ----

proto::Endpoint Shell::resolve_server() {
    const auto& hp = cfg_.rendezvous;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    if (cfg_.bind)
        hints.ai_family = cfg_.bind->is_v4() ? AF_INET : AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    uv_getaddrinfo_t req{};
    const std::string port = std::to_string(hp.port);
    // No callback: libuv resolves synchronously, which is what start-up wants.
    const int rc =
        uv_getaddrinfo(loop_.get(), &req, nullptr, hp.host.c_str(), port.c_str(), &hints);
    if (rc != 0)
        throw std::runtime_error("cannot resolve rendezvous host \"" + hp.host +
                                 "\": " + uv_strerror(rc));
    // A name with both families (localhost: 127.0.0.1 and ::1) is reached over IPv4: the
    // rendezvous listens on 0.0.0.0 unless told otherwise, and a UDP send gives no error to
    // fall back on when the other address is silent.
    std::optional<proto::Endpoint> found, v6;
    for (const addrinfo* ai = req.addrinfo; ai != nullptr && !found; ai = ai->ai_next) {
        const auto ep = proto::Endpoint::from_sockaddr(ai->ai_addr);
        if (ep && ep->is_v4())
            found = ep;
        else if (ep && !v6)
            v6 = ep;
    }
    uv_freeaddrinfo(req.addrinfo);
    if (!found)
        found = v6;
    if (!found)
        throw std::runtime_error("rendezvous host \"" + hp.host + "\" has no usable address");
    log_.info("resolved host=" + hp.host + " addr=" + found->to_string());
    return *found;
}

void Shell::bind_socket(const proto::Endpoint& server) {
    proto::Endpoint local;
    if (cfg_.bind)
        local = *cfg_.bind;
    else if (server.is_v6())
        local = proto::Endpoint::v6({}, 0); // [::]:0, dual-stack
    else
        local = proto::Endpoint::v4({0, 0, 0, 0}, 0);
    if (local.is_v4() && server.is_v6())
        throw std::runtime_error("cannot reach IPv6 rendezvous " + server.to_string() +
                                 " from IPv4 address --bind " + local.to_string());
    socket_ = std::make_unique<uvpp::UdpSocket>(loop_.get());
    try {
        socket_->bind(local);
    } catch (const uvpp::UvError& e) {
        throw std::runtime_error("cannot bind " + local.to_string() + ": " + e.what());
    }
    log_.info("bound addr=" + socket_->local_endpoint().to_string());
}

std::vector<proto::Endpoint> Shell::private_endpoints(const proto::Endpoint& server) const {
    const proto::Endpoint bound = socket_->local_endpoint();
    std::vector<proto::Endpoint> out;
    const auto add = [&](const proto::Endpoint& e) {
        if (out.size() < proto::kMaxPrivateEndpoints &&
            std::find(out.begin(), out.end(), e) == out.end())
            out.push_back(e);
    };
    if (!bound.is_unspecified()) {
        add(bound); // bound to one address: that is the only one we can be reached at
        return out;
    }
    uv_interface_address_t* addrs = nullptr;
    int count = 0;
    if (uv_interface_addresses(&addrs, &count) != 0)
        return out;
    std::vector<proto::Endpoint> lan, loopback;
    for (int i = 0; i < count; ++i) {
        const auto& a = addrs[i];
        auto ep = proto::Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&a.address));
        if (!ep)
            continue;
        if (bound.is_v4() && ep->is_v6())
            continue; // an IPv4 socket cannot be reached over IPv6
        if (ep->is_v6() && ep->bytes()[0] == 0xfe && (ep->bytes()[1] & 0xc0) == 0x80)
            continue; // link-local: useless without a scope id
        sockaddr_storage ss{};
        if (!ep->to_sockaddr(ep->is_v6() ? AF_INET6 : AF_INET, ss))
            continue;
        auto with_port = ep->is_v6() ? proto::Endpoint::v6(ep->bytes(), bound.port())
                                     : proto::Endpoint::v4({ep->bytes()[0], ep->bytes()[1],
                                                            ep->bytes()[2], ep->bytes()[3]},
                                                           bound.port());
        (a.is_internal != 0 ? loopback : lan).push_back(with_port);
    }
    uv_free_interface_addresses(addrs, count);
    // Loopback is only worth announcing when the rendezvous itself is on this machine (then
    // the other peers are too); it goes first then, being the one that surely works.
    if (server.is_loopback())
        for (const auto& e : loopback)
            if (e.is_v4() == server.is_v4())
                add(e);
    for (const auto& e : lan)
        add(e);
    return out;
}

void Shell::start_input() {
    if (cfg_.mode == UiMode::Terminal) {
        terminal_ = std::make_unique<Terminal>(
            loop_.get(), Terminal::Callbacks{[this](std::string l) { on_input_line(std::move(l)); },
                                             [this] { quit(); }, [this] { quit(); }});
        terminal_->set_prompt(prompt());
        return;
    }
    reader_ = std::make_unique<LineReader>(
        loop_.get(), [this](std::string l) { on_input_line(std::move(l)); },
        [this] { on_end_of_input(); });
    reader_->start();
}

// ---- One step per callback ----

void Shell::on_datagram(const proto::Endpoint& from, std::string_view bytes) {
    if (closing_)
        return;
    deliver(client_->on_datagram(from, bytes, now()));
    drain_queued_input();
    maybe_finish_input();
    arm_timer();
}

void Shell::on_timer() {
    if (closing_)
        return;
    deliver(client_->on_tick(now()));
    drain_queued_input();
    maybe_finish_input();
    arm_timer();
}

void Shell::on_input_line(std::string line) {
    if (closing_)
        return;
    queued_.push_back(std::move(line));
    drain_queued_input();
    arm_timer();
}

void Shell::on_end_of_input() {
    if (closing_)
        return;
    input_ended_ = true;
    if (cfg_.mode == UiMode::Terminal) {
        quit(); // Ctrl-D: leave at once
        return;
    }
    maybe_finish_input();
    arm_timer();
}

void Shell::run_line(const std::string& line) {
    auto parsed = parse_command(line);
    if (auto* usage = std::get_if<UsageError>(&parsed)) {
        show(ui::Error{"usage", usage->text});
        return;
    }
    if (auto* c = std::get_if<Command>(&parsed))
        deliver(client_->on_command(*c, now()));
}

void Shell::drain_queued_input() {
    if (draining_)
        return;
    draining_ = true;
    while (!queued_.empty() && !closing_) {
        // Lines wait for the first welcome, then run one at a time after the answers to the
        // one before (see waiting_for_answer), so "/create dev bob" has made dev current
        // before the next line is said, and output stays in order.
        if (client_->state() == ConnectionState::Connecting)
            break;
        if (waiting_for_answer())
            break;
        if (!client_->ready_for_input(now()))
            break; // a paste or a fast script: held back under the server's rate limit
        if (script_quit_must_wait(queued_.front()))
            break;
        const std::string line = std::move(queued_.front());
        queued_.pop_front();
        run_line(line);
    }
    draining_ = false;
}

bool Shell::script_quit_must_wait(const std::string& line) {
    // A script's "/quit" right after its last lines waits (a bounded while) until they are
    // acknowledged, as end of input does: quitting first would report them undelivered.
    if (cfg_.mode == UiMode::Terminal || client_->unsettled_lines() == 0)
        return false;
    const auto parsed = parse_command(line);
    const auto* c = std::get_if<Command>(&parsed);
    if (c == nullptr || !std::holds_alternative<cmd::Quit>(*c))
        return false;
    const Time t = now();
    if (!finish_by_)
        finish_by_ = t + kFinishAnswersWithin;
    return t < *finish_by_;
}

bool Shell::waiting_for_answer() const {
    // A script waits for every answer, so its output is in order; a person only for those
    // that change where the next line goes or print a result (not for each line's ok).
    return cfg_.mode == UiMode::Terminal ? client_->awaiting_answer() : client_->has_pending();
}

void Shell::maybe_finish_input() {
    if (!input_ended_ || closing_ || !queued_.empty())
        return;
    if (client_->state() == ConnectionState::Connecting)
        return; // registration first: the script's lines may still be queued behind it
    const Time t = now();
    if (!finish_by_)
        finish_by_ = t + kFinishAnswersWithin;
    if ((!client_->has_pending() && client_->unsettled_lines() == 0) || t >= *finish_by_)
        quit();
}

void Shell::deliver(const Outbox& out) {
    for (const auto& d : out.datagrams)
        if (!socket_->send(d.to, d.bytes))
            log_.warn("send_failed to=" + d.to.to_string() +
                      " errors=" + std::to_string(socket_->stats().send_errors));
    for (const auto& e : out.events) {
        if (closing_)
            return;
        show(e);
    }
    if (terminal_)
        terminal_->set_prompt(prompt());
}

void Shell::show(const UiEvent& e) {
    if (const auto* f = std::get_if<ui::Fatal>(&e)) {
        if (cfg_.mode == UiMode::Json)
            write_all(1, render_json(e, wall_clock()) + "\n");
        fail(f->text);
        return;
    }
    if (cfg_.mode == UiMode::Json)
        write_all(1, render_json(e, wall_clock()) + "\n");
    else
        print_lines(render_text(e, wall_clock(), RenderOptions{cfg_.color}));
    if (std::holds_alternative<ui::Quit>(e)) {
        quit_shown_ = true;
        quit();
    }
}

void Shell::print_lines(const std::vector<std::string>& lines) {
    if (terminal_) {
        terminal_->print(lines);
        return;
    }
    std::string out;
    for (const auto& l : lines)
        out += l + "\n";
    write_all(1, out);
}

void Shell::arm_timer() {
    if (closing_ || !timer_)
        return;
    auto wake = client_->next_wakeup();
    if (finish_by_ && (!wake || *finish_by_ < *wake))
        wake = finish_by_;
    // Input held back by the pacer alone (not by a missing answer or a full direct window,
    // which a datagram or the client's own timers end) needs a wake-up when the pacer allows
    // it: that is always later than now, so this timer cannot spin.
    const Time t = now();
    if (!queued_.empty() && client_->state() == ConnectionState::Online && !waiting_for_answer() &&
        !client_->ready_for_input(t)) {
        const auto ready = client_->input_ready_at(t);
        if (ready && (!wake || *ready < *wake))
            wake = ready;
    }
    if (!wake) {
        timer_->stop();
        return;
    }
    const auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(*wake - t);
    timer_->start(std::max(delay, std::chrono::milliseconds{0}), [this] { on_timer(); });
}

// ---- Leaving ----

void Shell::quit() {
    if (closing_)
        return;
    // The core's bye (unless /quit already sent it), at once: the others see us leave now
    // rather than time out in ten seconds.
    const Outbox bye = client_ ? client_->shutdown(now()) : Outbox{};
    for (const auto& d : bye.datagrams)
        socket_->send(d.to, d.bytes);
    if (cfg_.mode == UiMode::Json && !quit_shown_)
        write_all(1, render_json(ui::Quit{}, wall_clock()) + "\n");
    closing_ = true;
    log_.info("quit");
    exit_code_ = 0;
    close_all();
}

void Shell::fail(const std::string& line) {
    exit_code_ = 1;
    closing_ = true;
    close_all(); // restores the terminal first, so the line lands on a clean screen
    write_all(2, "peer: " + line + "\n");
    log_.error("fatal " + line);
}

void Shell::close_all() {
    if (terminal_)
        terminal_->close();
    if (reader_)
        reader_->close();
    if (socket_)
        socket_->close();
    if (timer_)
        timer_->close();
    for (auto& s : signals_)
        s->close();
}

std::string Shell::prompt() const {
    if (!client_)
        return "> ";
    const Target& t = client_->target();
    switch (t.kind) {
    case Target::Kind::Room:
        return "[" + t.name + "] ";
    case Target::Kind::Direct:
        return "[@" + t.name + "] ";
    case Target::Kind::None:
        break;
    }
    return "> ";
}

} // namespace chat::peer
