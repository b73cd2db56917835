// DirectPath between two simulated NATs: cone and symmetric mappings, no hairpin, loss.
// Time is a fake clock hopping from wake-up to wake-up; nothing sleeps.
#include "peer/direct_path.hpp"

#include "proto/codec.hpp"
#include "tests/testkit/net.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <random>
#include <set>

namespace chat::peer {
namespace {

using proto::Endpoint;
Endpoint ep(const char* s) {
    return *Endpoint::parse(s);
}

using testkit::Nat; // cone or symmetric, filtering like Linux conntrack

struct Host {
    std::string name;
    Endpoint inside;
    Nat* nat; // nullptr: on the internet
    std::unique_ptr<DirectPath> path;
    std::vector<PathEvent> events;
    int exchanges = 0;
};

// Two hosts, each maybe behind a NAT, with a fixed one-way delay and seeded loss.
class Lab {
  public:
    Lab(Nat* nat_a, Nat* nat_b, bool same_lan = false) : same_lan_(same_lan) {
        a_ = {"alice", ep("198.51.100.2:4000"), nat_a, nullptr, {}, 0};
        b_ = {"bob",
              same_lan ? ep("198.51.100.3:4000") : ep("198.51.100.130:4000"),
              same_lan ? nat_a : nat_b,
              nullptr,
              {},
              0};
    }
    // The public endpoint the rendezvous would have seen for a host.
    Endpoint seen_by_server(Host& h) {
        return h.nat ? h.nat->outbound(h.inside, kRendezvous) : h.inside;
    }
    void exchange(Time now) {
        const std::string nonce = std::string(31, '0') + std::to_string(++exchanges_ % 10);
        const proto::PeerInfo for_a{b_.name, seen_by_server(b_), {b_.inside}, nonce, true};
        const proto::PeerInfo for_b{a_.name, seen_by_server(a_), {a_.inside}, nonce, false};
        start(a_, for_a, now);
        start(b_, for_b, now);
    }
    void start(Host& h, const proto::PeerInfo& info, Time now) {
        PathOutput out;
        if (h.path)
            h.path->restart(info, now, out);
        else
            h.path = std::make_unique<DirectPath>(h.name, info, cfg, now, out);
        collect(h, out, now);
    }
    // Runs until `until`, hopping to each wake-up or delivery, with a step limit.
    void run_until(Time until) {
        for (int steps = 0; steps < 100000; ++steps) {
            std::optional<Time> next;
            for (Host* h : {&a_, &b_})
                if (h->path)
                    if (auto w = h->path->next_wakeup(); w && (!next || *w < *next))
                        next = w;
            if (!wire_.empty() && (!next || wire_.front().at < *next))
                next = wire_.front().at;
            if (!next || *next > until)
                break;
            now_ = std::max(now_, *next);
            while (!wire_.empty() && wire_.front().at <= now_) {
                auto d = wire_.front();
                wire_.pop_front();
                deliver(d);
            }
            for (Host* h : {&a_, &b_}) {
                if (!h->path)
                    continue;
                PathOutput out;
                h->path->on_tick(now_, out);
                collect(*h, out, now_);
            }
        }
        now_ = until;
    }

    PathConfig cfg;
    Host a_, b_;
    Time now_{};
    double loss = 0;
    bool cut = false;
    Duration one_way = 10ms;

  private:
    struct Flight {
        Time at;
        Host* to;
        Endpoint from; // as the receiver sees it
        std::string bytes;
    };
    static inline const Endpoint kRendezvous = ep("203.0.113.10:7777");

