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
        // Behind a NAT a host has a LAN address (the only kind a private candidate may be);
        // on the internet, its own public one.
        a_ = {"alice", ep(nat_a ? "192.168.1.2:4000" : "198.51.100.2:4000"), nat_a, nullptr, {}, 0};
        b_ = {"bob",
              same_lan ? ep("192.168.1.3:4000")
                       : ep(nat_b ? "192.168.2.130:4000" : "198.51.100.130:4000"),
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
    EXPECT_EQ(lab.a_.path->via(), ep("192.168.1.3:4000"));
    EXPECT_EQ(lab.b_.path->via(), ep("192.168.1.2:4000"));
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

// A path that is never answered, run for `for_how_long` on its own wake-ups: every
// datagram it sends, by destination.
std::map<Endpoint, int> probes_unanswered(const proto::PeerInfo& info, const PathConfig& cfg,
                                          Duration for_how_long) {
    std::map<Endpoint, int> sent;
    PathOutput out;
    DirectPath path("alice", info, cfg, Time{}, out);
    auto take = [&sent](PathOutput& o) {
        for (const auto& [to, bytes] : o.datagrams)
            ++sent[to];
        o.datagrams.clear();
    };
    take(out);
    for (int guard = 0; guard < 10000; ++guard) {
        const auto wake = path.next_wakeup();
        if (!wake || *wake > Time{} + for_how_long)
            break;
        path.on_tick(*wake, out);
        take(out);
    }
    return sent;
}

int total(const std::map<Endpoint, int>& sent) {
    int n = 0;
    for (const auto& [to, count] : sent)
        n += count;
    return n;
}

const std::string kNonce(32, 'a');

TEST(DirectPath, PrivateCandidatesOutsideTheLanAreNeverProbed) {
    const proto::PeerInfo info{
        "bob",
        ep("203.0.113.2:4000"),
        {ep("8.8.8.8:53"), ep("192.168.1.7:4000"), ep("127.0.0.1:4000"), ep("[2001:db8::1]:4000")},
        kNonce,
        true};
    const auto sent = probes_unanswered(info, PathConfig{}, 6s);
    EXPECT_EQ(sent.count(ep("8.8.8.8:53")), 0u);
    EXPECT_EQ(sent.count(ep("[2001:db8::1]:4000")), 0u);
    EXPECT_EQ(sent.count(ep("127.0.0.1:4000")), 0u); // the rendezvous is not on loopback
    EXPECT_GT(sent.count(ep("192.168.1.7:4000")), 0u);
    EXPECT_GT(sent.count(ep("203.0.113.2:4000")), 0u);
}

TEST(DirectPath, LoopbackCandidatesAreProbedWhenTheRendezvousIsLocal) {
    PathConfig cfg;
    cfg.allow_loopback = true;
    const proto::PeerInfo info{
        "bob", ep("127.0.0.1:4001"), {ep("127.0.0.1:4002"), ep("10.0.0.9:4000")}, kNonce, true};
    const auto sent = probes_unanswered(info, cfg, 6s);
    EXPECT_GT(sent.count(ep("127.0.0.1:4001")), 0u);
    EXPECT_GT(sent.count(ep("127.0.0.1:4002")), 0u);
    EXPECT_GT(sent.count(ep("10.0.0.9:4000")), 0u);
}

TEST(DirectPath, PublicCandidateMustBeUnicast) {
    for (const char* bad : {"224.0.0.251:5353", "255.255.255.255:4000", "0.0.0.0:4000",
                            "0.1.2.3:4000", "[ff02::1]:4000", "203.0.113.2:0"}) {
        const proto::PeerInfo info{"bob", ep(bad), {}, kNonce, true};
        EXPECT_EQ(total(probes_unanswered(info, PathConfig{}, 6s)), 0) << bad;
    }
}

TEST(DirectPath, OneExchangeSendsAtMostMaxPunchProbes) {
    const proto::PeerInfo info{"bob",
                               ep("203.0.113.2:4000"),
                               {ep("10.0.0.1:1"), ep("10.0.0.2:1"), ep("10.0.0.3:1")},
                               kNonce,
                               true};
    const PathConfig cfg;
    // Four candidates at 25 rounds would be 100 probes; the cap stops it at 50, in the
    // middle of the thirteenth round.
    EXPECT_EQ(total(probes_unanswered(info, cfg, cfg.punch_for + 1s)), 50);
    EXPECT_EQ(cfg.max_punch_probes, 50u);
}

TEST(DirectPath, TwoCandidatesPunchForTheWholeWindowWithinTheCap) {
    const proto::PeerInfo info{"bob", ep("203.0.113.2:4000"), {ep("10.0.0.1:1")}, kNonce, true};
    const PathConfig cfg;
    const auto sent = probes_unanswered(info, cfg, cfg.punch_for - 1ms);
    EXPECT_EQ(sent.at(ep("203.0.113.2:4000")), 25); // one every 200 ms for 5 s
    EXPECT_EQ(sent.at(ep("10.0.0.1:1")), 25);
}

TEST(DirectPath, ProbesFromNewSourcesAddAtMostFourReflexiveCandidates) {
    PathOutput out;
    DirectPath path("alice", {"bob", ep("203.0.113.2:4000"), {}, kNonce, true}, PathConfig{},
                    Time{}, out);
    for (int i = 1; i <= 10; ++i) {
        PathOutput o;
        const auto from = Endpoint::v4({198, 51, 100, static_cast<std::uint8_t>(i)}, 4000);
        path.on_probe(from, {"bob", kNonce, 1}, Time{} + 10ms, o);
        ASSERT_FALSE(o.datagrams.empty()); // always answered where it came from
    }
    EXPECT_EQ(path.candidate_count(), 1u + DirectPath::kMaxReflexive);
}

TEST(DirectPath, AProbeFromAPrivateCandidateDoesNotReplaceAWorkingPath) {
    PathOutput out;
    DirectPath path("alice",
                    {"bob", ep("203.0.113.2:4000"), {ep("192.168.1.7:4000")}, kNonce, true},
                    PathConfig{}, Time{}, out);
    ASSERT_FALSE(out.datagrams.empty());
    // The public candidate answers the first probe sent to it.
    std::optional<std::uint32_t> seq;
    for (const auto& [to, bytes] : out.datagrams)
        if (to == ep("203.0.113.2:4000"))
            seq = std::get<proto::Probe>(std::get<proto::Message>(proto::decode(bytes))).seq;
    ASSERT_TRUE(seq);
    PathOutput o;
    path.on_probe_ack(ep("203.0.113.2:4000"), {"bob", kNonce, *seq, ep("203.0.113.1:1")},
                      Time{} + 20ms, o);
    ASSERT_EQ(path.via(), ep("203.0.113.2:4000"));
    // A probe from the LAN address (not an answer to ours) proves nothing about that path.
    path.on_probe(ep("192.168.1.7:4000"), {"bob", kNonce, 9}, Time{} + 30ms, o);
    path.on_probe_ack(ep("192.168.1.7:4000"), {"bob", kNonce, 12345, ep("203.0.113.1:1")},
                      Time{} + 40ms, o);
    EXPECT_EQ(path.via(), ep("203.0.113.2:4000"));
}

TEST(DirectPath, ARemoteMayStartFiveExchangesInTwentySeconds) {
    PathOutput out;
    proto::PeerInfo info{"bob", ep("203.0.113.2:4000"), {}, kNonce, false};
    DirectPath path("alice", info, PathConfig{}, Time{}, out); // the first
    for (int i = 2; i <= 5; ++i) {
        ASSERT_TRUE(path.may_restart(Time{} + std::chrono::seconds{i})) << i;
        info.nonce = std::string(31, 'b') + std::to_string(i);
        path.restart(info, Time{} + std::chrono::seconds{i}, out);
    }
    EXPECT_FALSE(path.may_restart(Time{} + 19999ms)); // five began in the last 20 s
    EXPECT_TRUE(path.may_restart(Time{} + 20s));      // the first has aged out
}

TEST(DirectPath, AFreshExchangeWhilePunchingIsNotAnnouncedAgain) {
    PathOutput out;
    proto::PeerInfo info{"bob", ep("203.0.113.2:4000"), {}, kNonce, false};
    DirectPath path("alice", info, PathConfig{}, Time{}, out);
    info.nonce = std::string(32, 'b');
    PathOutput again;
    path.restart(info, Time{} + 1s, again);
    EXPECT_TRUE(again.events.empty());
    EXPECT_FALSE(again.datagrams.empty()); // it punches with the new nonce at once
}

TEST(DirectPath, AnUnstampedTextIdIsNewOnlyOnce) {
    PathOutput out;
    DirectPath path("alice", {"bob", ep("203.0.113.2:4000"), {}, kNonce, false}, PathConfig{},
                    Time{}, out);
    EXPECT_TRUE(path.first_sight_of_text(7));
    EXPECT_FALSE(path.first_sight_of_text(7));
    EXPECT_TRUE(path.first_sight_of_text(8));
}

} // namespace
} // namespace chat::peer
