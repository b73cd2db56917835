// The client's side of reliable delivery against a scripted rendezvous: lines are stamped,
// resent at the RTO until acknowledged, reported after 30 s, limited to a window in flight,
// and what arrives is acked with `got`, deduplicated and put in order.
#include "client_fixture.hpp"

namespace chat::peer::testing {
namespace {

class ClientReliabilityTest : public ClientTest {
  protected:
    void SetUp() override { register_now(); }
    Outbox say(const std::string& text) { return command(cmd::Say{text}); }
};

TEST_F(ClientReliabilityTest, LinesAreNumberedPerStreamWithTheOldestUnsettledAsLo) {
    const auto a = sent_as<proto::Say>(say("one")).at(0);
    const auto b = sent_as<proto::Say>(say("two")).at(0);
    ASSERT_TRUE(a.stamp && b.stamp);
    EXPECT_EQ(a.stamp->inst, b.stamp->inst);
    EXPECT_EQ(a.stamp->inst.size(), proto::kInstHexChars);
    EXPECT_EQ(b.stamp->n, 2u);
    EXPECT_EQ(b.stamp->lo, 1u); // one is not acknowledged yet
    from_server(proto::Ok{a.id, {}});
    const auto c = sent_as<proto::Say>(say("three")).at(0);
    EXPECT_EQ(c.stamp->lo, 2u);
    const auto dm = sent_as<proto::Direct>(command(cmd::Msg{{"bob"}, "psst"})).at(0);
    EXPECT_EQ(dm.stamp->n, 1u); // another stream
}

TEST_F(ClientReliabilityTest, AnUnacknowledgedLineIsResentWithTheSameIdUntilOk) {
    const auto first = sent_as<proto::Say>(say("are you there")).at(0);
    const auto out = run_until(now_ + 2500ms, /*answer_pings=*/true);
    const auto again = sent_as<proto::Say>(out);
    ASSERT_GE(again.size(), 2u); // RTO 1 s before any sample, then 1 s again (the cap)
    for (const auto& s : again) {
        EXPECT_EQ(s.id, first.id);
        EXPECT_EQ(s.stamp->n, first.stamp->n);
    }
    from_server(proto::Ok{first.id, {}});
    EXPECT_TRUE(sent_as<proto::Say>(run_until(now_ + 5s, true)).empty());
    EXPECT_EQ(client_.unsettled_lines(), 0u);
}

TEST_F(ClientReliabilityTest, TheRoundTripOfALineSetsTheNextRto) {
    const auto a = sent_as<proto::Say>(say("fast")).at(0);
    now_ += 50ms;
    from_server(proto::Ok{a.id, {}}); // SRTT 50 ms: RTO = 50 + 4 * 25 = 150, floored to 200
    const auto b = sent_as<proto::Say>(say("next")).at(0);
    const auto t0 = now_;
    run_until(t0 + 199ms);
    EXPECT_EQ(client_.unsettled_lines(), 1u);
    const auto resent = sent_as<proto::Say>(run_until(t0 + 200ms));
    ASSERT_EQ(resent.size(), 1u);
    EXPECT_EQ(resent[0].id, b.id);
}

TEST_F(ClientReliabilityTest, ALineWithoutAckFor30SecondsIsReportedWithItsText) {
    say("into the void");
    const auto out = run_until(now_ + 30s, /*answer_pings=*/true);
    const auto errors = events_as<ui::Error>(out);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].code, "not_delivered");
    EXPECT_EQ(errors[0].line, "into the void");
    EXPECT_EQ(errors[0].room, "lobby");
    EXPECT_EQ(client_.unsettled_lines(), 0u);
}

TEST_F(ClientReliabilityTest, ARefusedLineIsReportedAndSettled) {
    const auto s = sent_as<proto::Say>(say("hello?")).at(0);
    const auto out = from_server(proto::Error{s.id, proto::ErrorCode::NotInRoom, "not in lobby"});
    const auto errors = events_as<ui::Error>(out);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].code, "not_in_room");
    EXPECT_EQ(errors[0].line, "hello?");
    EXPECT_EQ(client_.unsettled_lines(), 0u);
}

