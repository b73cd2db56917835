// The client's direct path: /connect, punching, chat over the direct path with acks, the
// relay fallback for an unacked line, and going back to the relay when the path goes silent.
#include "client_fixture.hpp"

namespace chat::peer::testing {
namespace {

const Endpoint kBobPublic = ep("203.0.113.20:40001");
const Endpoint kBobLan = ep("10.0.1.2:40001");
const std::string kNonce(32, 'c');

class ClientP2pTest : public ClientTest {
  protected:
    void SetUp() override { register_now(); }

    // /connect bob and the rendezvous's answer; returns what the answer produced.
    Outbox connect_to_bob() {
        const auto out = command(cmd::Connect{"bob"});
        const auto id = id_of<proto::Connect>(out);
        (void)id;
        return from_server(proto::PeerInfo{"bob", kBobPublic, {kBobLan}, kNonce, true});
    }
    template <typename T> static std::vector<std::pair<Endpoint, T>> to_peers(const Outbox& out) {
        std::vector<std::pair<Endpoint, T>> v;
        for (const auto& d : out.datagrams) {
            if (d.to == kServer)
                continue;
            auto r = proto::decode(d.bytes);
            if (auto* m = std::get_if<proto::Message>(&r))
                if (auto* t = std::get_if<T>(m))
                    v.emplace_back(d.to, *t);
        }
        return v;
    }
    std::vector<proto::Message> to_server(const Outbox& out) {
        Outbox only;
        for (const auto& d : out.datagrams)
            if (d.to == kServer)
                only.datagrams.push_back(d);
        return sent(only);
    }
    template <typename T> std::vector<T> to_server_as(const Outbox& out) {
        std::vector<T> v;
        for (const auto& m : to_server(out))
            if (const auto* t = std::get_if<T>(&m))
                v.push_back(*t);
        return v;
    }
    Outbox from_bob(const Endpoint& from, const proto::Message& m) {
        return client_.on_datagram(from, proto::encode(m), now_);
    }
    // Bob answers our first probe to his public endpoint: the direct path is up.
    Outbox direct_path_up(const Outbox& connect_out) {
        for (const auto& [to, probe] : to_peers<proto::Probe>(connect_out))
            if (to == kBobPublic)
                return from_bob(kBobPublic, proto::ProbeAck{"bob", kNonce, probe.seq, kPublic});
        ADD_FAILURE() << "no probe to bob's public endpoint";
        return {};
    }
};

TEST_F(ClientP2pTest, ConnectPunchesEveryCandidateWithTheNonce) {
    const auto out = connect_to_bob();
    const auto probes = to_peers<proto::Probe>(out);
    ASSERT_EQ(probes.size(), 2u); // bob's LAN and public endpoints
    for (const auto& [to, probe] : probes) {
        EXPECT_EQ(probe.nonce, kNonce);
        EXPECT_EQ(probe.from, "alice");
    }
    const auto paths = events_as<ui::PathChanged>(out);
    ASSERT_EQ(paths.size(), 1u);
    EXPECT_EQ(paths[0].state, PathState::Punching);
    EXPECT_EQ(client_.target(), (Target{Target::Kind::Direct, "bob"}));
}

TEST_F(ClientP2pTest, ConnectIsSentAgainEverySecondUntilTheExchangeArrives) {
    const auto first = command(cmd::Connect{"bob"});
    const auto id = id_of<proto::Connect>(first);
    const auto later = run_until(now_ + 2500ms, /*answer_pings=*/true);
    const auto again = sent_as<proto::Connect>(later);
    ASSERT_EQ(again.size(), 2u); // at 1 s and 2 s
    EXPECT_EQ(again[0].id, id);
    from_server(proto::PeerInfo{"bob", kBobPublic, {}, kNonce, true});
    for (const auto& m : to_server(run_until(now_ + 3s, true)))
        EXPECT_FALSE(std::holds_alternative<proto::Connect>(m));
}

TEST_F(ClientP2pTest, AckedProbeMakesTheDirectPathAndTextGoesPeerToPeer) {
    const auto up = direct_path_up(connect_to_bob());
    const auto paths = events_as<ui::PathChanged>(up);
    ASSERT_EQ(paths.size(), 1u);
    EXPECT_EQ(paths[0].state, PathState::Direct);
    EXPECT_EQ(paths[0].via, kBobPublic);
    const auto out = command(cmd::Say{"over the direct path"});
    EXPECT_TRUE(to_server(out).empty()); // nothing through the rendezvous
    const auto texts = to_peers<proto::PeerText>(out);
    ASSERT_EQ(texts.size(), 1u);
    EXPECT_EQ(texts[0].first, kBobPublic);
    EXPECT_EQ(texts[0].second.text, "over the direct path");
    const auto shown = events_as<ui::Direct>(out);
    ASSERT_EQ(shown.size(), 1u);
    EXPECT_FALSE(shown[0].relayed);
}

TEST_F(ClientP2pTest, MsgToOnePeerGoesDirectAndToSeveralIsOneRelayedDm) {
    direct_path_up(connect_to_bob());
    const auto one = command(cmd::Msg{{"bob"}, "just you"});
    ASSERT_EQ(to_peers<proto::PeerText>(one).size(), 1u);
    EXPECT_TRUE(to_server(one).empty());
    // A line to several is one stream at every recipient: one dm, never split by path.
    const auto out = command(cmd::Msg{{"bob", "carol"}, "both of you"});
    EXPECT_TRUE(to_peers<proto::PeerText>(out).empty());
    const auto dms = to_server_as<proto::Direct>(out);
    ASSERT_EQ(dms.size(), 1u);
    EXPECT_EQ(dms[0].to, (std::vector<std::string>{"bob", "carol"}));
}

TEST_F(ClientP2pTest, IncomingDirectTextIsShownOnceAndAcked) {
    direct_path_up(connect_to_bob());
    const proto::PeerText text{"bob", kNonce, 7, "hi alice", proto::Stamp{"0badcafe", 1, 1}};
    const auto first = from_bob(kBobPublic, text);
    const auto shown = events_as<ui::Direct>(first);
    ASSERT_EQ(shown.size(), 1u);
    EXPECT_EQ(shown[0].from, "bob");
    EXPECT_FALSE(shown[0].relayed);
    ASSERT_EQ(to_peers<proto::PeerAck>(first).size(), 1u);
    const auto again = from_bob(kBobPublic, text); // our ack was lost
    EXPECT_TRUE(events_as<ui::Direct>(again).empty());
    EXPECT_EQ(to_peers<proto::PeerAck>(again).size(), 1u);
}

TEST_F(ClientP2pTest, DatagramsWithoutTheNonceAreIgnored) {
    direct_path_up(connect_to_bob());
    const auto forged =
        from_bob(ep("198.18.0.66:1"), proto::PeerText{"bob", std::string(32, 'f'), 1, "forged"});
    EXPECT_TRUE(forged.events.empty());
    EXPECT_TRUE(forged.datagrams.empty());
    const auto stranger = from_bob(ep("198.18.0.66:1"), proto::Probe{"mallory", kNonce, 1});
    EXPECT_TRUE(stranger.datagrams.empty());
}

TEST_F(ClientP2pTest, UnackedDirectTextIsResentThenRelayedWithTheSameStamp) {
    direct_path_up(connect_to_bob());
    const auto first = to_peers<proto::PeerText>(command(cmd::Say{"lost on the direct path"}));
    ASSERT_EQ(first.size(), 1u);
    // Resent over the direct path at the RTO (200 ms floor, doubling), three tries in all,
    // then relayed as a dm carrying the same stamp.
    const auto out = run_until(now_ + 1500ms);
    const auto resent = to_peers<proto::PeerText>(out);
    ASSERT_EQ(resent.size(), 2u);
    EXPECT_EQ(resent[0].second.id, first[0].second.id);
    const auto dms = to_server_as<proto::Direct>(out);
    ASSERT_EQ(dms.size(), 1u);
    EXPECT_EQ(dms[0].to, std::vector<std::string>{"bob"});
    EXPECT_EQ(dms[0].text, "lost on the direct path");
    EXPECT_EQ(dms[0].stamp, first[0].second.stamp);
}

TEST_F(ClientP2pTest, APeerAckSettlesTheLine) {
    direct_path_up(connect_to_bob());
    const auto sent = to_peers<proto::PeerText>(command(cmd::Say{"acked"}));
    ASSERT_EQ(sent.size(), 1u);
    const auto acked = from_bob(kBobPublic, proto::PeerAck{kNonce, sent[0].second.id});
    EXPECT_EQ(events_as<ui::Delivered>(acked).size(), 1u);
    EXPECT_EQ(client_.unsettled_lines(), 0u);
    const auto later = run_until(now_ + 2s, /*answer_pings=*/true);
    EXPECT_TRUE(to_peers<proto::PeerText>(later).empty());
    EXPECT_TRUE(to_server_as<proto::Direct>(later).empty());
}

TEST_F(ClientP2pTest, ADirectStreamGoesNoFurtherThanAWindowAboveItsOldestUnsettledLine) {
    // Bob holds every line above a missing one, acked or not: what bounds his memory is the
    // span above the oldest unsettled line, not the count of unacked ones (the NAT lab's
    // direct_500 showed lines late when only the count was bounded).
    direct_path_up(connect_to_bob());
    const auto stuck = to_peers<proto::PeerText>(command(cmd::Say{"line 1"}));
    ASSERT_EQ(stuck.size(), 1u);
    std::uint32_t typed = 1;
    std::uint32_t highest_sent = 1;
    while (client_.ready_for_input(now_) && typed < 1000) {
        ++typed;
        for (const auto& [to, text] :
             to_peers<proto::PeerText>(command(cmd::Say{"line " + std::to_string(typed)}))) {
            highest_sent = std::max(highest_sent, text.stamp->n);
            from_bob(to, proto::PeerAck{kNonce, text.id}); // every line but the first is acked
        }
    }
    const auto window = OutgoingLines::kDirectWindow;
    EXPECT_EQ(highest_sent, window); // n = 1 .. window went out
    EXPECT_EQ(typed, window + 1);    // the next was taken, and holds input back
    EXPECT_FALSE(client_.input_ready_at(now_).has_value()); // only an ack reopens it
    const auto acked = from_bob(kBobPublic, proto::PeerAck{kNonce, stuck[0].second.id});
    const auto next = to_peers<proto::PeerText>(acked);
    ASSERT_EQ(next.size(), 1u);
    EXPECT_EQ(next[0].second.stamp->n, window + 1);
    EXPECT_EQ(next[0].second.stamp->lo, window + 1); // 2 .. window were acked
    from_bob(kBobPublic, proto::PeerAck{kNonce, next[0].second.id});
    EXPECT_TRUE(client_.ready_for_input(now_));
}

TEST_F(ClientP2pTest, SilentDirectPathFallsBackToRelayAndAsksForAFreshExchange) {
    direct_path_up(connect_to_bob());
    const auto out = run_until(now_ + 7s, /*answer_pings=*/true);
    const auto paths = events_as<ui::PathChanged>(out);
    ASSERT_FALSE(paths.empty());
    EXPECT_EQ(paths[0].state, PathState::Relayed);
    EXPECT_EQ(paths[0].reason, "direct path went silent");
    bool asked = false;
    for (const auto& m : to_server(out))
        asked |= std::holds_alternative<proto::Connect>(m);
    EXPECT_TRUE(asked);
    const auto relayed = command(cmd::Say{"after the fall"});
    ASSERT_EQ(events_as<ui::Direct>(relayed).size(), 1u);
    EXPECT_TRUE(events_as<ui::Direct>(relayed)[0].relayed);
}

TEST_F(ClientP2pTest, DirectChatGoesOnWhileTheServerIsUnreachable) {
    direct_path_up(connect_to_bob());
    // Twenty seconds without a pong: the session is lost; bob keeps answering keepalives.
    for (int i = 0; i < 40; ++i) {
        const auto out = run_until(now_ + 500ms);
        for (const auto& [to, probe] : to_peers<proto::Probe>(out))
            from_bob(to, proto::ProbeAck{"bob", kNonce, probe.seq, kPublic});
    }
    ASSERT_EQ(client_.state(), ConnectionState::Reconnecting);
    const auto out = command(cmd::Say{"still here"});
    EXPECT_TRUE(events_as<ui::Error>(out).empty());
    EXPECT_EQ(to_peers<proto::PeerText>(out).size(), 1u);
}

TEST_F(ClientP2pTest, OnlyThePathThatWentSilentAsksForAFreshExchange) {
    command(cmd::Connect{"carol"});
    from_server(proto::PeerInfo{"carol", ep("203.0.113.30:40003"), {}, std::string(32, 'd'), true});
    direct_path_up(connect_to_bob());
    // carol never answers (relayed at 5 s, next retry at 25 s); bob goes silent at 6 s.
    const auto out = run_until(now_ + 7s, /*answer_pings=*/true);
    const auto asked = to_server_as<proto::Connect>(out);
    ASSERT_FALSE(asked.empty()); // at the silence, maybe resent a second later
    for (const auto& c : asked)
        EXPECT_EQ(c.name, "bob");
}

TEST_F(ClientP2pTest, TheOtherSidePunchesWithoutChangingItsTarget) {
    const auto out = from_server(proto::PeerInfo{"bob", kBobPublic, {}, kNonce, false});
    EXPECT_EQ(to_peers<proto::Probe>(out).size(), 1u);
    EXPECT_EQ(client_.target(), (Target{Target::Kind::Room, "lobby"}));
    EXPECT_EQ(events_as<ui::PeerFound>(out).size(), 1u);
}

TEST_F(ClientP2pTest, TheTargetAcksItsExchangeAndTakesAResendAsNoNews) {
    const proto::PeerInfo info{"bob", kBobPublic, {}, kNonce, false, 41};
    from_server(info);
    const auto acked = run_until(now_ + 200ms, /*answer_pings=*/true);
    const auto got = to_server_as<proto::Got>(acked);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].d, std::vector<proto::DeliveryId>{41});
    const auto again = from_server(info); // our got was lost: the server sent it again
    EXPECT_TRUE(again.events.empty());
    EXPECT_TRUE(to_peers<proto::Probe>(again).empty()); // punching goes on, not from scratch
    EXPECT_EQ(to_server_as<proto::Got>(run_until(now_ + 200ms, true)).size(), 1u);
}

TEST_F(ClientP2pTest, StatusShowsEachPeersPath) {
    direct_path_up(connect_to_bob());
    now_ += 500ms;
    const auto out = command(cmd::Status{});
    const auto st = events_as<ui::Status>(out);
    ASSERT_EQ(st.size(), 1u);
    ASSERT_EQ(st[0].peers.size(), 1u);
    EXPECT_EQ(st[0].peers[0].name, "bob");
    EXPECT_EQ(st[0].peers[0].state, PathState::Direct);
    EXPECT_EQ(st[0].peers[0].via, kBobPublic);
    EXPECT_EQ(st[0].peers[0].since_last, 500ms);
}

} // namespace
} // namespace chat::peer::testing
