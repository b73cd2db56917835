// End-to-end: the rendezvous is SIGKILLed in the middle of a conversation and restarted on the
// same port. Three real `peer --json` processes chat in the lobby, in a room alice created and
// by relayed /msg, typing numbered lines before the kill, while the server is dead (before the
// peers can know it, and queued once they report `reconnecting`) and once they are back; a
// second scenario restarts it quicker than idle peers can notice. Reliable delivery
// (proto/PROTOCOL.md) promises that each line is shown exactly once and in order per author at
// every other member, or reported undelivered to its author; with an outage well under 30 s,
// none may be undelivered. The peers must register again and rejoin their rooms by themselves.
// Every figure is printed with a `measured:` prefix; the peers' logs are kept on a failure.
#include "support/json_peer_process.hpp"
#include "support/process.hpp"
#include "support/scratch_dir.hpp"
#include "support/server_process.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace chat;
using namespace std::chrono_literals;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;

constexpr char kRendezvous[] = CHAT_RENDEZVOUS_BIN;
constexpr char kPeer[] = CHAT_PEER_BIN;

// A 4 s server timeout makes the peers heartbeat every 2 s, so they notice the dead server
// after three missed #pong#s, about 6 s, instead of 15 s with the default 10 s.
const std::vector<std::string> kServerArgs{"--timeout", "4"};
constexpr auto kNoticeWithin = 15s;    // 3 heartbeats of 2 s, plus slack for sanitizer builds
constexpr auto kBackWithin = 20s;      // a hello is retried each second; slack as above
constexpr auto kDeliveredWithin = 35s; // the 30 s delivery deadline, and then some
constexpr auto kQuietFor = 1500ms;     // after the last line arrived: room for a duplicate
constexpr auto kHeldAtMost = 11s;      // a receiver holds a line after a gap for 10 s at most

using e2e::json_flag;
using e2e::json_string;
std::string event_of(const Json& j) {
    return json_string(j, "event");
}

// One numbered line as typed: to a room, or to direct recipients (`room` empty).
struct Line {
    std::string author;
    std::string room;            // "lobby" or "dev"; empty for a /msg
    std::vector<std::string> to; // the /msg recipients, sorted
    std::string phase;
    int seq = 0; // per author, in typing order
    std::string text;
    std::vector<std::string> audience; // who must see it: every other member, or `to`

    std::string stream() const {
        if (!room.empty())
            return "#" + room;
        std::string s = "@";
        for (const auto& n : to)
            s += (s.size() > 1 ? "," : "") + n;
        return s;
    }
};

class RendezvousRestartE2e : public ::testing::Test {
  protected:
    void TearDown() override {
        peers_.clear(); // each stops its process by PID
        if (server_.process)
            server_.process->stop();
    }

    e2e::JsonPeerProcess& start_peer(const std::string& name) {
        peers_.push_back(std::make_unique<e2e::JsonPeerProcess>(
            kPeer, server_.port, name, std::vector<std::string>{}, scratch_.file(name + ".log")));
        target_[name] = "lobby";
        return *peers_.back();
    }
    std::vector<e2e::JsonPeerProcess*> all() {
        std::vector<e2e::JsonPeerProcess*> v;
        for (auto& p : peers_)
            v.push_back(p.get());
        return v;
    }
    e2e::JsonPeerProcess& by_name(const std::string& name) {
        for (auto& p : peers_)
            if (p->name() == name)
                return *p;
        throw std::logic_error("no peer " + name);
    }
    std::string transcripts() {
        std::string s;
        for (auto& p : peers_)
            s += p->transcript(60);
        return s;
    }

