// loadgen: one process that acts as up to 100,000 udpchat peers (or as clients of the raw
// baselines), for scripts/bench. Not part of the product.
//
// Every peer is its own loopback address, 127.1.0.1 + i, on one port: a single socket bound
// to the wildcard address sends each datagram from the peer's address (IP_PKTINFO) and
// learns from each reply which peer it was for. So 100,000 peers cost one descriptor and
// every send and receive is batched (sendmmsg/recvmmsg), which keeps the generator cheaper
// per datagram than the servers it measures. The wildcard bind only receives: every
// destination is the --server address, which must be loopback.
//
// Peers register as the real one does (peer/registration.cpp): a hello naming its LAN
// candidate, the server's retry, the same hello with the retry's cookie, then the welcome;
// they heartbeat with "#ping#" and their session's tag. Against a raw baseline the same
// bytes go out (a ping with a tag of zeros), so both sides carry datagrams of one size.
//
// Registered peers leave `lobby` right after their welcome: each join and leave is told to
// every lobby member, so 100,000 peers sitting in the lobby would cost about 5e9 notices
// to register. Registration keeps few in flight for the same reason.
//
// Scenarios run in the order given, on the same registered peers, each repeated --reps
// times; the result is one JSON object on stdout with every repetition and their median.
// Everything is bounded: each phase has a deadline and --max-seconds ends the process.
#include "batch_socket.hpp"
#include "probes.hpp"

#include "proto/codec.hpp"
#include "proto/heartbeat_tag.hpp"

#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <deque>
#include <iostream>
#include <string>
#include <unordered_map>
#include <vector>

