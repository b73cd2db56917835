// Hostile input: every drop reason is counted, rate limits hold, and no source without a
// session is ever sent more bytes than it sent, whatever it sends.
#include "server_fixture.hpp"

#include <random>

namespace chat::rdv::testing {
namespace {

using proto::DropReason;

struct DropCase {
    std::string bytes;
    DropReason reason;
};

const std::string kBadTok = std::string(32, 'e');

class DropReasonTest : public ServerTest, public ::testing::WithParamInterface<DropCase> {};

TEST_P(DropReasonTest, IsCountedUnderItsReason) {
    register_peer("alice", kAlice);
    send_raw(kAlice, GetParam().bytes);
    EXPECT_EQ(drops(GetParam().reason), 1u) << GetParam().bytes;
    EXPECT_EQ(server_.drops().total(), 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Table, DropReasonTest,
    ::testing::Values(
        DropCase{std::string(1201, 'x'), DropReason::Oversize},
        DropCase{"", DropReason::Empty},
        DropCase{"\xff\xff", DropReason::NotUtf8},
        DropCase{"{nope", DropReason::BadJson},
        DropCase{R"({"v":9,"t":"join"})", DropReason::BadVersion},
        DropCase{R"({"v":1,"t":"warp"})", DropReason::UnknownType},
        DropCase{R"({"v":1,"t":"join","id":1})", DropReason::BadField},
        DropCase{R"({"v":1,"t":"hello","name":"x"})", DropReason::ShortHello},
        DropCase{proto::encode(proto::Join{kBadTok, 1, "dev"}), DropReason::BadToken},
        DropCase{"plain words from a JSON session", DropReason::WrongDirection},
        DropCase{proto::encode(proto::Shutdown{}), DropReason::WrongDirection}));

TEST_F(ServerTest, NotRegisteredPlaintextOffAndTableFullAreCounted) {
    send_raw(kCarol, proto::encode(proto::Join{kBadTok, 1, "dev"}));
    EXPECT_EQ(drops(DropReason::NotRegistered), 1u);
    send_raw(kCarol, "hi");
    EXPECT_EQ(drops(DropReason::PlaintextOff), 1u);
}

TEST_F(ServerTest, SessionOverItsBudgetIsRateLimited) {
    register_peer("alice", kAlice);
    std::size_t pongs = 0;
    for (int i = 0; i < 200; ++i) pongs += send(kAlice, proto::Ping{}).size();
    EXPECT_EQ(pongs, 50u);  // the burst; the hello was charged to the source limiter
    EXPECT_EQ(drops(DropReason::RateLimited), 150u);
    EXPECT_EQ(send(kAlice, proto::Ping{}, now_ + 1s).size(), 1u);  // refilled
}

TEST_F(ServerTest, SourceWithoutASessionIsRateLimitedBeforeParsing) {
    for (int i = 0; i < 100; ++i) send_raw(kCarol, "{not json");
    EXPECT_EQ(drops(DropReason::BadJson), 10u);  // the burst for unverified sources
    EXPECT_EQ(drops(DropReason::RateLimited), 90u);
}

TEST_F(ServerTest, DropsOfAFloodAreLoggedAtMostAtTheLogBudget) {
    for (int i = 0; i < 1000; ++i) send_raw(ep(("192.0.2.9:" + std::to_string(i + 1)).c_str()), "{");
    std::size_t lines = 0;
    for (const auto& l : log_.lines()) lines += l.text.starts_with("dropped") ? 1u : 0u;
    EXPECT_LE(lines, 20u);
    EXPECT_EQ(drops(DropReason::BadJson), 1000u);
}

TEST_F(ServerTest, RandomDatagramsFromManySourcesNeverAmplifyOrCrash) {
    std::mt19937 gen(1234);  // seeded: a failure replays
    std::uniform_int_distribution<int> byte(0, 255), len(0, 1300), port(1, 65535);
    const std::vector<std::string> templates = {
        proto::encode(proto::Hello{"fuzz", {}, std::nullopt}),
        proto::encode(proto::Say{kBadTok, 1, "lobby", "x"}),
        proto::encode(proto::Connect{kBadTok, 1, "alice"}),
        proto::encode(proto::Got{kBadTok, {1, 2, 3}}),
        proto::encode(proto::Say{kBadTok, 2, "lobby", "y", proto::Stamp{"a1b2c3d4", 1, 1}}),
        "#ping#"};
    const auto tok = register_peer("alice", kAlice);
    register_peer("bob", kBob);
    // A line in flight to bob through the flood: guessed acks must not touch it.
    send(kAlice, proto::Say{tok, 1, "lobby", "hi", proto::Stamp{"a1b2c3d4", 1, 1}});
    std::map<Endpoint, std::pair<std::size_t, std::size_t>> io;  // in, out per source
    for (int i = 0; i < 20000; ++i) {
        std::string bytes;
        if (i % 3 == 0) {
            bytes = templates[static_cast<std::size_t>(i) % templates.size()];
            if (!bytes.empty() && i % 2 == 0)
                bytes[static_cast<std::size_t>(byte(gen)) % bytes.size()] =
                    static_cast<char>(byte(gen));
        } else {
            bytes.resize(static_cast<std::size_t>(len(gen)));
            for (auto& c : bytes) c = static_cast<char>(byte(gen));
        }
        const Endpoint from = ep(("198.18.0.1:" + std::to_string(port(gen))).c_str());
        const auto out = server_.on_datagram(from, bytes, now_ + Duration{i});
        io[from].first += bytes.size();
        for (const auto& d : out)
            if (d.to == from) io[from].second += d.bytes.size();
    }
    for (const auto& [from, in_out] : io) {
        // A source may have registered with a padded hello; even then its replies are
        // smaller than the hello itself, so out <= in holds for every source.
        EXPECT_LE(in_out.second, in_out.first) << from.to_string();
    }
    // alice is still served, and bob's delivery is still awaiting his own ack
    EXPECT_EQ(raw_to(send(kAlice, proto::Ping{}, now_ + 30s), kAlice).size(), 1u);
    EXPECT_EQ(server_.traffic().delivery.acked, 0u);
    EXPECT_EQ(server_.deliveries().in_flight(), 1u);
}

} // namespace
} // namespace chat::rdv::testing