    // Types one numbered line into `room` (switching the author's target first if needed).
    void say(e2e::JsonPeerProcess& author, const std::string& room, const std::string& phase) {
        Line l{author.name(), room, {}, phase, ++seq_[author.name()], {}, {}};
        l.text = author.name() + "#" + std::to_string(l.seq) + " " + phase + " in " + room;
        for (auto& p : peers_)
            if (p->name() != author.name())
                l.audience.push_back(p->name()); // everyone is in both the lobby and dev
        if (target_[author.name()] != room) {
            author.type("/room " + room);
            target_[author.name()] = room;
        }
        author.type(l.text);
        lines_.push_back(std::move(l));
    }
    // Types one numbered /msg to `to`.
    void msg(e2e::JsonPeerProcess& author, const std::string& to, const std::string& phase) {
        Line l{author.name(), {}, {to}, phase, ++seq_[author.name()], {}, {to}};
        l.text = author.name() + "#" + std::to_string(l.seq) + " " + phase + " to " + to;
        author.type("/msg " + to + " " + l.text);
        lines_.push_back(std::move(l));
    }
    // One round of a phase: each author says a line in the lobby and in dev, and one /msg to
    // the next author, interleaved.
    void round(const std::string& phase) {
        for (auto& p : peers_)
            say(*p, "lobby", phase);
        for (auto& p : peers_)
            say(*p, "dev", phase);
        for (std::size_t i = 0; i < peers_.size(); ++i)
            msg(*peers_[i], peers_[(i + 1) % peers_.size()]->name(), phase);
    }

    // How many times `member` showed line `l` (not its own echo).
    static int shown(const e2e::JsonPeerProcess& member, const Line& l) {
        int n = 0;
        for (const auto& e : member.events()) {
            const auto kind = event_of(e);
            if ((kind != "message" && kind != "dm") || json_flag(e, "self") ||
                json_string(e, "text") != l.text || json_string(e, "from") != l.author)
                continue;
            if (kind == "message" ? json_string(e, "room") == l.room : l.room.empty())
                ++n;
        }
        return n;
    }
    bool everything_arrived() const {
        for (const auto& l : lines_)
            for (const auto& who : l.audience)
                for (const auto& p : peers_)
                    if (p->name() == who && shown(*p, l) == 0)
                        return false;
        return true;
    }
    // The author's outcome for every line is in: a `delivered` or a not_delivered error.
    bool every_outcome_reported() const {
        for (const auto& l : lines_)
            for (const auto& p : peers_)
                if (p->name() == l.author && outcome(*p, l).reports() == 0)
                    return false;
        return true;
    }
    // What the author was told about `l`: `delivered` events, and errors carrying the line
    // (not_delivered after 30 s, or a refusal such as no_such_user), by code.
    struct Outcome {
        int delivered = 0;
        std::map<std::string, int> errors;
        int reports() const {
            int n = delivered;
            for (const auto& [code, count] : errors)
                n += count;
            return n;
        }
    };
    static Outcome outcome(const e2e::JsonPeerProcess& author, const Line& l) {
        Outcome o;
        for (const auto& e : author.events()) {
            if (event_of(e) == "delivered" && json_string(e, "text") == l.text)
                ++o.delivered;
            else if (event_of(e) == "error" && json_string(e, "line") == l.text)
                ++o.errors[json_string(e, "code")];
        }
        return o;
    }

    struct Timings {
        Seconds outage{};     // SIGKILL to restart
        Seconds noticed{};    // SIGKILL to the last peer's `reconnecting` (0: not waited for)
        Seconds back_after{}; // restart to the last peer's `online`
        Seconds settled{};    // restart to every line and outcome in, or to giving up
        bool arrived = false;
    };

