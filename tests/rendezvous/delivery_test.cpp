// Reliable fan-out: every JSON member gets a line with a delivery id `d` and the author's
// stamp, is sent it again at its RTO until it acks with `got`, and is given up on after 30 s
// or when its session ends; the author's ok waits for all of that. A fake clock throughout.
#include "server_fixture.hpp"

#include "rendezvous/delivery.hpp"

namespace chat::rdv::testing {
namespace {

using proto::DeliveryId;
using proto::ErrorCode;

const proto::Stamp kStamp{"a1b2c3d4", 12, 10}; // lo: lines 1-9 of this stream are settled

class DeliveryTest : public ServerTest {
  protected:
    explicit DeliveryTest(ServerConfig cfg = {}) : ServerTest(cfg) {}
    void SetUp() override {
        register_peer("alice", kAlice);
        register_peer("bob", kBob);
        register_peer("carol", kCarol);
    }

    Outbox say(proto::RequestId id, Time at, std::string room = "lobby",
               const Endpoint& from = kAlice, const std::string& who = "alice") {
        const proto::Stamp st{kStamp.inst, id, id}; // lo <= n
        return send(from,
                    proto::Say{token(who), id, std::move(room), "line " + std::to_string(id), st},
                    at);
    }
    Outbox got(const Endpoint& from, const std::string& who, std::vector<DeliveryId> ids, Time at) {
        return send(from, proto::Got{token(who), std::move(ids)}, at);
    }
    Outbox ping(const Endpoint& from, Time at) { return send(from, proto::Ping{}, at); }