namespace chat::bench {
namespace {

using Json = nlohmann::json;
constexpr std::int64_t kMs = 1'000'000;  // nanoseconds
constexpr std::int64_t kSecond = 1000 * kMs;
constexpr std::uint32_t kFirstPeerIp = 0x7F010001;  // 127.1.0.1: peer 0
constexpr std::size_t kMaxPeers = 1'000'000;        // stays inside 127.0.0.0/8
const std::string kRoom = "bench";

std::int64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * kSecond + ts.tv_nsec;
}

std::int64_t seconds_ns(double s) { return static_cast<std::int64_t>(s * 1e9); }

// The q-quantile (0..1) of `v` in microseconds; -1 when empty. Reorders v.
double quantile_us(std::vector<std::int64_t>& v, double q) {
    if (v.empty()) return -1;
    const auto k = static_cast<std::size_t>(std::llround(q * static_cast<double>(v.size() - 1)));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return static_cast<double>(v[k]) / 1000.0;
}

double median(std::vector<double> v) {
    if (v.empty()) return -1;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Median of field `key` over the repetitions in `reps`.
double median_of(const Json& reps, const char* key) {
    std::vector<double> v;
    for (const auto& r : reps) v.push_back(r.at(key).get<double>());
    return median(v);
}

struct Options {
    Addr server;
    Addr echo_baseline, fanout_baseline;  // port 0: none
    int echo_pid = 0, fanout_pid = 0;
    bool rdv = true;  // the rendezvous (JSON registration) or a raw baseline
    std::vector<std::string> scenarios;
    std::size_t peers = 1000;    // registered (rdv) or addressed (raw) for intake/evict
    std::size_t sources = 1000;  // of them, pinging in throughput/latency
    std::size_t window = 128;    // pings in flight (throughput)
    double seconds = 2;          // per throughput/latency/relay repetition
    int reps = 3;
    std::vector<double> rates{20000, 100000};  // intake, datagrams/s
    double intake_seconds = 10;
    int intake_reps = 1;
    std::size_t members = 1000;  // relay room, sender included
    std::size_t text_bytes = 100;
    std::size_t msg_window = 8;  // relay messages in flight
    std::size_t reg_window = 4;  // each one in flight sits in the lobby: 2 notices
    int server_pid = 0;
    double server_timeout = 10;  // evict: the server's --timeout
    std::size_t others = 200;    // evict: peers that keep pinging through the burst
    double others_rate = 2000;   // evict: their pings per second, all together
};

// A server being measured: the rendezvous, or a raw baseline (raw_echo, raw_fanout).
struct Target {
    Addr addr;
    bool rdv = true;  // speaks the udpchat protocol
    int pid = 0;      // for CPU and RSS; 0: unknown
};

class Loadgen {
public:
    explicit Loadgen(const Options& o)
        : o_(o), main_{o.server, o.rdv, o.server_pid}, echo_{o.echo_baseline, false, o.echo_pid},
          fanout_{o.fanout_baseline, false, o.fanout_pid}, cur_(main_), sock_(0, 0, true) {
        rcvbuf_ = sock_.raise_buffers(64 << 20);
    }

    Json run() {
        Json out;
        out["proto"] = o_.rdv ? "rendezvous" : "raw";
        out["loadgen_rcvbuf"] = rcvbuf_;
        for (const auto& s : o_.scenarios) {
            const auto cpu0 = self_cpu();
            const auto t0 = now_ns();
            Json r;
            if (s == "register")
                r = scenario_register();
            else if (s == "throughput")
                r = scenario_ping(o_.window, o_.seconds);
            else if (s == "latency")
                r = scenario_ping(1, o_.seconds);
            else if (s == "intake")
                r["rates"] = scenario_intake();
            else if (s == "relay")
                r = scenario_relay();
            else if (s == "evict")
                r = scenario_evict();
            else
                throw std::runtime_error("unknown scenario " + s);
            const auto cpu = self_cpu() - cpu0;
            r["wall_s"] = static_cast<double>(now_ns() - t0) / 1e9;
            r["loadgen_user_s"] = cpu.user;
            r["loadgen_sys_s"] = cpu.sys;
            out[s] = r;
        }
        return out;
    }

private:
    enum class State : std::uint8_t { Idle, Hello, Leave, Join, Ready, Failed };
    struct Src {
        proto::Token token;
        std::array<char, proto::kHeartbeatTagHexChars> tag{};  // the session's; zeros: none
        std::int64_t sent_ns = 0;     // a request in flight since then; 0: none
        std::int64_t last_ok_ns = 0;  // send time of the last request that was answered
        State state = State::Idle;
        std::uint8_t tries = 0;
    };

    static std::uint32_t ip_of(std::size_t i) { return kFirstPeerIp + static_cast<std::uint32_t>(i); }
    Src& src(std::size_t i) {
        if (i >= srcs_.size()) srcs_.resize(i + 1);
        return srcs_[i];
    }
    void send(std::size_t i, std::string_view bytes) { sock_.add(cur_.addr, bytes, ip_of(i)); }
    // "#ping#" and the peer's tag: its session's heartbeat (zeros before it has one, which
    // is what the raw baselines are sent, so they echo a datagram of the same size).
    void send_heartbeat(std::size_t i) {
        std::array<char, sizeof proto::kPing - 1 + proto::kHeartbeatTagHexChars> b{};
        std::copy_n(proto::kPing, sizeof proto::kPing - 1, b.begin());
        const auto& tag = src(i).tag;
        if (tag[0] == '\0')
            std::fill(b.begin() + sizeof proto::kPing - 1, b.end(), '0');
        else
            std::copy(tag.begin(), tag.end(), b.begin() + sizeof proto::kPing - 1);
        send(i, std::string_view(b.data(), b.size()));
    }
    void send_ping(std::size_t i) {
        src(i).sent_ns = now_ns();
        send_heartbeat(i);
    }
    bool is_pong(std::string_view b) const { return !cur_.rdv || b == proto::kPong; }

    // Sends what is queued, waits up to timeout_ms for replies and hands each one that came
    // from the server to f(peer index, bytes, receive time).
    template <typename F> std::size_t pump(int timeout_ms, F&& f) {
        sock_.flush();
        const std::size_t n = sock_.receive(timeout_ms);
        const std::int64_t t = now_ns();
        for (std::size_t k = 0; k < n; ++k) {
            const Received& r = sock_.at(k);
            if (!(r.from == cur_.addr) || r.to_ip < kFirstPeerIp) continue;
            const std::size_t i = r.to_ip - kFirstPeerIp;
            if (i < srcs_.size()) f(i, r.bytes, t);
        }
        return n;
    }
    void drain(std::int64_t for_ns) {
        const auto end = now_ns() + for_ns;
        while (now_ns() < end) pump(5, [](std::size_t, std::string_view, std::int64_t) {});
    }
    Json server_sample() const {
        Json j;
        const auto self = self_cpu();
        j["at_s"] = static_cast<double>(now_ns()) / 1e9;
        j["gen_user_s"] = self.user;
        j["gen_sys_s"] = self.sys;
        if (cur_.pid == 0) return j;
        const auto c = process_cpu(cur_.pid);
        j["user_s"] = c.user;
        j["sys_s"] = c.sys;
        j["drops"] = udp_drops(cur_.addr.port);
        return j;
    }
    // Adds the CPU use of both sides (seconds, and CPU seconds per wall second: 1.0 is a
    // whole core) and the server's kernel drops between two samples to `rep`.
    void add_server_delta(Json& rep, const Json& before, const Json& after) const {
        const double wall = after["at_s"].get<double>() - before["at_s"].get<double>();
        auto frac = [&](const char* key) {
            return (after[key].get<double>() - before[key].get<double>()) / std::max(wall, 1e-9);
        };
        rep["gen_user_frac"] = frac("gen_user_s");
        rep["gen_sys_frac"] = frac("gen_sys_s");
        if (!after.contains("user_s")) return;
        rep["server_user_frac"] = frac("user_s");
        rep["server_sys_frac"] = frac("sys_s");
        rep["server_user_s"] = after["user_s"].get<double>() - before["user_s"].get<double>();
        rep["server_sys_s"] = after["sys_s"].get<double>() - before["sys_s"].get<double>();
        rep["kernel_drops"] =
            after["drops"].get<std::uint64_t>() - before["drops"].get<std::uint64_t>();
    }

    // Server CPU (user + sys) per operation, in microseconds: less sensitive than a rate to
    // other work sharing the core, since a starved server is slow but not costlier.
    static void add_cpu_per_op(Json& rep, std::uint64_t ops) {
        if (!rep.contains("server_user_s") || ops == 0) return;
        rep["server_cpu_us_per_op"] =
            (rep["server_user_s"].get<double>() + rep["server_sys_s"].get<double>()) * 1e6 /
            static_cast<double>(ops);
    }

    static void add_cpu_medians(Json& r, const Json& reps) {
        for (const char* k : {"server_user_s", "server_sys_s", "server_user_frac",
                              "server_sys_frac", "gen_user_frac", "gen_sys_frac",
                              "server_cpu_us_per_op"})
            if (reps[0].contains(k)) r[k] = median_of(reps, k);
    }

    // Runs one() once per repetition against the server and, when there is a baseline,
    // once against it too, alternating which goes first: on a shared machine, other work
    // then weighs on both alike. Returns the server's repetitions and the baseline's.
    template <typename F> std::pair<Json, Json> interleaved(int reps, const Target* base, F&& one) {
        Json a = Json::array(), b = Json::array();
        for (int k = 0; k < reps; ++k)
            for (int side = 0; side < (base != nullptr ? 2 : 1); ++side) {
                const bool on_base = base != nullptr && (k + side) % 2 == 1;
                cur_ = on_base ? *base : main_;
                (on_base ? b : a).push_back(one());
            }
        cur_ = main_;
        return {a, b};
    }
    const Target* echo() const { return echo_.addr.port != 0 ? &echo_ : nullptr; }
    const Target* fanout() const { return fanout_.addr.port != 0 ? &fanout_ : nullptr; }

    // ------------------------------------------------------------ registration

    // The hello peer `i` sends: named by port too (a second run against the same server must
    // not collide), its own address as its LAN candidate, and the cookie if it has one.
    proto::Hello hello_of(std::size_t i, std::optional<std::string> cookie) const {
        const std::uint32_t ip = ip_of(i);
        const proto::Endpoint lan = proto::Endpoint::v4(
            {static_cast<std::uint8_t>(ip >> 24), static_cast<std::uint8_t>(ip >> 16),
             static_cast<std::uint8_t>(ip >> 8), static_cast<std::uint8_t>(ip)},
            sock_.port());
        return proto::Hello{"b" + std::to_string(sock_.port()) + "." + std::to_string(i),
                            {lan},
                            std::nullopt,
                            std::move(cookie)};
    }

    void send_step(std::size_t i, const std::string& room) {
        Src& s = src(i);
        s.sent_ns = now_ns();
        switch (s.state) {
        case State::Hello: {
            const auto c = cookies_.find(i);
            send(i, proto::encode(hello_of(
                        i, c == cookies_.end() ? std::nullopt : std::optional{c->second.first})));
            break;
        }
        case State::Leave:
            send(i, proto::encode(proto::Leave{s.token, 1, proto::kLobby}));
            break;
        case State::Join:
            send(i, cur_.rdv ? proto::encode(proto::Join{s.token, 2, room}) : std::string("J"));
            break;
        default:
            break;
        }
    }

    // Registers peers [begin, end): rdv: hello, leave lobby, then join `room` if not empty;
    // raw: "J" (the fan-out's join). Returns how many are ready. With `in_lobby` (and no
    // `room`), rdv peers stay in the lobby, as real peers do: the memory row counts it.
    // With `keepalive` > 0, a peer registered that long ago gets a #ping# (not awaited), so
    // a registration that takes longer than the server's timeout loses nobody.
    std::size_t register_range(std::size_t begin, std::size_t end, const std::string& room,
                               std::int64_t keepalive = 0, bool in_lobby = false) {
        (void)src(end - 1);
        std::vector<std::size_t> inflight;
        std::deque<std::pair<std::int64_t, std::size_t>> alive;  // (refreshed at, peer)
        std::size_t next = begin, ready = 0, failed = 0;
        const std::int64_t deadline = now_ns() + 120 * kSecond;
        auto finish = [&](std::size_t i, State st) {
            Src& s = src(i);
            s.state = st;
            if (st == State::Ready) {
                s.last_ok_ns = s.sent_ns;
                ++ready;
                if (keepalive > 0) alive.emplace_back(s.sent_ns, i);
            } else {
                ++failed;
            }
            s.sent_ns = 0;
            cookies_.erase(i);
            inflight.erase(std::find(inflight.begin(), inflight.end(), i));
        };
        auto advance = [&](std::size_t i, State st) {
            src(i).state = st;
            src(i).tries = 0;
            send_step(i, room);
        };
        while (ready + failed < end - begin && now_ns() < deadline) {
            while (inflight.size() < o_.reg_window && next < end) {
                inflight.push_back(next);
                advance(next, cur_.rdv ? State::Hello : State::Join);
                ++next;
            }
            pump(2, [&](std::size_t i, std::string_view b, std::int64_t) {
                Src& s = srcs_[i];
                if (s.state != State::Hello && s.state != State::Leave && s.state != State::Join)
                    return;
                if (!cur_.rdv) {
                    if (b == "j") finish(i, State::Ready);
                    return;
                }
                // Skip the joined/left notices cheaply: only a reply moves a peer on.
                const bool hello = s.state == State::Hello;
                const bool reply =
                    b.find(hello ? "\"t\":\"welcome\"" : "\"t\":\"ok\"") !=
                        std::string_view::npos ||
                    (hello && b.find("\"t\":\"retry\"") != std::string_view::npos) ||
                    b.find("\"t\":\"error\"") != std::string_view::npos;
                if (!reply) return;
                auto decoded = proto::decode(b);
                const auto* m = std::get_if<proto::Message>(&decoded);
                if (m == nullptr) return;
                const auto* ok = std::get_if<proto::Ok>(m);
                const auto* err = std::get_if<proto::Error>(m);
                if (s.state == State::Hello) {
                    if (const auto* retry = std::get_if<proto::Retry>(m)) {
                        // The same hello again with the cookie. A retry answers a hello
                        // without one (or a lost one, resent), so a few are normal; more
                        // mean our cookies are refused: fail the peer rather than loop.
                        ++retries_;
                        auto& [cookie, seen] = cookies_[i];
                        cookie = retry->cookie;
                        if (++seen > 3) {
                            finish(i, State::Failed);
                            return;
                        }
                        send_step(i, room);
                    } else if (const auto* w = std::get_if<proto::Welcome>(m)) {
                        s.token = w->token;
                        const std::string tag = proto::heartbeat_tag(w->token);
                        std::copy_n(tag.begin(), std::min(tag.size(), s.tag.size()),
                                    s.tag.begin());
                        if (in_lobby && room.empty())
                            finish(i, State::Ready);
                        else
                            advance(i, State::Leave);
                    } else if (err != nullptr) {
                        finish(i, State::Failed);
                    }
                } else if (s.state == State::Leave) {
                    if (ok != nullptr && ok->id == 1) {
                        if (room.empty())
                            finish(i, State::Ready);
                        else
                            advance(i, State::Join);
                    } else if (err != nullptr && err->id == 1u) {
                        finish(i, State::Failed);
                    }
                } else if (ok != nullptr && ok->id == 2) {
                    finish(i, State::Ready);
                } else if (err != nullptr && err->id == 2u) {
                    finish(i, State::Failed);
                }
            });
            const std::int64_t t = now_ns();
            while (!alive.empty() && t - alive.front().first > keepalive) {
                const std::size_t i = alive.front().second;
                alive.pop_front();
                send_heartbeat(i);
                alive.emplace_back(t, i);
            }
            for (std::size_t k = 0; k < inflight.size(); ++k) {
                const std::size_t i = inflight[k];
                if (t - srcs_[i].sent_ns < kSecond) continue;
                if (++srcs_[i].tries > 3) {
                    finish(i, State::Failed);
                    --k;
                } else {
                    send_step(i, room);
                }
            }
        }
        registered_ = std::max(registered_, end);
        return ready;
    }

    // The shape of a registration against raw_echo: each peer sends its hello, waits for the
    // echo (where the rendezvous answers retry), sends the hello with a cookie and waits again
    // (the welcome): two round trips of the same bytes, --reg-window peers in flight, a lost
    // one resent after a second as in register_range.
    Json echo_registrations(std::size_t count) {
        (void)src(count - 1);
        cur_ = echo_;
        const std::string cookie(proto::kCookieHexChars, '0');
        std::vector<std::uint8_t> trip(count, 0);  // round trips done
        std::vector<std::uint8_t> tries(count, 0);
        std::vector<std::int64_t> sent(count, 0);
        std::vector<std::size_t> inflight;
        std::size_t next = 0, ready = 0, failed = 0;
        auto step = [&](std::size_t i) {
            sent[i] = now_ns();
            send(i, proto::encode(hello_of(i, trip[i] == 0 ? std::nullopt : std::optional{cookie})));
        };
        auto done = [&](std::size_t i, bool ok) {
            (ok ? ready : failed) += 1;
            sent[i] = 0;
            inflight.erase(std::find(inflight.begin(), inflight.end(), i));
        };
        const Json s0 = server_sample();
        const auto t0 = now_ns();
        const std::int64_t deadline = t0 + 120 * kSecond;
        while (ready + failed < count && now_ns() < deadline) {
            while (inflight.size() < o_.reg_window && next < count) {
                inflight.push_back(next);
                step(next++);
            }
            pump(2, [&](std::size_t i, std::string_view, std::int64_t) {
                if (i >= count || sent[i] == 0) return;
                tries[i] = 0;
                if (++trip[i] == 2)
                    done(i, true);
                else
                    step(i);
            });
            const std::int64_t t = now_ns();
            for (std::size_t k = 0; k < inflight.size(); ++k) {
                const std::size_t i = inflight[k];
                if (t - sent[i] < kSecond) continue;
                if (++tries[i] > 3) {
                    done(i, false);
                    --k;
                } else {
                    step(i);
                }
            }
        }
        Json r;
        r["seconds"] = static_cast<double>(now_ns() - t0) / 1e9;
        r["ready"] = ready;
        r["per_s"] = static_cast<double>(ready) / std::max(r["seconds"].get<double>(), 1e-9);
        add_server_delta(r, s0, server_sample());
        add_cpu_per_op(r, ready);
        cur_ = main_;
        return r;
    }

    Json scenario_register() {
        Json r;
        const std::int64_t rss0 = main_.pid != 0 ? rss_kib(main_.pid) : 0;
        const std::size_t retries0 = retries_;
        const Json s0 = server_sample();
        const auto t0 = now_ns();
        // They stay in the lobby: row 4 is the cost of a registered peer, lobby included.
        // Only its first 1,000 members hear of each other (~500,000 notices in all).
        const std::size_t ready = main_.rdv ? register_range(0, o_.peers, "", 0, true) : 0;
        r["seconds"] = static_cast<double>(now_ns() - t0) / 1e9;
        r["peers"] = o_.peers;
        r["ready"] = ready;
        r["retries"] = retries_ - retries0;
        r["per_s"] = static_cast<double>(ready) / std::max(r["seconds"].get<double>(), 1e-9);
        add_server_delta(r, s0, server_sample());
        add_cpu_per_op(r, ready);
        drain(200 * kMs);
        if (main_.pid != 0) {
            const std::int64_t rss1 = rss_kib(main_.pid);
            r["rss_before_kib"] = rss0;
            r["rss_after_kib"] = rss1;
            r["rss_per_peer_bytes"] =
                ready == 0 ? 0.0
                           : static_cast<double>(rss1 - rss0) * 1024.0 / static_cast<double>(ready);
        }
        if (main_.rdv && echo() != nullptr && o_.peers > 0) r["baseline"] = echo_registrations(o_.peers);
        return r;
    }

    // ------------------------------------------------------------ pings

    struct PingRep {
        double rate = 0;
        std::vector<std::int64_t> lat;
        std::uint64_t lost = 0;
        std::uint64_t all = 0;  // every reply, warm-up and drain included: for CPU per op
    };

    // Closed loop: `window` pings in flight from sources [0, count), each source at most one
    // at a time, the next ping always from the source idle longest. Measures `seconds` after
    // 0.2 s of warm-up.
    PingRep ping_closed(std::size_t count, std::size_t window, double seconds) {
        (void)src(count - 1);
        PingRep rep;
        std::deque<std::size_t> idle;
        for (std::size_t i = 0; i < count; ++i) {
            srcs_[i].sent_ns = 0;
            idle.push_back(i);
        }
        auto fire = [&] {
            const std::size_t i = idle.front();
            idle.pop_front();
            send_ping(i);
        };
        const std::int64_t t0 = now_ns(), warm = t0 + 200 * kMs, end = warm + seconds_ns(seconds);
        for (std::size_t w = 0; w < std::min(window, count); ++w) fire();
        std::uint64_t replies = 0;
        std::int64_t last_scan = t0;
        for (std::int64_t t = t0; t < end; t = now_ns()) {
            pump(1, [&](std::size_t i, std::string_view b, std::int64_t at) {
                Src& s = srcs_[i];
                if (s.sent_ns == 0 || i >= count || !is_pong(b)) return;
                ++rep.all;
                if (at >= warm && at < end) {
                    ++replies;
                    rep.lat.push_back(at - s.sent_ns);
                }
                s.last_ok_ns = s.sent_ns;
                s.sent_ns = 0;
                idle.push_back(i);
                fire();
            });
            if (t - last_scan > 100 * kMs) {
                last_scan = t;
                for (std::size_t i = 0; i < count; ++i)
                    if (srcs_[i].sent_ns != 0 && t - srcs_[i].sent_ns > 500 * kMs) {
                        ++rep.lost;
                        srcs_[i].sent_ns = 0;
                        idle.push_back(i);
                        fire();
                    }
            }
        }
        sock_.flush();
        const std::int64_t drain_end = now_ns() + 200 * kMs;
        while (now_ns() < drain_end)
            pump(5, [&](std::size_t i, std::string_view b, std::int64_t) {
                if (i < count && srcs_[i].sent_ns != 0 && is_pong(b)) ++rep.all;
            });
        for (std::size_t i = 0; i < count; ++i) srcs_[i].sent_ns = 0;
        rep.rate = static_cast<double>(replies) / seconds;
        return rep;
    }

    Json scenario_ping(std::size_t window, double seconds) {
        const std::size_t count = main_.rdv ? std::min(o_.sources, registered_) : o_.sources;
        if (count == 0) throw std::runtime_error("no sources: register peers first");
        auto one = [&] {
            const Json s0 = server_sample();
            auto p = ping_closed(count, window, seconds);
            Json rep;
            add_server_delta(rep, s0, server_sample());
            rep["round_trips_per_s"] = p.rate;
            add_cpu_per_op(rep, p.all);
            rep["p50_us"] = quantile_us(p.lat, 0.5);
            rep["p99_us"] = quantile_us(p.lat, 0.99);
            rep["lost"] = p.lost;
            return rep;
        };
        auto summary = [&](const Json& reps) {
            Json r;
            r["sources"] = count;
            r["window"] = window;
            r["reps"] = reps;
            for (const char* k : {"round_trips_per_s", "p50_us", "p99_us"})
                r[k] = median_of(reps, k);
            add_cpu_medians(r, reps);
            return r;
        };
        const auto [reps, base] = interleaved(o_.reps, echo(), one);
        Json r = summary(reps);
        if (!base.empty()) r["baseline"] = summary(base);
        return r;
    }

    // Open loop: pings at `rate` per second from sources [first, first + count) in turn.
    struct Flow {
        std::size_t first = 0, count = 0;
        double rate = 0;
        std::int64_t t0 = 0;
        std::uint64_t sent = 0, replied = 0;
        std::vector<std::pair<std::int64_t, std::int64_t>> samples;  // (sent at, latency)

        bool behind(std::int64_t t) const {
            return static_cast<double>(sent) < static_cast<double>(t - t0) * rate / 1e9;
        }
        template <typename Send> void send_due(std::int64_t t, Send&& ping) {
            const auto due =
                static_cast<std::uint64_t>(static_cast<double>(t - t0) * rate / 1e9);
            for (std::size_t burst = 0; sent < due && burst < 1024; ++burst, ++sent)
                ping(first + static_cast<std::size_t>(sent % count));
        }
        bool owns(std::size_t i) const { return i >= first && i < first + count; }
        void on_reply(Src& s, std::int64_t at) {
            if (s.sent_ns == 0) return;
            ++replied;
            samples.emplace_back(s.sent_ns, at - s.sent_ns);
            s.last_ok_ns = s.sent_ns;
            s.sent_ns = 0;
        }
        std::vector<std::int64_t> latencies(std::int64_t from, std::int64_t to) const {
            std::vector<std::int64_t> v;
            for (const auto& [at, lat] : samples)
                if (at >= from && at < to) v.push_back(lat);
            return v;
        }
    };

    Json scenario_intake() {
        const std::size_t count = main_.rdv ? registered_ : o_.peers;
        if (count == 0) throw std::runtime_error("no peers: register first");
        (void)src(count - 1);
        Json r = Json::array();
        for (const double rate : o_.rates) {
            auto one = [&] {
                const Json s0 = server_sample();
                Flow f{0, count, rate, now_ns(), 0, 0, {}};
                f.samples.reserve(static_cast<std::size_t>(rate * o_.intake_seconds * 1.1));
                const std::int64_t end = f.t0 + seconds_ns(o_.intake_seconds);
                auto ping = [&](std::size_t i) { send_ping(i); };
                auto on = [&](std::size_t i, std::string_view b, std::int64_t at) {
                    if (f.owns(i) && is_pong(b)) f.on_reply(srcs_[i], at);
                };
                for (std::int64_t t = f.t0; t < end; t = now_ns()) {
                    f.send_due(t, ping);
                    pump(f.behind(now_ns()) ? 0 : 1, on);
                }
                sock_.flush();
                const std::int64_t grace = now_ns() + 500 * kMs;
                while (now_ns() < grace && f.replied < f.sent) pump(5, on);
                Json rep;
                add_server_delta(rep, s0, server_sample());
                auto lat = f.latencies(0, end);
                add_cpu_per_op(rep, f.replied);
                rep["sent"] = f.sent;
                rep["replied"] = f.replied;
                rep["lost"] = f.sent - f.replied;
                rep["achieved_per_s"] = static_cast<double>(f.sent) / o_.intake_seconds;
                rep["p50_us"] = quantile_us(lat, 0.5);
                rep["p99_us"] = quantile_us(lat, 0.99);
                for (std::size_t i = 0; i < count; ++i) srcs_[i].sent_ns = 0;
                return rep;
            };
            auto summary = [&](const Json& reps) {
                Json one_rate;
                one_rate["rate"] = rate;
                one_rate["peers"] = count;
                one_rate["seconds"] = o_.intake_seconds;
                one_rate["reps"] = reps;
                for (const char* k : {"lost", "achieved_per_s", "p50_us", "p99_us"})
                    one_rate[k] = median_of(reps, k);
                add_cpu_medians(one_rate, reps);
                if (reps[0].contains("kernel_drops"))
                    one_rate["kernel_drops"] = median_of(reps, "kernel_drops");
                return one_rate;
            };
            const auto [reps, base] = interleaved(o_.intake_reps, echo(), one);
            Json one_rate = summary(reps);
            if (!base.empty()) one_rate["baseline"] = summary(base);
            r.push_back(one_rate);
        }
        return r;
    }

    // ------------------------------------------------------------ relay

    struct Msg {
        std::uint64_t seq = 0;
        std::int64_t sent = 0;
        std::uint32_t got = 0;
        bool open = false;
    };

    static bool parse_seq(std::string_view b, std::uint64_t& seq) {
        const auto at = b.find("#B");
        if (at == std::string_view::npos) return false;
        const char* p = b.data() + at + 2;
        return std::from_chars(p, b.data() + b.size(), seq).ec == std::errc{};
    }

    // The delivery id the rendezvous puts last on a msg (`,"d":N}`); false if there is none.
    static bool parse_delivery_id(std::string_view b, proto::DeliveryId& d) {
        const auto at = b.rfind(",\"d\":");
        if (at == std::string_view::npos) return false;
        const char* p = b.data() + at + 5;
        return std::from_chars(p, b.data() + b.size(), d).ec == std::errc{};
    }

    std::string relay_text(std::uint64_t seq) const {
        std::string t = "#B" + std::to_string(seq) + "#";
        t.resize(std::max(t.size(), o_.text_bytes), 'x');
        return t;
    }

    Json scenario_relay() {
        // Members after the registered peers: sender first, so it is in the room too.
        const std::size_t first = registered_, n = o_.members;
        const auto t0 = now_ns();
        const std::size_t ready = register_range(first, first + n, kRoom);
        std::size_t base_ready = 0;
        if (const Target* base = fanout()) {  // the same members join the raw fan-out
            cur_ = *base;
            base_ready = register_range(first, first + n, kRoom);
            cur_ = main_;
        }
        Json r;
        r["members"] = n;
        r["joined"] = ready;
        r["setup_s"] = static_cast<double>(now_ns() - t0) / 1e9;
        drain(300 * kMs);
        if (ready < 2 || (fanout() != nullptr && base_ready < 2)) {
            r["error"] = "fewer than two members joined";
            return r;
        }
        const std::size_t sender = first;
        std::vector<Msg> ring(4096);
        std::uint64_t seq = 0;
        // Members ack their deliveries as the real client does, or the rendezvous resends to
        // every one of them: up to kMaxAcksPerGot ids per got, sent when that many are due
        // or every 50 ms (the client may wait up to 100 ms).
        std::vector<std::vector<proto::DeliveryId>> acks(n);
        auto flush_acks = [&](std::size_t k) {
            if (acks[k].empty()) return;
            send(first + k, proto::encode(proto::Got{src(first + k).token, acks[k]}));
            acks[k].clear();
        };
        auto ack = [&](std::size_t i, std::string_view b) {
            proto::DeliveryId d = 0;
            if (!cur_.rdv || i < first || i >= first + n || !parse_delivery_id(b, d)) return;
            acks[i - first].push_back(d);
            if (acks[i - first].size() == proto::kMaxAcksPerGot) flush_acks(i - first);
        };
        auto one = [&] {
            // The members of the server being measured now (main_, rendezvous or raw, or
            // the fan-out baseline), less the sender.
            const bool on_main = cur_.addr == main_.addr;
            const auto receivers = static_cast<std::uint32_t>((on_main ? ready : base_ready) - 1);
            const Json s0 = server_sample();
            std::vector<std::int64_t> last;
            std::uint64_t delivered = 0, lost = 0, all = 0;
            std::size_t open = 0;
            const std::int64_t start = now_ns(), warm = start + 200 * kMs,
                               end = warm + seconds_ns(o_.seconds);
            auto close = [&](Msg& m, std::int64_t at, bool complete) {
                m.open = false;
                --open;
                if (complete && m.sent >= warm && m.sent < end) last.push_back(at - m.sent);
                if (!complete) lost += receivers - m.got;
            };
            std::int64_t last_scan = start, last_acks = start;
            // Sends until `end`, then only collects what is still on its way (up to 1 s).
            for (std::int64_t t = start; t < end + kSecond && (t < end || open > 0);
                 t = now_ns()) {
                while (t < end && open < o_.msg_window) {
                    Msg& m = ring[++seq % ring.size()];
                    if (m.open) close(m, t, false);
                    m = Msg{seq, now_ns(), 0, true};
                    ++open;
                    const std::string text = relay_text(seq);
                    const auto n32 = static_cast<std::uint32_t>(seq);
                    send(sender, cur_.rdv ? proto::encode(proto::Say{
                                                src(sender).token, n32, kRoom, text,
                                                proto::Stamp{"b0000001", n32, n32}})
                                          : text);
                }
                pump(1, [&](std::size_t i, std::string_view b, std::int64_t at) {
                    std::uint64_t s = 0;
                    ack(i, b);  // every delivery, a late or repeated one too
                    if (i == sender || i < first || !parse_seq(b, s)) return;
                    Msg& m = ring[s % ring.size()];
                    if (!m.open || m.seq != s) return;
                    ++all;
                    if (at >= warm && at < end) ++delivered;
                    if (++m.got == receivers) close(m, at, true);
                });
                if (t - last_scan > 50 * kMs) {
                    last_scan = t;
                    for (Msg& m : ring)
                        if (m.open && t - m.sent > kSecond) close(m, t, false);
                }
                if (t - last_acks > 50 * kMs) {
                    last_acks = t;
                    for (std::size_t k = 0; k < n; ++k) flush_acks(k);
                }
            }
            for (std::size_t k = 0; k < n; ++k) flush_acks(k);
            sock_.flush();
            for (Msg& m : ring)
                if (m.open) close(m, now_ns(), false);
            Json rep;
            add_server_delta(rep, s0, server_sample());
            add_cpu_per_op(rep, all);
            rep["deliveries_per_s"] = static_cast<double>(delivered) / o_.seconds;
            rep["last_p50_us"] = quantile_us(last, 0.5);
            rep["last_p99_us"] = quantile_us(last, 0.99);
            rep["lost"] = lost;
            return rep;
        };
        auto summary = [&](Json into, const Json& reps) {
            into["reps"] = reps;
            for (const char* k : {"deliveries_per_s", "last_p50_us", "last_p99_us", "lost"})
                into[k] = median_of(reps, k);
            add_cpu_medians(into, reps);
            return into;
        };
        const auto [reps, base] = interleaved(o_.reps, fanout(), one);
        r = summary(r, reps);
        if (!base.empty()) r["baseline"] = summary(Json{{"joined", base_ready}}, base);
        return r;
    }

    // ------------------------------------------------------------ eviction

    static bool parse_total(std::string_view b, std::int64_t& total) {
        const auto at = b.find("\"total\":");
        if (at == std::string_view::npos) return false;
        const char* p = b.data() + at + 8;
        return std::from_chars(p, b.data() + b.size(), total).ec == std::errc{};
    }

    // Registers --peers bulk peers, --others pingers and one observer; the bulk peers send
    // one last heartbeat each and stop. The observer asks for the user count every 5 ms;
    // eviction is in deadline order, so the k-th drop of the count is the k-th deadline's
    // eviction, and lateness_k = (when the count fell) - (k-th last heartbeat + timeout).
    Json scenario_evict() {
        if (!main_.rdv) throw std::runtime_error("evict needs the rendezvous");
        const std::size_t bulk = o_.peers, others = o_.others, observer = bulk + others;
        Json r;
        const auto t0 = now_ns();
        const std::size_t ready =
            register_range(0, observer + 1, "", seconds_ns(o_.server_timeout * 0.4));
        r["registered"] = ready;
        r["register_s"] = static_cast<double>(now_ns() - t0) / 1e9;
        Flow f{bulk, others, o_.others_rate, now_ns(), 0, 0, {}};
        auto ping = [&](std::size_t i) { send_ping(i); };
        std::int64_t poll_sent = 0, poll_due = 0;
        std::vector<std::pair<std::int64_t, std::int64_t>> seen;  // (received at, total)
        std::uint32_t poll_id = 100;
        auto observe = [&](std::int64_t t) {
            if ((poll_sent == 0 && t >= poll_due) || (poll_sent != 0 && t - poll_sent > 100 * kMs)) {
                poll_sent = t;
                send(observer,
                     proto::encode(proto::ListUsers{src(observer).token, ++poll_id, std::nullopt, 0}));
            }
        };
        auto on = [&](std::size_t i, std::string_view b, std::int64_t at) {
            if (f.owns(i)) {
                if (is_pong(b)) f.on_reply(srcs_[i], at);
            } else if (i == observer) {
                std::int64_t total = 0;
                if (parse_total(b, total)) {
                    seen.emplace_back(at, total);
                    poll_sent = 0;
                    poll_due = at + 5 * kMs;
                }
            } else if (i < bulk && srcs_[i].sent_ns != 0 && is_pong(b)) {
                srcs_[i].last_ok_ns = srcs_[i].sent_ns;
                srcs_[i].sent_ns = 0;
                ++heartbeats_;
            }
        };
        // Every bulk peer's last heartbeat, 256 in flight; a second pass retries the few
        // whose pong did not come back (a lost ping refreshes nothing).
        const std::int64_t hb_start = now_ns();
        for (std::size_t i = 0; i < bulk; ++i) srcs_[i].last_ok_ns = 0;
        for (int pass = 0; pass < 2; ++pass) {
            std::vector<std::size_t> todo;
            for (std::size_t i = 0; i < bulk; ++i)
                if (srcs_[i].last_ok_ns == 0 && srcs_[i].state == State::Ready) todo.push_back(i);
            const std::size_t answered0 = heartbeats_;
            std::size_t next = 0;
            std::int64_t all_sent_at = now_ns();
            const std::int64_t pass_end = now_ns() + 20 * kSecond;
            for (std::int64_t t = now_ns(); t < pass_end; t = now_ns()) {
                while (next < todo.size() && next - (heartbeats_ - answered0) < 256)
                    send_ping(todo[next++]);
                f.send_due(t, ping);
                observe(t);
                pump(1, on);
                if (next == todo.size() && heartbeats_ - answered0 == todo.size()) break;
                if (next < todo.size()) all_sent_at = t;
                if (t - all_sent_at > 500 * kMs) break;  // the rest were lost
            }
        }
        std::vector<std::int64_t> deadlines;
        const std::int64_t timeout = seconds_ns(o_.server_timeout);
        for (std::size_t i = 0; i < bulk; ++i)
            if (srcs_[i].last_ok_ns != 0) deadlines.push_back(srcs_[i].last_ok_ns + timeout);
        std::sort(deadlines.begin(), deadlines.end());
        r["heartbeat_round_s"] = static_cast<double>(now_ns() - hb_start) / 1e9;
        r["stopped"] = deadlines.size();
        if (deadlines.empty()) return r;
        const std::int64_t stop_at = now_ns();
        // Watch until the count is down to the others and the observer, or 3 s past the end.
        const auto floor_total = static_cast<std::int64_t>(others + 1);
        for (std::int64_t t = now_ns(); t < deadlines.back() + 3 * kSecond; t = now_ns()) {
            f.send_due(t, ping);
            observe(t);
            pump(1, on);
            if (t > deadlines.back() && !seen.empty() && seen.back().second <= floor_total) break;
        }
        // Count before the first deadline: the base the drops are counted from.
        std::int64_t base = -1;
        for (const auto& [at, total] : seen)
            if (at < deadlines.front()) base = total;
        std::vector<std::int64_t> late;
        std::size_t j = 0;
        std::int64_t last_evicted_at = deadlines.front();
        for (std::size_t k = 0; k < deadlines.size() && base >= 0; ++k) {
            const std::int64_t want = base - static_cast<std::int64_t>(k) - 1;
            while (j < seen.size() && seen[j].second > want) ++j;
            if (j == seen.size()) break;
            late.push_back(seen[j].first - deadlines[k]);
            last_evicted_at = seen[j].first;
        }
        r["evicted_seen"] = late.size();
        r["not_evicted"] = deadlines.size() - late.size();
        r["deadline_spread_s"] =
            static_cast<double>(deadlines.back() - deadlines.front()) / 1e9;
        auto ms = [](double us) { return us / 1000.0; };
        r["late_min_ms"] = ms(quantile_us(late, 0.0));
        r["late_median_ms"] = ms(quantile_us(late, 0.5));
        r["late_max_ms"] = ms(quantile_us(late, 1.0));
        auto during = f.latencies(deadlines.front(), last_evicted_at + 1);
        auto before = f.latencies(stop_at + kSecond, deadlines.front() - 500 * kMs);
        r["others_pings_during"] = during.size();
        r["others_p99_during_us"] = quantile_us(during, 0.99);
        r["others_p99_before_us"] = quantile_us(before, 0.99);
        r["others_lost"] = f.sent - f.replied;
        r["observations"] = seen.size();
        return r;
    }

    Options o_;
    Target main_, echo_, fanout_;
    Target cur_;  // the server every send and receive is for right now
    BatchSocket sock_;
    int rcvbuf_ = 0;
    std::vector<Src> srcs_;
    std::size_t registered_ = 0;  // peers [0, registered_) went through register_range
    std::size_t heartbeats_ = 0;
    std::size_t retries_ = 0;  // retry{cookie} answers seen while registering
    // Peers in flight that got a retry: its cookie, and how many retries they got.
    std::unordered_map<std::size_t, std::pair<std::string, int>> cookies_;
};

std::vector<double> parse_rates(const std::string& s) {
    std::vector<double> v;
    std::size_t at = 0;
    while (at <= s.size()) {
        const auto comma = s.find(',', at);
        const auto part = s.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        if (!part.empty()) v.push_back(std::stod(part));
        if (comma == std::string::npos) break;
        at = comma + 1;
    }
    return v;
}

} // namespace
} // namespace chat::bench