    // The rendezvous with `args`, alice, bob and carol online, and room dev that alice made
    // with both of them in it (her target is then dev, theirs the lobby).
    void start_chat(const std::vector<std::string>& args) {
        server_args_ = args;
        server_ = e2e::start_restartable_server(kRendezvous, args);
        for (const char* name : {"alice", "bob", "carol"}) {
            auto& p = start_peer(name);
            ASSERT_TRUE(p.wait_for("connection", [](const Json& j) {
                return json_string(j, "state") == "online";
            })) << p.transcript();
        }
        by_name("alice").type("/create dev bob,carol");
        target_["alice"] = "dev";
        for (const char* name : {"bob", "carol"}) {
            auto& p = by_name(name);
            ASSERT_TRUE(p.wait_for("joined", [&](const Json& j) {
                return json_string(j, "room") == "dev" && json_string(j, "name") == p.name() &&
                       json_flag(j, "self");
            })) << p.transcript();
        }
    }
    void wait_until_settled(std::chrono::milliseconds timeout) {
        ASSERT_TRUE(e2e::pump_until(
            all(), [&] { return everything_arrived() && every_outcome_reported(); }, timeout))
            << "the lines so far did not all arrive" << transcripts();
    }
    // SIGKILL; returns when the process is gone.
    Clock::time_point kill_server() {
        server_.process->signal(SIGKILL);
        EXPECT_TRUE(server_.process->wait_exit(5s)) << "the rendezvous survived SIGKILL";
        return Clock::now();
    }
    // The rendezvous again, on the port it had.
    Clock::time_point restart_server() {
        e2e::ServerOptions same_port;
        same_port.port = server_.port;
        server_ = e2e::start_server(kRendezvous, server_args_, same_port);
        return Clock::now();
    }
    // Waits for each peer's next `online` (registered again by itself); true if all came
    // back, having rejoined dev.
    bool wait_back_online(std::chrono::milliseconds within = kBackWithin) {
        for (auto& p : peers_) {
            const auto back = p->wait_for(
                "connection", [](const Json& j) { return json_string(j, "state") == "online"; },
                within);
            if (!back) {
                ADD_FAILURE() << p->name() << " did not come back" << p->transcript();
                return false;
            }
            EXPECT_NE(json_string(*back, "text").find("rejoined dev"), std::string::npos)
                << p->name() << ": " << back->dump();
        }
        return true;
    }
    // Waits for every line at every member, but not for ever: once every author has heard the
    // outcome of every line, a member can still be holding a line back for at most 10 s.
    // Then leaves room for a duplicate. True if everything arrived.
    bool wait_for_everything() {
        std::optional<Clock::time_point> all_reported;
        e2e::pump_until(
            all(),
            [&] {
                if (!all_reported && every_outcome_reported())
                    all_reported = Clock::now();
                return all_reported &&
                       (everything_arrived() || Clock::now() - *all_reported > kHeldAtMost);
            },
            kDeliveredWithin);
        const bool arrived = everything_arrived() && every_outcome_reported();
        std::this_thread::sleep_for(kQuietFor);
        for (auto& p : peers_)
            p->pump();
        return arrived;
    }