    static std::vector<proto::RoomMessage> msgs(const Outbox& out, const Endpoint& to) {
        return of_type<proto::RoomMessage>(sent_to(out, to));
    }
    // The final oks to alice (delivered); ok{taken} only says the server has the line.
    static std::vector<proto::Ok> oks(const Outbox& out) {
        auto all = of_type<proto::Ok>(sent_to(out, kAlice));
        std::erase_if(all, [](const proto::Ok& ok) { return ok.taken; });
        return all;
    }
    static std::vector<proto::Ok> taken(const Outbox& out) {
        auto all = of_type<proto::Ok>(sent_to(out, kAlice));
        std::erase_if(all, [](const proto::Ok& ok) { return !ok.taken; });
        return all;
    }
    // The d of the one msg `to` got in `out` (0 and a test failure if not exactly one with d).
    static DeliveryId d_of(const Outbox& out, const Endpoint& to) {
        const auto m = msgs(out, to);
        EXPECT_EQ(m.size(), 1u);
        if (m.size() != 1 || !m[0].d) {
            ADD_FAILURE() << "no msg with d to " << to.to_string();
            return 0;
        }
        return *m[0].d;
    }
    DeliveryCounters counters() const { return server_.traffic().delivery; }
    // When `d` went to `to` again, ticking every millisecond from `from` to `until`.
    std::vector<Duration> resend_times(const Endpoint& to, DeliveryId d, Time from, Time until) {
        std::vector<Duration> at;
        for (Time t = from; t <= until; t += 1ms)
            for (const auto& m : msgs(server_.on_tick(t), to))
                if (m.d == d)
                    at.push_back(t - from);
        return at;
    }
};

TEST(DeliveryId, SplicedOntoTheEncodingItIsTheSameAsAFullEncode) {
    const std::vector<proto::Message> lines = {
        proto::RoomMessage{"dev", "alice", "hi \"there\"\t\\ 🚀", kStamp, std::nullopt},
        proto::RoomMessage{"lobby", "192.0.2.7:5000", "legacy", std::nullopt, std::nullopt},
        proto::DirectMessage{"alice", {"bob", "carol"}, "psst", kStamp, std::nullopt},
    };
    for (const auto& line : lines)
        for (const DeliveryId d : {0u, 1u, 40u, 4294967295u}) {
            proto::Message with_d = line;
            std::visit(
                [d](auto& m) {
                    using T = std::decay_t<decltype(m)>;
                    if constexpr (std::is_same_v<T, proto::RoomMessage> ||
                                  std::is_same_v<T, proto::DirectMessage>)
                        m.d = d;
                },
                with_d);
            const std::string spliced = with_delivery_id(proto::encode(line), d);
            EXPECT_EQ(spliced, proto::encode(with_d));
            const auto back = proto::decode(spliced);
            ASSERT_TRUE(std::holds_alternative<proto::Message>(back)) << spliced;
        }
}

TEST(DeliveryId, LongestSpliceIsWhatTheSizeCheckAllowsFor) {
    const std::string json = proto::encode(proto::RoomMessage{"dev", "a", "b", kStamp, {}});
    EXPECT_EQ(with_delivery_id(json, 4294967295u).size(), json.size() + kDeliveryIdBytes);
}

// The bookkeeping alone, without a Server: member 10 gets lines from author 1.
class DeliveriesTest : public ::testing::Test {
  protected:
    explicit DeliveriesTest(DeliveryId first_id = 1) : dl_(Deliveries::Limits{}, first_id) {}
    DeliveryId line_to_member(proto::RequestId id, Time at) {
        auto f = dl_.open_line(AuthorRequest{1, id}, "{\"t\":\"msg\"}", {}, true);
        const auto d = dl_.add(f, 10, at);
        dl_.close_line(std::move(f), at, out_);
        EXPECT_TRUE(d.has_value());
        return d.value_or(0);
    }
    std::vector<proto::RequestId> oks() {
        std::vector<proto::RequestId> v;
        for (const auto& done : out_.done)
            v.push_back(done.request.id);
        out_.done.clear();
        return v;
    }
    Deliveries dl_;
    Deliveries::Output out_;
    const Time t0_{};
};

class WrappingDeliveriesTest : public DeliveriesTest {
  protected:
    WrappingDeliveriesTest() : DeliveriesTest(4294967294u) {}
};

TEST_F(WrappingDeliveriesTest, AcksInAnyOrderFindTheirDeliveriesAcrossTheIdWrap) {
    const DeliveryId a = line_to_member(1, t0_), b = line_to_member(2, t0_),
                     c = line_to_member(3, t0_);
    EXPECT_EQ(std::vector<DeliveryId>({a, b, c}),
              std::vector<DeliveryId>({4294967294u, 4294967295u, 1u})); // 0 is skipped
    const std::vector<DeliveryId> acks = {c, a, b};
    dl_.on_got(10, acks, t0_ + 10ms, out_);
    EXPECT_EQ(oks(), (std::vector<proto::RequestId>{3, 1, 2}));
    EXPECT_EQ(dl_.members(), 0u);
}

TEST_F(DeliveriesTest, OutOfOrderAcksLeaveOnlyTheUnackedToResend) {
    std::vector<DeliveryId> odd, even;
    for (proto::RequestId id = 1; id <= 200; ++id)
        (id % 2 == 1 ? odd : even).push_back(line_to_member(id, t0_ + Duration{id}));
    for (std::size_t i = 0; i < odd.size(); i += 32) // gots of 32 ids, the protocol's limit
        dl_.on_got(10, std::span(odd).subspan(i, std::min<std::size_t>(32, odd.size() - i)),
                   t0_ + 300ms, out_);
    EXPECT_EQ(oks().size(), 100u);
    EXPECT_EQ(dl_.in_flight(), 100u);
    dl_.on_tick(t0_ + 2s, out_); // every even one is due (the RTO is now 600 ms)
    std::vector<DeliveryId> resent;
    for (const auto& r : out_.resends)
        resent.push_back(
            static_cast<DeliveryId>(std::stoul(r.bytes.substr(r.bytes.rfind(':') + 1))));
    EXPECT_EQ(resent, even);
    dl_.on_got(10, std::span(even).first(32), t0_ + 2100ms, out_);
    dl_.on_got(10, std::span(even).subspan(32), t0_ + 2100ms, out_); // (over 32: fine here)
    EXPECT_EQ(oks().size(), 100u);
    EXPECT_EQ(dl_.in_flight(), 0u);
    EXPECT_EQ(dl_.members(), 0u);
    EXPECT_EQ(dl_.next_deadline(), t0_ + 2100ms + kFinishedKeptFor); // only finished ids left
}

TEST_F(DeliveriesTest, EarliestDeadlineWeighsResentAgainstSentOnce) {
    const DeliveryId a = line_to_member(1, t0_);
    dl_.on_tick(t0_ + 1s, out_);                          // a resent: next at 2 s
    const DeliveryId b = line_to_member(2, t0_ + 1500ms); // sent once: due at 2.5 s
    EXPECT_EQ(dl_.next_deadline(), t0_ + 2s);
    dl_.on_got(10, std::vector<DeliveryId>{a}, t0_ + 1600ms, out_);
    EXPECT_EQ(dl_.next_deadline(), t0_ + 2500ms); // Karn: no sample, the RTO is still 1 s
    dl_.on_got(10, std::vector<DeliveryId>{b}, t0_ + 1700ms, out_);
    EXPECT_EQ(oks(), (std::vector<proto::RequestId>{1, 2}));
}

TEST_F(DeliveryTest, MsgCarriesADeliveryIdAndTheAuthorsStampUnchanged) {
    const auto out = say(7, t0_);
    const auto to_bob = msgs(out, kBob);
    ASSERT_EQ(to_bob.size(), 1u);
    EXPECT_EQ(to_bob[0].from, "alice");
    EXPECT_EQ(to_bob[0].stamp, (proto::Stamp{"a1b2c3d4", 7, 7}));
    ASSERT_TRUE(to_bob[0].d.has_value());
    EXPECT_TRUE(d_of(out, kCarol) != 0);
    EXPECT_TRUE(oks(out).empty());    // nobody has acked yet
    ASSERT_EQ(taken(out).size(), 1u); // but alice knows the server has it: she stops resending
    EXPECT_EQ(taken(out)[0].id, 7u);
    EXPECT_TRUE(msgs(out, kAlice).empty());
    EXPECT_EQ(counters().reliable, 2u);
    // The next line to the same member has a larger d.
    EXPECT_GT(d_of(say(8, t0_ + 1ms), kBob), *to_bob[0].d);
}

TEST_F(DeliveryTest, UnackedDeliveryIsResentAtTheRtoWithTheSameId) {
    const DeliveryId d = d_of(say(1, t0_), kBob);
    EXPECT_EQ(server_.next_wakeup(), t0_ + 1s); // the initial RTO
    EXPECT_TRUE(msgs(server_.on_tick(t0_ + 999ms), kBob).empty());
    const auto first = server_.on_tick(t0_ + 1s);
    EXPECT_EQ(d_of(first, kBob), d);
    EXPECT_EQ(msgs(first, kBob)[0].stamp, (proto::Stamp{"a1b2c3d4", 1, 1}));
    // Backed off, but capped at max(1 s, RTO): the next resend is a second later.
    EXPECT_EQ(server_.next_wakeup(), t0_ + 2s);
    EXPECT_TRUE(msgs(server_.on_tick(t0_ + 1999ms), kBob).empty());
    EXPECT_EQ(d_of(server_.on_tick(t0_ + 2s), kBob), d);
    EXPECT_EQ(counters().resent, 4u); // bob and carol, twice each
}

TEST_F(DeliveryTest, ResendsBackOffFromTheMemberMeasuredRto) {
    const DeliveryId first = d_of(say(1, t0_), kBob);
    say(2, t0_); // bob still has a delivery in flight when the first is acked
    got(kBob, "bob", {first}, t0_ + 100ms); // RTT 100 ms: RTO 300 ms
    const Time t1 = t0_ + 200ms;
    const DeliveryId d = d_of(say(3, t1), kBob);
    // 300 ms, then doubled to 600 ms, then capped at max(1 s, RTO).
    EXPECT_EQ(resend_times(kBob, d, t1, t1 + 3s),
              (std::vector<Duration>{300ms, 900ms, 1900ms, 2900ms}));
}

TEST_F(DeliveryTest, AnIdleMemberKeepsItsMeasuredRto) {
    const auto out = say(1, t0_);
    got(kBob, "bob", {d_of(out, kBob)}, t0_ + 100ms); // RTT 100 ms: RTO 300 ms
    got(kCarol, "carol", {d_of(out, kCarol)}, t0_ + 100ms);
    EXPECT_EQ(server_.deliveries().members(), 0u); // nothing in flight for anyone
    const Time t1 = t0_ + 4s;                      // a quiet spell, then the next line
    const DeliveryId d = d_of(say(2, t1), kBob);
    EXPECT_EQ(resend_times(kBob, d, t1, t1 + 1s), (std::vector<Duration>{300ms, 900ms}));
}

TEST_F(DeliveryTest, ResentDeliveryGivesNoRttSample) {
    const DeliveryId d = d_of(say(1, t0_), kBob);
    say(2, t0_);
    server_.on_tick(t0_ + 1s);           // both resent
    got(kBob, "bob", {d}, t0_ + 1050ms); // Karn: this could answer either send
    const Time t1 = t0_ + 1100ms;
    const DeliveryId d3 = d_of(say(3, t1), kBob);
    // Sampled, the 1.05 s would have set the RTO to 3.15 s; unsampled it is still 1 s.
    EXPECT_EQ(resend_times(kBob, d3, t1, t1 + 1s), std::vector<Duration>{1s});
}

TEST_F(DeliveryTest, GotStopsResendsToThatMemberOnly) {
    const auto out = say(1, t0_);
    got(kBob, "bob", {d_of(out, kBob)}, t0_ + 500ms);
    const auto tick = server_.on_tick(t0_ + 1s);
    EXPECT_TRUE(msgs(tick, kBob).empty());
    EXPECT_EQ(msgs(tick, kCarol).size(), 1u);
    EXPECT_EQ(counters().acked, 1u);
}

TEST_F(DeliveryTest, AuthorGetsOkOnlyAfterEveryMemberAcked) {
    const auto out = say(5, t0_);
    EXPECT_TRUE(oks(got(kBob, "bob", {d_of(out, kBob)}, t0_ + 10ms)).empty());
    const auto last = got(kCarol, "carol", {d_of(out, kCarol)}, t0_ + 20ms);
    const auto ok = oks(last);
    ASSERT_EQ(ok.size(), 1u);
    EXPECT_EQ(ok[0].id, 5u);
    // Nothing is left in flight: no member is active, and none needs a wake-up.
    EXPECT_EQ(server_.deliveries().in_flight(), 0u);
    EXPECT_EQ(server_.deliveries().members(), 0u);
    EXPECT_EQ(server_.deliveries().lines(), 0u);
    EXPECT_EQ(server_.next_wakeup(), t0_ + 10s); // evictions are all that is left
}

TEST_F(DeliveryTest, DuplicateAndUnknownAcksAreIgnored) {
    const auto out = say(1, t0_);
    const DeliveryId d = d_of(out, kBob);
    got(kBob, "bob", {d, d + 1000, 0}, t0_ + 10ms);
    got(kBob, "bob", {d}, t0_ + 20ms);
    EXPECT_EQ(counters().acked, 1u);
    EXPECT_TRUE(oks(got(kCarol, "carol", {d}, t0_ + 30ms)).empty()); // bob's d, not carol's
    EXPECT_EQ(counters().acked, 1u);
}

TEST_F(DeliveryTest, MemberThatNeverAcksIsGivenUpAtThirtySecondsThenTheAuthorGetsOk) {
    const auto out = say(3, t0_);
    got(kBob, "bob", {d_of(out, kBob)}, t0_ + 10ms);
    std::size_t resends = 0;
    for (Time t = t0_ + 1s; t < t0_ + 30s; t += 1s) {
        if ((t - t0_) % 5s == Duration::zero()) { // carol is alive, she just never acks
            ping(kAlice, t);
            ping(kCarol, t);
            ping(kBob, t);
        }
        const auto tick = server_.on_tick(t);
        resends += msgs(tick, kCarol).size();
        ASSERT_TRUE(oks(tick).empty()) << "ok before the give-up, at " << (t - t0_).count();
    }
    EXPECT_EQ(resends, 29u); // once a second from 1 s to 29 s
    EXPECT_EQ(server_.next_wakeup(), t0_ + 30s);
    const auto end = server_.on_tick(t0_ + 30s);
    EXPECT_TRUE(msgs(end, kCarol).empty());
    ASSERT_EQ(oks(end).size(), 1u);
    EXPECT_EQ(oks(end)[0].id, 3u);
    EXPECT_EQ(counters().given_up, 1u);
    EXPECT_EQ(server_.peer_count(), 3u);
}

TEST_F(DeliveryTest, EvictedMemberIsGivenUpAtOnce) {
    const auto out = say(3, t0_);
    got(kBob, "bob", {d_of(out, kBob)}, t0_ + 10ms);
    ping(kAlice, t0_ + 5s);
    ping(kBob, t0_ + 5s);
    EXPECT_TRUE(oks(server_.on_tick(t0_ + 9999ms)).empty());
    const auto evicted = server_.on_tick(t0_ + 10s); // carol: 10 s of silence
    EXPECT_EQ(server_.peer_count(), 2u);
    ASSERT_EQ(oks(evicted).size(), 1u);
    EXPECT_EQ(counters().given_up, 1u);
    EXPECT_EQ(server_.deliveries().in_flight(), 0u);
}

TEST_F(DeliveryTest, MemberThatSaysByeIsGivenUpAtOnce) {
    const auto out = say(3, t0_);
    got(kBob, "bob", {d_of(out, kBob)}, t0_ + 10ms);
    const auto bye = send(kCarol, proto::Bye{token("carol")}, t0_ + 20ms);
    ASSERT_EQ(oks(bye).size(), 1u);
    EXPECT_EQ(oks(bye)[0].id, 3u);
}

TEST_F(DeliveryTest, ResentSayWhileDeliveringIsAnsweredTakenWithoutASecondFanout) {
    say(4, t0_);
    const auto again = say(4, t0_ + 500ms);
    ASSERT_EQ(again.size(), 1u); // only ok{taken} again: no second fan-out
    EXPECT_EQ(taken(again).size(), 1u);
    EXPECT_EQ(counters().reliable, 2u);
}

TEST_F(DeliveryTest, ResentSayAfterFinishingIsAckedAgainWithoutASecondFanout) {
    const auto out = say(4, t0_);
    got(kBob, "bob", {d_of(out, kBob)}, t0_ + 10ms);
    ASSERT_EQ(oks(got(kCarol, "carol", {d_of(out, kCarol)}, t0_ + 20ms)).size(), 1u);
    const auto again = say(4, t0_ + 1s);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(only<proto::Ok>(again, kAlice).id, 4u);
    EXPECT_EQ(counters().reliable, 2u);
}

TEST_F(DeliveryTest, FinishedIdsAreRememberedSixtyFourDeep) {
    for (proto::RequestId id = 1; id <= 65; ++id) { // nobody else in "dev": ok at once
        const Time at = t0_ + Duration{id * 60};    // inside the session's 20 datagrams/s
        if (id == 1)
            send(kAlice, proto::Join{token("alice"), 100, "dev"}, at);
        ASSERT_EQ(oks(say(id, at, "dev")).size(), 1u);
    }
    const Time later = t0_ + 5s;
    EXPECT_EQ(only<proto::Ok>(say(65, later, "dev"), kAlice).id, 65u); // remembered
    EXPECT_EQ(only<proto::Ok>(say(2, later, "dev"), kAlice).id, 2u);   // the oldest kept
    // Id 1 fell out: it is relayed again (to nobody here) and acked as a new line.
    send(kBob, proto::Join{token("bob"), 100, "dev"}, later);
    EXPECT_EQ(msgs(say(1, later + 1ms, "dev"), kBob).size(), 1u);
}

TEST_F(DeliveryTest, FinishedIdsAreForgottenAfterTheAuthorsDeadline) {
    send(kAlice, proto::Join{token("alice"), 100, "dev"}, t0_);
    say(1, t0_, "dev"); // ok at once
    EXPECT_EQ(server_.next_wakeup(), t0_ + 10s);
    for (Time t = t0_ + 5s; t < t0_ + 40s; t += 5s) {
        ping(kAlice, t);
        ping(kBob, t);
        server_.on_tick(t);
    }
    send(kBob, proto::Join{token("bob"), 100, "dev"}, t0_ + 40s);
    EXPECT_EQ(msgs(say(1, t0_ + 40s, "dev"), kBob).size(), 1u); // a new line now
}

TEST_F(DeliveryTest, GotWithAWrongTokenIsIgnored) {
    const DeliveryId d = d_of(say(1, t0_), kBob);
    send(kBob, proto::Got{proto::Token(32, 'f'), {d}}, t0_ + 10ms);
    EXPECT_EQ(drops(proto::DropReason::BadToken), 1u);
    EXPECT_EQ(counters().acked, 0u);
    EXPECT_EQ(d_of(server_.on_tick(t0_ + 1s), kBob), d);
}

TEST_F(DeliveryTest, GotFromAnotherAddressIsIgnored) {
    const DeliveryId d = d_of(say(1, t0_), kBob);
    const auto out = got(kLegacy, "bob", {d}, t0_ + 10ms);
    EXPECT_EQ(only<proto::Error>(out, kLegacy).code, ErrorCode::NoSession);
    EXPECT_EQ(drops(proto::DropReason::NotRegistered), 1u);
    EXPECT_EQ(counters().acked, 0u);
    EXPECT_EQ(d_of(server_.on_tick(t0_ + 1s), kBob), d);
}

TEST_F(DeliveryTest, GotRefreshesTheMemberLikeAnyRequest) {
    const DeliveryId d = d_of(say(1, t0_), kBob);
    got(kBob, "bob", {d}, t0_ + 8s);
    ping(kAlice, t0_ + 8s);
    server_.on_tick(t0_ + 10s);
    EXPECT_EQ(server_.peer_count(), 2u); // carol went; bob stayed
}

TEST_F(DeliveryTest, NextWakeupIsTheEarliestResend) {
    const auto out = say(1, t0_ + 200ms);
    EXPECT_EQ(server_.next_wakeup(), t0_ + 1200ms); // before any eviction at 10 s
    got(kBob, "bob", {d_of(out, kBob)}, t0_ + 300ms);
    EXPECT_EQ(server_.next_wakeup(), t0_ + 1200ms); // carol's is still due
    got(kCarol, "carol", {d_of(out, kCarol)}, t0_ + 400ms);
    EXPECT_EQ(server_.next_wakeup(), t0_ + 10200ms); // alice's eviction, 10 s after her say
}

TEST_F(DeliveryTest, LineWithNobodyToWaitForIsAckedAtOnce) {
    send(kAlice, proto::Join{token("alice"), 100, "dev"}, t0_);
    const auto out = say(1, t0_, "dev");
    EXPECT_EQ(only<proto::Ok>(out, kAlice).id, 1u);
    EXPECT_EQ(server_.deliveries().lines(), 0u);
}

TEST_F(DeliveryTest, UnstampedLineIsSentOnceWithoutDAndAckedAtOnce) {
    // Without a stamp a receiver could not drop a resend, so the line is not resent.
    const auto out = send(kAlice, proto::Say{token("alice"), 1, "lobby", "old client"});
    EXPECT_FALSE(msgs(out, kBob).at(0).d.has_value());
    EXPECT_EQ(only<proto::Ok>(out, kAlice).id, 1u);
    EXPECT_TRUE(msgs(server_.on_tick(t0_ + 1s), kBob).empty());
    EXPECT_EQ(counters().unreliable, 0u);
    EXPECT_EQ(
        only<proto::Ok>(send(kAlice, proto::Say{token("alice"), 1, "lobby", "old client"}), kAlice)
            .id,
        1u); // a resend is still not relayed twice
}

TEST_F(DeliveryTest, AuthorWhoLeavesFirstGetsNoOkButMembersStillGetTheLine) {
    const auto out = say(1, t0_);
    send(kAlice, proto::Bye{token("alice")}, t0_ + 100ms);
    const auto tick = server_.on_tick(t0_ + 1s);
    EXPECT_EQ(d_of(tick, kBob), d_of(out, kBob));
    got(kBob, "bob", {d_of(out, kBob)}, t0_ + 1100ms);
    const auto last = got(kCarol, "carol", {d_of(out, kCarol)}, t0_ + 1200ms);
    EXPECT_TRUE(last.empty());
    EXPECT_EQ(server_.deliveries().lines(), 0u);
}

TEST_F(DeliveryTest, DirectMessageWaitsForItsRecipientsAndReportsUnknownNames) {
    const auto out =
        send(kAlice, proto::Direct{token("alice"), 8, {"bob", "zed"}, "psst", kStamp}, t0_);
    const auto dm = only<proto::DirectMessage>(out, kBob);
    EXPECT_EQ(dm.stamp, kStamp);
    ASSERT_TRUE(dm.d.has_value());
    EXPECT_TRUE(oks(out).empty());
    EXPECT_EQ(only<proto::DirectMessage>(server_.on_tick(t0_ + 1s), kBob).d, dm.d);
    const auto ok = oks(got(kBob, "bob", {*dm.d}, t0_ + 1100ms));
    ASSERT_EQ(ok.size(), 1u);
    EXPECT_EQ(ok[0].id, 8u);
    EXPECT_EQ(ok[0].unknown, std::vector<std::string>{"zed"});
    // A resend after that is acked again (the unknown names may be left out).
    EXPECT_EQ(only<proto::Ok>(send(kAlice,
                                   proto::Direct{token("alice"), 8, {"bob", "zed"}, "psst", kStamp},
                                   t0_ + 2s),
                              kAlice)
                  .id,
              8u);
}

TEST_F(DeliveryTest, DirectMessageToNobodyOnlineIsStillAnErrorAtOnce) {
    const auto out = send(kAlice, proto::Direct{token("alice"), 9, {"zed"}, "psst", kStamp}, t0_);
    EXPECT_EQ(only<proto::Error>(out, kAlice).code, ErrorCode::NoSuchUser);
}

// A dm of exactly `size` bytes from a 32-character name, with a one-digit id: its dm_msg
// swaps "tok" and "id" for "from" (2 bytes shorter), and the longest "d" adds 15.
proto::Direct direct_of_size(const proto::Token& tok, std::size_t size) {
    proto::Direct dm{tok,
                     1,
                     {"bob", std::string(32, 'x'), std::string(32, 'y'), std::string(32, 'z')},
                     "",
                     kStamp};
    // At most 500 bytes of text, escaped to up to 1,000: some quotes, the rest letters.
    const std::size_t escaped = size - proto::encode(dm).size();
    EXPECT_TRUE(escaped >= 500 && escaped <= 1000);
    dm.text = std::string(escaped - 500, '"') + std::string(1000 - escaped, 'x');
    EXPECT_EQ(proto::encode(dm).size(), size);
    return dm;
}

TEST_F(DeliveryTest, LineThatWouldNotFitADatagramWithItsDeliveryIdIsRefused) {
    const std::string name(32, 'm');
    const Endpoint from = ep("203.0.113.99:4000");
    register_peer(name, from);
    const auto out = send(from, direct_of_size(token(name), 1188), t0_); // 1,186 + 15 > 1,200
    const auto err = only<proto::Error>(out, from);
    EXPECT_EQ(err.code, ErrorCode::BadRequest);
    EXPECT_NE(err.text.find("too long"), std::string::npos) << err.text;
    EXPECT_TRUE(sent_to(out, kBob).empty());
    for (const auto& d : out)
        EXPECT_LE(d.bytes.size(), proto::kMaxDatagram);
}

TEST_F(DeliveryTest, LongestLineThatFitsWithItsDeliveryIdIsRelayed) {
    const std::string name(32, 'm');
    const Endpoint from = ep("203.0.113.99:4000");
    register_peer(name, from);
    const auto out = send(from, direct_of_size(token(name), 1187), t0_); // 1,185 + 15
    EXPECT_TRUE(of_type<proto::Error>(sent_to(out, from)).empty());
    EXPECT_TRUE(only<proto::DirectMessage>(out, kBob).d.has_value());
    for (const auto& d : out)
        EXPECT_LE(d.bytes.size(), proto::kMaxDatagram);
}

class BusyDeliveryTest : public DeliveryTest {
  protected:
    BusyDeliveryTest() : DeliveryTest(config()) {}
    static ServerConfig config() {
        ServerConfig c;
        c.session_datagrams_per_second = 1e6; // an author typing faster than any person
        c.session_burst = 1e6;
        return c;
    }
};

TEST_F(BusyDeliveryTest, PerMemberBoundSendsThe257thWithoutADeliveryIdAndCountsIt) {
    // alice and bob alone in "dev"; bob never acks.
    send(kAlice, proto::Join{token("alice"), 1000, "dev"}, t0_);
    send(kBob, proto::Join{token("bob"), 1000, "dev"}, t0_);
    std::size_t with_d = 0;
    for (proto::RequestId id = 1; id <= 256; ++id) {
        const auto m = msgs(say(id, t0_ + Duration{id}, "dev"), kBob);
        if (m.size() == 1 && m[0].d)
            ++with_d;
    }
    ASSERT_EQ(with_d, 256u);
    EXPECT_EQ(counters().unreliable, 0u);
    const auto over = say(257, t0_ + 300ms, "dev");
    const auto m = msgs(over, kBob);
    ASSERT_EQ(m.size(), 1u);
    EXPECT_FALSE(m[0].d.has_value());
    EXPECT_EQ(m[0].text, "line 257");
    EXPECT_EQ(counters().unreliable, 1u);
    EXPECT_EQ(only<proto::Ok>(over, kAlice).id, 257u); // nothing to wait for
    EXPECT_EQ(server_.deliveries().in_flight(), 256u);
}

class SmallDeliveryTest : public DeliveryTest {
  protected:
    SmallDeliveryTest() : DeliveryTest(config()) {}
    static ServerConfig config() {
        ServerConfig c;
        c.max_in_flight = 1;
        return c;
    }
};

TEST_F(SmallDeliveryTest, ServerWideBoundSendsTheRestWithoutADeliveryId) {
    const auto out = say(1, t0_);
    const auto b = msgs(out, kBob), c = msgs(out, kCarol);
    ASSERT_EQ(b.size() + c.size(), 2u);
    EXPECT_EQ((b[0].d ? 1 : 0) + (c[0].d ? 1 : 0), 1);
    EXPECT_EQ(counters().unreliable, 1u);
}

class PlainDeliveryTest : public DeliveryTest {
  protected:
    PlainDeliveryTest() : DeliveryTest(config()) {}
    static ServerConfig config() {
        ServerConfig c;
        c.allow_plaintext = true;
        return c;
    }
};

TEST_F(PlainDeliveryTest, PlainTextMemberGetsPlainTextOnceAndIsNotWaitedFor) {
    send_raw(kLegacy, "#ping#");
    const auto out = say(1, t0_);
    EXPECT_EQ(raw_to(out, kLegacy), std::vector<std::string>{"alice\nline 1"});
    got(kBob, "bob", {d_of(out, kBob)}, t0_ + 10ms);
    const auto last = got(kCarol, "carol", {d_of(out, kCarol)}, t0_ + 20ms);
    EXPECT_EQ(oks(last).size(), 1u); // the legacy member is not waited for
    EXPECT_TRUE(raw_to(server_.on_tick(t0_ + 1s), kLegacy).empty());
    EXPECT_EQ(counters().unreliable, 0u);
}

TEST_F(PlainDeliveryTest, LegacyLineReachesJsonMembersWithoutD) {
    const auto out = send_raw(kLegacy, "hi from netcat\n");
    const auto m = msgs(out, kBob);
    ASSERT_EQ(m.size(), 1u);
    EXPECT_FALSE(m[0].d.has_value());
    EXPECT_FALSE(m[0].stamp.has_value());
}

TEST(DeliveryStats, StatsLineCountsDeliveriesResendsAndGiveUps) {
    testkit::SeededRng rng{7};
    testkit::CapturingLogger log;
    ServerConfig cfg;
    cfg.stats_every = 60s;
    const Time t0{};
    Server server{cfg, rng, log, t0};
    std::map<std::string, proto::Token> tok;
    for (const auto& [name, at] : {std::pair{"alice", kAlice}, {"bob", kBob}}) {
        proto::Hello hello{name, {}, {}};
        for (int round = 0; round < 2; ++round) // hello, retry{cookie}, hello{cookie}, welcome
            for (const auto& d : server.on_datagram(at, proto::encode(hello), t0))
                if (auto r = proto::decode(d.bytes); std::holds_alternative<proto::Message>(r)) {
                    const auto& m = std::get<proto::Message>(r);
                    if (const auto* retry = std::get_if<proto::Retry>(&m))
                        hello.cookie = retry->cookie;
                    if (const auto* w = std::get_if<proto::Welcome>(&m))
                        tok[name] = w->token;
                }
    }
    server.on_datagram(kAlice, proto::encode(proto::Say{tok["alice"], 1, "lobby", "hi", kStamp}),
                       t0);
    for (Time t = t0 + 1s; t <= t0 + 60s; t += 1s) {
        if ((t - t0) % 5s == Duration::zero()) {
            server.on_datagram(kAlice, proto::encode(proto::Ping{proto::heartbeat_tag(tok["alice"])}), t);
            server.on_datagram(kBob, proto::encode(proto::Ping{proto::heartbeat_tag(tok["bob"])}), t);
        }
        server.on_tick(t);
    }
    EXPECT_TRUE(log.contains("deliv=1 resent=29 gaveup=1 unreliable=0 acked=0 inflight=0"))
        << (log.lines().empty() ? "" : log.lines().back().text);
}

} // namespace
} // namespace chat::rdv::testing
