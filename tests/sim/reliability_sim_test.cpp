// Reliable delivery, whole system (issue 6): the real server and peer cores on testkit::Net
// with 20% loss, 20% duplication and reordering (jitter), on the fake clock. Every line typed
// must be shown exactly once, in each author's order, at every receiver; or be reported
// undelivered to its author. Each test prints its figures (`measured:`).
#include "sim.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

namespace chat::sim {
namespace {

struct Tally {
    std::size_t shown = 0, duplicated = 0, reordered = 0, missing = 0, late = 0;
};

// What `receiver` showed of `author`'s lines "<author> <i>" (0..count-1).
Tally tally(Sim& sim, const std::string& receiver, const std::string& author, int count) {
    std::vector<int> seen;
    Tally t;
    auto take = [&](const std::string& from, const std::string& text, bool late) {
        if (from != author || text.rfind(author + " ", 0) != 0 ||
            text.find_first_not_of("0123456789", author.size() + 1) != std::string::npos)
            return;
        seen.push_back(std::stoi(text.substr(author.size() + 1)));
        t.late += late ? 1U : 0U;
    };
    for (const auto& m : sim.events<peer::ui::Message>(receiver))
        if (!m.self)
            take(m.from, m.text, m.late);
    for (const auto& m : sim.events<peer::ui::Direct>(receiver))
        if (!m.self)
            take(m.from, m.text, m.late);
    std::vector<int> count_of(static_cast<std::size_t>(count), 0);
    int last = -1;
    for (const int i : seen) {
        if (i < last)
            ++t.reordered;
        last = std::max(last, i);
        ++count_of.at(static_cast<std::size_t>(i));
    }
    for (const int c : count_of) {
        t.shown += c > 0 ? 1U : 0U;
        t.duplicated += c > 1 ? static_cast<std::size_t>(c - 1) : 0;
        t.missing += c == 0 ? 1U : 0U;
    }
    return t;
}

std::size_t undelivered(Sim& sim, const std::string& author) {
    std::size_t n = 0;
    for (const auto& e : sim.events<peer::ui::Error>(author))
        if (e.line) {
            ++n;
            std::printf("undelivered at %s: %s: %s\n", author.c_str(), e.code.c_str(),
                        e.text.c_str());
        }
    return n;
}

void hostile(Net& net) {
    net.loss = 0.2;
    net.duplicate = 0.2;
    net.jitter = 40ms; // one-way 10-50 ms: datagrams overtake each other
}

// Sends `count` direct lines "<author> <i>" to `to` at 10 lines/s (the shell's pacer holds a
// paste to that pace).
void message_lines(Sim& sim, const std::string& author, const std::string& to, int count) {
    for (int i = 0; i < count; ++i) {
        sim.command(author, peer::cmd::Msg{{to}, author + " " + std::to_string(i)});
        sim.drive_for(100ms);
    }
}

void print(const char* test, const std::string& who, const Tally& t, std::size_t undelivered_n,
           const Net& net) {
    std::printf("measured: %s %s shown=%zu duplicated=%zu reordered=%zu missing=%zu late=%zu "
                "undelivered=%zu wire_sent=%zu wire_duplicated=%zu\n",
                test, who.c_str(), t.shown, t.duplicated, t.reordered, t.missing, t.late,
                undelivered_n, net.sent(), net.duplicated());
}

TEST(ReliabilitySim, FiveHundredRelayedLinesArriveOnceAndInOrderThroughLossAndDuplication) {
    Sim sim(21);
    sim.add_peer("alice", ep("203.0.113.21:4000"));
    sim.add_peer("bob", ep("203.0.113.22:4000"));
    sim.drive_for(2s);
    hostile(sim.net);
    message_lines(sim, "alice", "bob", 500);
    sim.drive_for(40s);
    const auto t = tally(sim, "bob", "alice", 500);
    print("relayed_500", "alice->bob", t, undelivered(sim, "alice"), sim.net);
    EXPECT_EQ(t.shown, 500u);
    EXPECT_EQ(t.duplicated, 0u);
    EXPECT_EQ(t.reordered, 0u);
    EXPECT_EQ(undelivered(sim, "alice"), 0u);
    EXPECT_EQ(sim.client("alice").unsettled_lines(), 0u);
}

TEST(ReliabilitySim, FiveHundredLinesOverADirectPathArriveOnceAndInOrder) {
    Nat na({198, 51, 100, 1}, false), nb({198, 51, 100, 2}, false);
    // SIM_SEED=N reruns it on another seed (to explore; CI runs the default).
    Sim sim(std::getenv("SIM_SEED") ? std::stoul(std::getenv("SIM_SEED")) : 33);
    sim.add_peer("alice", ep("10.0.0.2:4000"), &na);
    sim.add_peer("bob", ep("10.0.1.2:4000"), &nb);
    sim.drive_for(1s);
    sim.command("alice", peer::cmd::Connect{"bob"});
    sim.drive_for(2s);
    ASSERT_EQ(sim.events<peer::ui::PathChanged>("alice").back().state, peer::PathState::Direct);
    hostile(sim.net);
    // All 500 as fast as alice takes them, as the shell feeds a paste or a script (the NAT
    // lab's direct_500 showed lines late when the author's window bounded the unacked lines,
    // not the span a receiver must hold behind one missing line).
    const Time start = sim.now;
    for (int i = 0; i < 500; ++i)
        sim.type("alice", peer::cmd::Say{"alice " + std::to_string(i)}); // target: bob
    std::printf("measured: direct_500 all typed after %lld ms\n",
                static_cast<long long>((sim.now - start) / 1ms));
    sim.drive_for(40s);
    const auto t = tally(sim, "bob", "alice", 500);
    std::size_t direct = 0;
    for (const auto& d : sim.events<peer::ui::Direct>("bob"))
        direct += d.relayed ? 0U : 1U;
    print("direct_500", "alice->bob", t, undelivered(sim, "alice"), sim.net);
    std::printf("measured: direct_500 shown_as_direct=%zu path_now=%s\n", direct,
                sim.events<peer::ui::PathChanged>("alice").back().state == peer::PathState::Direct
                    ? "direct"
                    : "relayed");
    EXPECT_EQ(t.shown, 500u);
    EXPECT_EQ(t.duplicated, 0u);
    EXPECT_EQ(t.reordered, 0u);
    EXPECT_EQ(undelivered(sim, "alice"), 0u);
    EXPECT_GT(direct, 400u); // most go peer to peer; a few also relayed after three tries
}

TEST(ReliabilitySim, ARoomOfFiveGetsEveryLineOnceAtEveryMember) {
    Sim sim(5);
    const std::vector<std::string> names{"ann", "ben", "cat", "dan", "eve"};
    for (std::size_t i = 0; i < names.size(); ++i)
        sim.add_peer(names[i], ep(("203.0.113." + std::to_string(31 + i) + ":4000").c_str()));
    sim.drive_for(2s);
    for (const auto& n : names)
        sim.command(n, peer::cmd::Join{"team"});
    sim.drive_for(2s);
    hostile(sim.net);
    constexpr int kLines = 40;
    for (int i = 0; i < kLines; ++i) {
        for (const auto& n : names)
            sim.command(n, peer::cmd::Say{n + " " + std::to_string(i)});
        sim.drive_for(200ms);
    }
    sim.drive_for(40s);
    for (const auto& receiver : names)
        for (const auto& author : names) {
            if (receiver == author)
                continue;
            const auto t = tally(sim, receiver, author, kLines);
            EXPECT_EQ(t.shown, static_cast<std::size_t>(kLines)) << author << "->" << receiver;
            EXPECT_EQ(t.duplicated, 0u) << author << "->" << receiver;
            EXPECT_EQ(t.reordered, 0u) << author << "->" << receiver;
            if (receiver == "ann" && author == "ben")
                print("room_of_5", "ben->ann", t, undelivered(sim, author), sim.net);
        }
    for (const auto& n : names)
        EXPECT_EQ(undelivered(sim, n), 0u) << n;
}

TEST(ReliabilitySim, LinesTypedBeforeAndDuringAServerRestartAreDeliveredOnce) {
    Sim sim(9);
    sim.add_peer("alice", ep("203.0.113.21:4000"));
    sim.add_peer("bob", ep("203.0.113.22:4000"));
    sim.drive_for(2s);
    sim.net.loss = 0.05;
    int typed = 0;
    auto say = [&](int n) {
        for (int i = 0; i < n; ++i) {
            sim.command("alice", peer::cmd::Say{"alice " + std::to_string(typed++)});
            sim.drive_for(100ms);
        }
    };
    say(20);
    sim.stop_server(); // SIGKILL: every session, room and delivery in flight is gone
    say(20);           // typed into the outage: queued (or in flight to nobody)
    sim.drive_for(3s);
    sim.start_server();
    sim.drive_for(20s); // the peers notice, register again, and the queue drains
    say(20);
    sim.drive_for(10s);
    const auto t = tally(sim, "bob", "alice", typed);
    print("restart", "alice->bob", t, undelivered(sim, "alice"), sim.net);
    EXPECT_EQ(t.shown, static_cast<std::size_t>(typed));
    EXPECT_EQ(t.duplicated, 0u);
    EXPECT_EQ(t.reordered, 0u);
    EXPECT_EQ(sim.client("alice").state(), peer::ConnectionState::Online);
}

TEST(ReliabilitySim, ALineThatCannotBeDeliveredIsReportedAfterThirtySeconds) {
    Sim sim(3);
    sim.add_peer("alice", ep("203.0.113.21:4000"));
    sim.add_peer("bob", ep("203.0.113.22:4000"));
    sim.drive_for(2s);
    sim.stop_server();
    sim.command("alice", peer::cmd::Say{"alice 0"});
    sim.drive_for(29s);
    EXPECT_EQ(undelivered(sim, "alice"), 0u);
    sim.drive_for(2s);
    ASSERT_EQ(undelivered(sim, "alice"), 1u);
    EXPECT_EQ(*sim.events<peer::ui::Error>("alice").back().line, "alice 0");
}

} // namespace
} // namespace chat::sim