    // Checks every line typed: shown exactly once at each recipient and nowhere else, in
    // order per author and stream, echoed once to its author (queued if typed offline), and
    // one outcome reported to the author, which must be `delivered`. Prints the figures.
    void reckon(const Timings& t) {
        std::vector<std::string> problems;
        int receipts_expected = 0;
        int receipts_once = 0;
        int missing = 0;
        int duplicated = 0;
        int strays = 0;
        int delivered = 0;
        int unsettled = 0;
        int late = 0;
        int queued_echoes = 0;
        std::map<std::string, int> refused; // error code -> lines
        for (const auto& l : lines_) {
            for (auto& p : peers_) {
                const int n = shown(*p, l);
                const bool member =
                    std::find(l.audience.begin(), l.audience.end(), p->name()) != l.audience.end();
                if (p->name() == l.author) {
                    const Outcome o = outcome(*p, l);
                    delivered += o.delivered;
                    for (const auto& [code, count] : o.errors)
                        refused[code] += count;
                    if (o.reports() == 0)
                        ++unsettled;
                    if (o.reports() != 1) {
                        std::string codes;
                        for (const auto& [code, count] : o.errors)
                            codes += " " + code + "x" + std::to_string(count);
                        problems.push_back(l.text + ": the author was told " +
                                           std::to_string(o.delivered) + " delivered," +
                                           (codes.empty() ? " no error" : codes) + " (want one)");
                    } else if (o.delivered == 0) {
                        problems.push_back(l.text + ": reported undelivered (" +
                                           o.errors.begin()->first + ")");
                    }
                    int echoes = 0;
                    for (const auto& e : p->events()) {
                        if (!json_flag(e, "self") || json_string(e, "text") != l.text ||
                            (event_of(e) != "message" && event_of(e) != "dm"))
                            continue;
                        ++echoes;
                        queued_echoes += json_flag(e, "queued") ? 1 : 0;
                        if (l.phase == "queued" && !json_flag(e, "queued"))
                            problems.push_back(l.text + ": typed while offline, echo not queued");
                        if ((l.phase == "before" || l.phase == "after") && json_flag(e, "queued"))
                            problems.push_back(l.text + ": typed while online, echo queued");
                    }
                    if (echoes != 1)
                        problems.push_back(l.text + ": echoed " + std::to_string(echoes) +
                                           " times");
                } else if (member) {
                    ++receipts_expected;
                    receipts_once += n == 1 ? 1 : 0;
                    missing += n == 0 ? 1 : 0;
                    duplicated += n > 1 ? n - 1 : 0;
                    if (n != 1)
                        problems.push_back(l.text + ": shown " + std::to_string(n) + " times at " +
                                           p->name());
                } else if (n != 0) {
                    strays += n;
                    problems.push_back(l.text + ": shown at " + p->name() + ", not a recipient");
                }
            }
        }
        // Order per author and stream, as each member showed the lines.
        int order_violations = 0;
        for (auto& p : peers_) {
            std::map<std::string, int> last; // author + stream -> highest seq shown so far
            for (const auto& e : p->events()) {
                const auto kind = event_of(e);
                if ((kind != "message" && kind != "dm") || json_flag(e, "self"))
                    continue;
                late += json_flag(e, "late") ? 1 : 0;
                const auto it = std::find_if(lines_.begin(), lines_.end(), [&](const Line& l) {
                    return l.text == json_string(e, "text") && l.author == json_string(e, "from");
                });
                if (it == lines_.end())
                    continue; // not one of ours
                int& prev = last[it->author + " " + it->stream()];
                if (it->seq < prev) {
                    ++order_violations;
                    problems.push_back(it->text + ": shown at " + p->name() + " after #" +
                                       std::to_string(prev) + " of the same stream: " + e.dump());
                }
                prev = std::max(prev, it->seq);
            }
            if (!p->non_json().empty())
                problems.push_back(p->name() +
                                   " printed a non-JSON line: " + p->non_json().front());
        }
        // The created room works after the restart: a person would try that first.
        for (const auto& l : lines_) {
            if (l.phase != "after" || l.room != "dev")
                continue;
            for (const auto& who : l.audience)
                if (shown(by_name(who), l) == 0)
                    problems.push_back("after the restart, " + who + " missed " + l.text);
        }

        std::string refusals;
        for (const auto& [code, count] : refused)
            refusals += " " + code + "=" + std::to_string(count);
        const std::string noticed = t.noticed > Seconds::zero()
                                        ? "noticed by every peer after " +
                                              std::to_string(t.noticed.count()).substr(0, 4) + " s"
                                        : "not waited for";
        std::printf("measured: %s: outage %.1f s (%s), peers back %.1f s after the restart, all "
                    "settled %.1f s after it%s\n",
                    ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                    t.outage.count(), noticed.c_str(), t.back_after.count(), t.settled.count(),
                    t.arrived ? "" : " (gave up waiting)");
        std::printf("measured: lines typed %zu (receipts expected %d), shown exactly once %d, "
                    "missing %d, duplicated %d, strays %d, out of order %d, late %d\n",
                    lines_.size(), receipts_expected, receipts_once, missing, duplicated, strays,
                    order_violations, late);
        std::printf("measured: author outcomes: delivered %d, reported undelivered%s, no outcome "
                    "%d; queued echoes %d\n",
                    delivered, refusals.empty() ? " 0" : refusals.c_str(), unsettled,
                    queued_echoes);

        std::string listed;
        for (std::size_t i = 0; i < problems.size() && i < 60; ++i)
            listed += "\n  " + problems[i];
        if (problems.size() > 60)
            listed += "\n  ... and " + std::to_string(problems.size() - 60) + " more";
        EXPECT_TRUE(problems.empty())
            << problems.size() << " problems (an outage of " << t.outage.count()
            << " s is well under the 30 s delivery deadline, so every line "
               "must arrive once, in order):"
            << listed << transcripts();
    }