    void collect(Host& h, PathOutput& out, Time now) {
        for (auto& e : out.events)
            h.events.push_back(e);
        if (out.wants_exchange) {
            ++h.exchanges;
            exchange(now);
        }
        for (auto& [to, bytes] : out.datagrams)
            send(h, to, std::move(bytes), now);
    }
    void send(Host& from, const Endpoint& to, std::string bytes, Time now) {
        if (cut || (loss > 0 && std::uniform_real_distribution<>(0, 1)(rng_) < loss))
            return;
        Host& other = &from == &a_ ? b_ : a_;
        // Same LAN: private addresses reach each other directly; no hairpin on the NAT.
        if (same_lan_ && to == other.inside) {
            wire_.push_back({now + one_way, &other, from.inside, std::move(bytes)});
            return;
        }
        if (from.nat == nullptr || !from.nat || to == other.inside) {
            if (to == other.inside)
                return; // a private address across the internet: lost
        }
        const Endpoint src = from.nat ? from.nat->outbound(from.inside, to) : from.inside;
        if (same_lan_)
            return; // to the shared NAT's public address: no hairpin
        if (other.nat) {
            if (!other.nat->owns(to))
                return;
            auto inside = other.nat->inbound(to, src);
            if (!inside || *inside != other.inside)
                return;
        } else if (to != other.inside) {
            return;
        }
        wire_.push_back({now + one_way, &other, src, std::move(bytes)});
    }
    void deliver(const Flight& f) {
        auto r = proto::decode(f.bytes);
        auto* m = std::get_if<proto::Message>(&r);
        ASSERT_NE(m, nullptr);
        Host& h = *f.to;
        PathOutput out;
        if (auto* p = std::get_if<proto::Probe>(m); p && h.path->accepts(p->nonce))
            h.path->on_probe(f.from, *p, now_, out);
        else if (auto* a = std::get_if<proto::ProbeAck>(m); a && h.path->accepts(a->nonce))
            h.path->on_probe_ack(f.from, *a, now_, out);
        collect(h, out, now_);
    }