TEST_F(ClientReliabilityTest, AtMostSixteenLinesAreInFlightToTheServer) {
    std::vector<proto::Say> sent;
    for (int i = 0; i < 20; ++i) {
        now_ += 100ms; // paced like the shell
        for (const auto& s : sent_as<proto::Say>(say("l" + std::to_string(i))))
            if (s.id > (sent.empty() ? 0 : sent.back().id))
                sent.push_back(s);
    }
    EXPECT_EQ(sent.size(), 16u);
    const auto out = from_server(proto::Ok{sent[0].id, {}});
    const auto next = sent_as<proto::Say>(out);
    ASSERT_EQ(next.size(), 1u);
    EXPECT_EQ(next[0].text, "l16");
}

TEST_F(ClientReliabilityTest, LinesInFlightWhenTheSessionIsLostGoToTheNextOne) {
    const auto a = sent_as<proto::Say>(say("before")).at(0);
    from_server(proto::Shutdown{});
    say("during");
    const auto back = from_server(proto::Welcome{"alice", kPublic, kToken2, 5s, 10s});
    EXPECT_TRUE(sent_as<proto::Say>(back).empty()); // the others are registering again too
    const auto says = sent_as<proto::Say>(run_until(now_ + 6s, /*answer_pings=*/true));
    ASSERT_EQ(says.size(), 2u);
    EXPECT_EQ(says[0].text, "before");
    EXPECT_EQ(says[0].stamp->n, a.stamp->n);
    EXPECT_EQ(says[0].token, kToken2);
    EXPECT_EQ(says[1].text, "during");
}

TEST_F(ClientReliabilityTest, DeliveriesAreAckedInABatchAndShownOnce) {
    const proto::Stamp st{"0000000b", 1, 1};
    const auto first = from_server(proto::RoomMessage{"lobby", "bob", "hi", st, 7u});
    EXPECT_EQ(events_as<ui::Message>(first).size(), 1u);
    EXPECT_TRUE(sent_as<proto::Got>(first).empty()); // batched: up to 200 ms
    const auto again = from_server(proto::RoomMessage{"lobby", "bob", "hi", st, 7u});
    EXPECT_TRUE(events_as<ui::Message>(again).empty()); // the server resent it
    const auto later = run_until(now_ + 200ms, true);
    const auto gots = sent_as<proto::Got>(later);
    ASSERT_EQ(gots.size(), 1u);
    EXPECT_EQ(gots[0].d, (std::vector<proto::DeliveryId>{7, 7}));
    EXPECT_EQ(gots[0].token, kToken);
}

TEST_F(ClientReliabilityTest, AnEarlyLineWaitsForTheOneBefore) {
    const auto two =
        from_server(proto::RoomMessage{"lobby", "bob", "two", proto::Stamp{"0000000b", 2, 1}, 2u});
    EXPECT_TRUE(events_as<ui::Message>(two).empty());
    const auto one =
        from_server(proto::RoomMessage{"lobby", "bob", "one", proto::Stamp{"0000000b", 1, 1}, 1u});
    const auto shown = events_as<ui::Message>(one);
    ASSERT_EQ(shown.size(), 2u);
    EXPECT_EQ(shown[0].text, "one");
    EXPECT_EQ(shown[1].text, "two");
}

TEST_F(ClientReliabilityTest, TheSameLineRelayedAndDirectIsShownOnce) {
    const proto::Stamp st{"0000000b", 1, 1};
    const auto relayed = from_server(proto::DirectMessage{"bob", {"alice"}, "once", st, 3u});
    EXPECT_EQ(events_as<ui::Direct>(relayed).size(), 1u);
    // The same line reaching us peer to peer is in the same stream (@alice): dropped. (No
    // path is set up here, so the p2p copy is tested as a second relayed copy.)
    const auto again = from_server(proto::DirectMessage{"bob", {"alice"}, "once", st, 4u});
    EXPECT_TRUE(events_as<ui::Direct>(again).empty());
}

TEST_F(ClientReliabilityTest, ALegacyLineWithoutAStampIsDedupedByItsDeliveryId) {
    const proto::RoomMessage m{"lobby", "192.0.2.7:5000", "plain", std::nullopt, 9u};
    EXPECT_EQ(events_as<ui::Message>(from_server(m)).size(), 1u);
    EXPECT_TRUE(events_as<ui::Message>(from_server(m)).empty());
}

TEST_F(ClientReliabilityTest, QuittingReportsLinesNotYetAcknowledged) {
    say("last words");
    const auto out = command(cmd::Quit{});
    const auto errors = events_as<ui::Error>(out);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].line, "last words");
}

} // namespace
} // namespace chat::peer::testing