    // Lines settled, SIGKILL, alice alone types while the server is down for `outage`, then
    // everyone must come back by itself within `back_within` and every line arrive once.
    void quick_restart(const std::vector<std::string>& args, Seconds outage,
                       std::chrono::milliseconds back_within) {
        ASSERT_NO_FATAL_FAILURE(start_chat(args));
        Timings t;
        round("before");
        ASSERT_NO_FATAL_FAILURE(wait_until_settled(15s));

        const auto died = kill_server();
        std::this_thread::sleep_for(300ms);
        auto& alice = by_name("alice");
        say(alice, "lobby", "down");
        say(alice, "dev", "down");
        msg(alice, "bob", "down");
        say(alice, "dev", "down");
        std::this_thread::sleep_until(died + std::chrono::duration_cast<Clock::duration>(outage));
        t.outage = Clock::now() - died;
        const auto restarted = restart_server();

        ASSERT_TRUE(wait_back_online(back_within));
        t.back_after = Clock::now() - restarted;
        round("after");
        t.arrived = wait_for_everything();
        t.settled = Clock::now() - restarted - kQuietFor;
        reckon(t);
    }

    e2e::ScratchDir scratch_;
    std::vector<std::string> server_args_;
    e2e::ServerProcess server_;
    std::vector<std::unique_ptr<e2e::JsonPeerProcess>> peers_;
    std::map<std::string, std::string> target_; // each author's current room
    std::map<std::string, int> seq_;
    std::vector<Line> lines_;
};

// Phases that exercise every path: lines settled before the kill, lines in flight when the
// server dies, lines typed before the peers can know, lines typed while every peer knows
// (queued), and lines after. A 4 s server timeout (2 s heartbeats) keeps the wait short.
TEST_F(RendezvousRestartE2e, EveryLineArrivesOnceInOrderAcrossASigkillAndRestart) {
    ASSERT_NO_FATAL_FAILURE(start_chat(kServerArgs));
    Timings t;

    // Phase 1: lines that are settled before anything goes wrong.
    round("before");
    round("before");
    ASSERT_NO_FATAL_FAILURE(wait_until_settled(15s));

    // Phase 2: typed just before the kill, so some are in flight when the server dies.
    round("at-kill");
    std::this_thread::sleep_for(30ms);
    const auto died = kill_server();

    // Phase 3: typed while the server is dead, before the peers can know it.
    std::this_thread::sleep_for(300ms);
    round("down");

    // The peers notice on their own: 3 heartbeats without a #pong#.
    for (auto& p : peers_) {
        const auto lost = p->wait_for(
            "connection", [](const Json& j) { return json_string(j, "state") == "reconnecting"; },
            kNoticeWithin);
        ASSERT_TRUE(lost) << p->name() << " never noticed the dead server" << p->transcript();
    }
    t.noticed = Clock::now() - died;

    // Phase 4: typed while every peer knows the server is gone: queued, shown as such.
    round("queued");
    std::this_thread::sleep_for(1s);
    t.outage = Clock::now() - died;
    const auto restarted = restart_server();

    // Each registers again by itself and rejoins dev.
    ASSERT_TRUE(wait_back_online());
    t.back_after = Clock::now() - restarted;

    // Phase 5: once everyone is back; a line in dev must arrive, as after any restart.
    round("after");
    t.arrived = wait_for_everything();
    t.settled = Clock::now() - restarted - kQuietFor;
    reckon(t);
}

// A restart quicker than the peers can notice: only alice types while the server is down, so
// bob and carol are idle and learn of the restart only when a #ping# meets #who?#. alice's
// lines, sent again to her new session after its regroup hold (a heartbeat and a second),
// must still reach them once.
// With the default timeout (5 s heartbeats) and a 3 s outage an idle peer hears #who?# within
// about 2 s of the restart: a ping missed during the outage is retried each second, and a ping
// not yet due is due within 5 - 3 s.
TEST_F(RendezvousRestartE2e, LinesTypedDuringAQuickRestartReachPeersThatWereIdle) {
    ASSERT_NO_FATAL_FAILURE(quick_restart({}, 3s, kBackWithin));
}

// The same with a 1 s outage and 15 s heartbeats (--timeout 30): an idle peer's next ping can
// come up to 14 s after the restart. With a fixed 3 s hold alice's lines reached a room it had
// not rejoined yet while she was told `delivered` (3 runs in 3); the hold is now a heartbeat
// (from alice's welcome) plus a second, which covers every idle peer's next ping.
TEST_F(RendezvousRestartE2e, ARestartShorterThanAHeartbeatLosesNoLineAtIdlePeers) {
    ASSERT_NO_FATAL_FAILURE(quick_restart({"--timeout", "30"}, 1s, 25s));
}

} // namespace