    bool same_lan_;
    int exchanges_ = 0;
    std::deque<Flight> wire_;
    std::mt19937 rng_{42};
};

std::optional<PathEvent> last_event(const Host& h) {
    return h.events.empty() ? std::nullopt : std::optional{h.events.back()};
}

TEST(DirectPath, ConeToConeFindsTheDirectPathOnBothSides) {
    Nat na({203, 0, 113, 1}, false), nb({203, 0, 113, 2}, false);
    Lab lab(&na, &nb);
    lab.exchange(lab.now_);
    lab.run_until(Time{} + 1s);
    ASSERT_TRUE(lab.a_.path->is_direct(lab.now_));
    ASSERT_TRUE(lab.b_.path->is_direct(lab.now_));
    EXPECT_EQ(lab.a_.path->via(), ep("203.0.113.2:4000"));
    EXPECT_EQ(lab.b_.path->via(), ep("203.0.113.1:4000"));
    EXPECT_EQ(last_event(lab.a_)->state, PathState::Direct);
    ASSERT_TRUE(lab.a_.path->rtt());
    EXPECT_EQ(*lab.a_.path->rtt(), 20ms); // two 10 ms hops
}

TEST(DirectPath, SameNatWithoutHairpinUsesTheLanPath) {
    Nat na({203, 0, 113, 1}, false);
    Lab lab(&na, nullptr, /*same_lan=*/true);
    lab.exchange(lab.now_);
    lab.run_until(Time{} + 1s);
    ASSERT_TRUE(lab.a_.path->is_direct(lab.now_));
    EXPECT_EQ(lab.a_.path->via(), ep("198.51.100.3:4000"));
    EXPECT_EQ(lab.b_.path->via(), ep("198.51.100.2:4000"));
}

TEST(DirectPath, SymmetricToSymmetricFallsBackToRelayAfterThePunchWindow) {
    Nat na({203, 0, 113, 1}, true), nb({203, 0, 113, 2}, true);
    Lab lab(&na, &nb);
    lab.exchange(lab.now_);
    lab.run_until(Time{} + 4900ms);
    EXPECT_EQ(lab.a_.path->state(lab.now_), PathState::Punching);
    lab.run_until(Time{} + 5100ms);
    EXPECT_EQ(lab.a_.path->state(lab.now_), PathState::Relayed);
    EXPECT_EQ(lab.b_.path->state(lab.now_), PathState::Relayed);
    const auto e = last_event(lab.a_);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->state, PathState::Relayed);
    EXPECT_NE(e->reason.find("no direct path"), std::string::npos);
}

TEST(DirectPath, RelayedInitiatorRetriesInTheBackgroundWithoutRepeatingItself) {
    Nat na({203, 0, 113, 1}, true), nb({203, 0, 113, 2}, true);
    Lab lab(&na, &nb);
    lab.exchange(lab.now_);
    lab.run_until(Time{} + 60s);
    EXPECT_GE(lab.a_.exchanges, 2); // at 25 s and 50 s: punch window + retry interval
    EXPECT_EQ(lab.b_.exchanges, 0); // only the side that asked re-asks
    int relayed = 0;
    for (const auto& e : lab.a_.events)
        relayed += e.state == PathState::Relayed ? 1 : 0;
    EXPECT_EQ(relayed, 1);
}

TEST(DirectPath, PunchingSurvivesTwentyPercentLoss) {
    Nat na({203, 0, 113, 1}, false), nb({203, 0, 113, 2}, false);
    Lab lab(&na, &nb);
    lab.loss = 0.2;
    lab.exchange(lab.now_);
    lab.run_until(Time{} + 2s);
    EXPECT_TRUE(lab.a_.path->is_direct(lab.now_));
    EXPECT_TRUE(lab.b_.path->is_direct(lab.now_));
}

TEST(DirectPath, KeepalivesHoldThePathAndSilenceDropsItWithinDeadAfter) {
    Nat na({203, 0, 113, 1}, false), nb({203, 0, 113, 2}, false);
    Lab lab(&na, &nb);
    lab.exchange(lab.now_);
    lab.run_until(Time{} + 30s);
    ASSERT_TRUE(lab.a_.path->is_direct(lab.now_)); // 30 s on keepalives alone
    lab.cut = true;
    const Time cut_at = lab.now_;
    // Silence counts from the last answer, at most one keepalive (2 s) before the cut.
    lab.run_until(cut_at + 3900ms);
    EXPECT_TRUE(lab.a_.path->is_direct(lab.now_));
    const auto events_before = lab.a_.events.size();
    lab.run_until(cut_at + 6100ms);
    EXPECT_FALSE(lab.a_.path->is_direct(lab.now_));
    ASSERT_GT(lab.a_.events.size(), events_before);
    const auto& e = lab.a_.events[events_before];
    EXPECT_EQ(e.state, PathState::Relayed);
    EXPECT_EQ(e.reason, "direct path went silent");
    EXPECT_EQ(lab.a_.exchanges, 1); // the initiator asked for fresh endpoints at once
    EXPECT_EQ(lab.a_.path->state(lab.now_), PathState::Punching); // and is punching again
}

TEST(DirectPath, PathComesBackAfterTheNatForgetsItsMappings) {
    Nat na({203, 0, 113, 1}, false), nb({203, 0, 113, 2}, false);
    Lab lab(&na, &nb);
    lab.exchange(lab.now_);
    lab.run_until(Time{} + 3s);
    ASSERT_TRUE(lab.a_.path->is_direct(lab.now_));
    na.flush(); // conntrack -F on router A
    lab.run_until(Time{} + 15s);
    EXPECT_TRUE(lab.a_.path->is_direct(lab.now_));
    EXPECT_TRUE(lab.b_.path->is_direct(lab.now_));
}

TEST(DirectPath, ProbeWithAnotherNonceIsNotAccepted) {
    PathOutput out;
    const proto::PeerInfo info{"bob", ep("203.0.113.2:4000"), {}, std::string(32, 'a'), true};
    DirectPath path("alice", info, PathConfig{}, Time{}, out);
    EXPECT_TRUE(path.accepts(std::string(32, 'a')));
    EXPECT_FALSE(path.accepts(std::string(32, 'b')));
}

TEST(DirectPath, AckFromAnAddressWeNeverProbedIsIgnored) {
    PathOutput out;
    const std::string nonce(32, 'a');
    DirectPath path("alice", {"bob", ep("203.0.113.2:4000"), {}, nonce, true}, PathConfig{}, Time{},
                    out);
    PathOutput out2;
    path.on_probe_ack(ep("203.0.113.99:1"), {"bob", nonce, 1, ep("203.0.113.1:4000")},
                      Time{} + 10ms, out2);
    EXPECT_FALSE(path.is_direct(Time{} + 10ms));
    EXPECT_TRUE(out2.events.empty());
}

} // namespace
} // namespace chat::peer