int main(int argc, char** argv) {
    using namespace chat::bench;
    cxxopts::Options spec("loadgen", "udpchat benchmark load generator (loopback only; see "
                                     "tests/bench/loadgen.cpp). Prints one JSON object.");
    spec.add_options()("server", "the server, a loopback ADDR:PORT", cxxopts::value<std::string>())(
        "proto", "rdv (the rendezvous) or raw (raw_echo / raw_fanout)",
        cxxopts::value<std::string>()->default_value("rdv"))(
        "scenarios", "comma list: register,throughput,latency,intake,relay,evict",
        cxxopts::value<std::string>()->default_value("register,throughput"))(
        "peers", "peers to register (rdv) or address (raw intake)",
        cxxopts::value<std::size_t>()->default_value("1000"))(
        "sources", "pinging sources in throughput/latency",
        cxxopts::value<std::size_t>()->default_value("1000"))(
        "window", "pings in flight (throughput)", cxxopts::value<std::size_t>()->default_value("128"))(
        "seconds", "per throughput/latency/relay repetition",
        cxxopts::value<double>()->default_value("2"))(
        "reps", "repetitions", cxxopts::value<int>()->default_value("3"))(
        "rates", "intake rates, datagrams/s", cxxopts::value<std::string>()->default_value("20000,100000"))(
        "intake-seconds", "per intake repetition", cxxopts::value<double>()->default_value("10"))(
        "intake-reps", "intake repetitions per rate", cxxopts::value<int>()->default_value("1"))(
        "members", "relay room size, sender included", cxxopts::value<std::size_t>()->default_value("1000"))(
        "text-bytes", "relay message text", cxxopts::value<std::size_t>()->default_value("100"))(
        "msg-window", "relay messages in flight", cxxopts::value<std::size_t>()->default_value("8"))(
        "reg-window", "registrations in flight", cxxopts::value<std::size_t>()->default_value("4"))(
        "server-pid", "server PID, for CPU, RSS and drops", cxxopts::value<int>()->default_value("0"))(
        "server-timeout", "evict: the server's --timeout, seconds", cxxopts::value<double>()->default_value("10"))(
        "others", "evict: peers that keep pinging", cxxopts::value<std::size_t>()->default_value("200"))(
        "others-rate", "evict: their pings/s in all", cxxopts::value<double>()->default_value("2000"))(
        "echo-baseline", "raw_echo's ADDR:PORT: its repetitions alternate with the server's",
        cxxopts::value<std::string>()->default_value(""))(
        "echo-pid", "raw_echo's PID", cxxopts::value<int>()->default_value("0"))(
        "fanout-baseline", "raw_fanout's ADDR:PORT, alternating likewise in relay",
        cxxopts::value<std::string>()->default_value(""))(
        "fanout-pid", "raw_fanout's PID", cxxopts::value<int>()->default_value("0"))(
        "max-seconds", "hard limit on the whole run", cxxopts::value<unsigned>()->default_value("300"))(
        "h,help", "this help");
    try {
        const auto r = spec.parse(argc, argv);
        if (r.count("help") != 0 || r.count("server") == 0) {
            std::cout << spec.help();
            return r.count("help") != 0 ? 0 : 2;
        }
        Options o;
        if (!parse_loopback(r["server"].as<std::string>(), o.server) || o.server.port == 0) {
            std::cerr << "loadgen: --server must be a loopback ADDR:PORT\n";
            return 2;
        }
        o.rdv = r["proto"].as<std::string>() != "raw";
        for (const auto& [key, addr] :
             {std::pair{"echo-baseline", &o.echo_baseline}, {"fanout-baseline", &o.fanout_baseline}}) {
            const auto text = r[key].as<std::string>();
            if (!text.empty() && (!parse_loopback(text, *addr) || addr->port == 0)) {
                std::cerr << "loadgen: --" << key << " must be a loopback ADDR:PORT\n";
                return 2;
            }
        }
        o.echo_pid = r["echo-pid"].as<int>();
        o.fanout_pid = r["fanout-pid"].as<int>();
        {
            const std::string list = r["scenarios"].as<std::string>();
            std::size_t at = 0;
            while (at < list.size()) {
                const auto comma = list.find(',', at);
                o.scenarios.push_back(list.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
                if (comma == std::string::npos) break;
                at = comma + 1;
            }
        }
        o.peers = r["peers"].as<std::size_t>();
        o.sources = r["sources"].as<std::size_t>();
        o.window = r["window"].as<std::size_t>();
        o.seconds = r["seconds"].as<double>();
        o.reps = std::max(1, r["reps"].as<int>());
        o.rates = parse_rates(r["rates"].as<std::string>());
        o.intake_seconds = r["intake-seconds"].as<double>();
        o.intake_reps = std::max(1, r["intake-reps"].as<int>());
        o.members = std::max<std::size_t>(2, r["members"].as<std::size_t>());
        o.text_bytes = r["text-bytes"].as<std::size_t>();
        o.msg_window = std::max<std::size_t>(1, r["msg-window"].as<std::size_t>());
        o.reg_window = std::max<std::size_t>(1, r["reg-window"].as<std::size_t>());
        o.server_pid = r["server-pid"].as<int>();
        o.server_timeout = r["server-timeout"].as<double>();
        o.others = std::max<std::size_t>(1, r["others"].as<std::size_t>());
        o.others_rate = r["others-rate"].as<double>();
        if (o.peers + o.members + o.others + 2 > kMaxPeers || o.sources == 0) {
            std::cerr << "loadgen: at most " << kMaxPeers << " peers, and at least one source\n";
            return 2;
        }
        alarm(r["max-seconds"].as<unsigned>());  // SIGALRM ends a run that overstays
        Loadgen g(o);
        std::cout << g.run().dump(1) << std::endl;
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "loadgen: " << e.what() << "\n";
        return 1;
    }
}
