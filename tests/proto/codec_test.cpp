// Codec: every message survives encode -> decode unchanged, and each class of malformed
// input is rejected with its own DropReason, never an exception.
#include "proto/codec.hpp"
#include "proto/heartbeat_tag.hpp"
#include "proto/limits.hpp"

#include <gtest/gtest.h>

#include <set>

#include <string>

namespace chat::proto {
namespace {

const Token kTok(32, 'a');
const Endpoint kPub = *Endpoint::parse("203.0.113.7:40001");
const Endpoint kPriv = *Endpoint::parse("198.51.100.2:5000");
const Endpoint kPriv6 = *Endpoint::parse("[fd00::5]:5000");

template <typename T> T round_trip(const T& in) {
    const std::string bytes = encode(Message{in});
    EXPECT_LE(bytes.size(), kMaxDatagram);
    auto result = decode(bytes);
    if (auto* err = std::get_if<DecodeError>(&result)) {
        ADD_FAILURE() << "decode failed: " << err->detail << " for " << bytes;
        return T{};
    }
    auto& msg = std::get<Message>(result);
    EXPECT_TRUE(std::holds_alternative<T>(msg)) << bytes;
    return std::get<T>(msg);
}

DropReason reason_of(std::string_view bytes) {
    auto result = decode(bytes);
    if (auto* err = std::get_if<DecodeError>(&result))
        return err->reason;
    ADD_FAILURE() << "decoded but should not have: " << bytes;
    return DropReason::Count;
}

std::string padded_hello(std::string body) {
    // body like "{...}" without its closing brace; pads to 256 bytes
    body += ",\"pad\":\"";
    while (body.size() < kMinHelloSize)
        body += '.';
    return body + "\"}";
}

TEST(Codec, PingAndPongAreExactSixByteStrings) {
    EXPECT_EQ(encode(Ping{}), "#ping#");
    EXPECT_EQ(encode(Pong{}), "#pong#");
    EXPECT_TRUE(std::holds_alternative<Ping>(std::get<Message>(decode("#ping#"))));
    EXPECT_TRUE(std::holds_alternative<Pong>(std::get<Message>(decode("#pong#"))));
}

TEST(Codec, PingWithTrailingNewlineIsStillAHeartbeat) {
    // Found by decode_fuzz: "#pong#\n" decoded as text re-encoded as a heartbeat.
    EXPECT_TRUE(std::holds_alternative<Ping>(std::get<Message>(decode("#ping#\r\n"))));
    EXPECT_TRUE(std::holds_alternative<Pong>(std::get<Message>(decode("#pong#\n"))));
    // Found by decode_fuzz in CI: "#who?#\n" decoded as text and re-encoded as "#who?#".
    EXPECT_TRUE(std::holds_alternative<WhoAreYou>(std::get<Message>(decode("#who?#\n"))));
}

TEST(Codec, TaggedPingCarriesSixteenHexDigits) {
    const std::string tag = "0123456789abcdef";
    EXPECT_EQ(encode(Ping{tag}), "#ping#" + tag);
    EXPECT_EQ(std::get<Ping>(std::get<Message>(decode("#ping#" + tag))).tag, tag);
    EXPECT_EQ(std::get<Ping>(std::get<Message>(decode("#ping#" + tag + "\n"))).tag, tag);
    // Anything else after #ping# is not a heartbeat: one digit short, upper case, one too many.
    for (const std::string bad : {"#ping#0123456789abcde", "#ping#0123456789ABCDEF",
                                  "#ping#0123456789abcdef0"})
        EXPECT_FALSE(std::holds_alternative<Ping>(std::get<Message>(decode(bad)))) << bad;
}

TEST(Codec, HeartbeatTagIsSipHashOfTheLabelUnderTheToken) {
    // The tag both sides compute: fixed for a token, different for another, none for junk.
    const std::string tok = "000102030405060708090a0b0c0d0e0f";
    const std::string tag = heartbeat_tag(tok);
    EXPECT_EQ(tag.size(), kHeartbeatTagHexChars);
    EXPECT_EQ(tag, heartbeat_tag(tok));
    EXPECT_NE(tag, heartbeat_tag("000102030405060708090a0b0c0d0e0e"));
    EXPECT_EQ(heartbeat_tag("not a token"), "");
    EXPECT_EQ(heartbeat_tag(std::string(32, 'G')), "");
}

TEST(Codec, RetryAndHelloCookieRoundTrip) {
    const std::string cookie(32, 'c');
    EXPECT_EQ(std::get<Retry>(std::get<Message>(decode(encode(Retry{cookie})))).cookie, cookie);
    Hello h{"alice", {}, std::nullopt};
    h.cookie = cookie;
    const auto back = std::get<Hello>(std::get<Message>(decode(encode(h))));
    EXPECT_EQ(back.cookie, cookie);
    EXPECT_FALSE(std::get<Hello>(std::get<Message>(decode(encode(Hello{"bob", {}, {}})))).cookie);
    const auto bad = decode(R"({"v":1,"t":"retry","cookie":"xyz"})");
    EXPECT_TRUE(std::holds_alternative<DecodeError>(bad));
}

TEST(Codec, EveryErrorCodeRoundTripsThroughItsName) {
    const auto codes = all_error_codes();
    EXPECT_EQ(codes.size(), static_cast<std::size_t>(ErrorCode::NetworkLimit) + 1);
    std::set<std::string_view> names;
    for (const auto c : codes) {
        names.insert(wire_name(c));
        EXPECT_EQ(parse_error_code(wire_name(c)), c) << wire_name(c);
        const auto back = decode(encode(Error{std::nullopt, c, "x"}));
        EXPECT_EQ(std::get<Error>(std::get<Message>(back)).code, c) << wire_name(c);
    }
    EXPECT_EQ(names.size(), codes.size()); // no two codes share a name
}

// One valid value of every message type, in no particular order.
std::vector<Message> one_of_each() {
    const Stamp st{"0badc0de", 3, 2};
    return {
        Ping{},
        Ping{"0123456789abcdef"},
        Pong{},
        WhoAreYou{},
        PlainText{"a legacy line"},
        Hello{"alice", {kPriv}, kTok},
        Bye{kTok},
        Join{kTok, 1, "dev"},
        Leave{kTok, 2, "dev"},
        ListRooms{kTok, 3, 40},
        ListUsers{kTok, 4, std::string("dev"), 0},
        CreateRoom{kTok, 5, "team", {"bob"}},
        Say{kTok, 6, "dev", "hi", st},
        Direct{kTok, 7, {"bob"}, "psst", st},
        Connect{kTok, 8, "bob"},
        Got{kTok, {1, 2}},
        Retry{std::string(32, 'c')},
        Welcome{"alice", kPub, kTok, Duration{5000}, Duration{10000}},
        Ok{9, {"zed"}, true},
        Error{10, ErrorCode::RoomFull, "full"},
        RoomList{11, {RoomInfo{"dev", 2}}, 1, std::nullopt},
        UserList{12, std::string("dev"), {"alice"}, 1, 40},
        RoomMessage{"dev", "alice", "hi", st, 13},
        DirectMessage{"alice", {"bob"}, "psst", st, 14},
        MemberJoined{"dev", "bob", std::string("alice")},
        MemberLeft{"dev", "bob", LeaveReason::Timeout},
        PeerInfo{"bob", kPub, {kPriv}, std::string(32, 'b'), true, 15},
        Shutdown{},
        Probe{"alice", std::string(32, 'b'), 16},
        ProbeAck{"bob", std::string(32, 'b'), 16, kPub},
        PeerText{"alice", std::string(32, 'b'), 17, "direct", st},
        PeerAck{std::string(32, 'b'), 17},
    };
}

TEST(Codec, EveryMessageTypeRoundTripsUnderItsOwnName) {
    std::set<std::size_t> covered;
    std::set<std::string_view> names;
    for (const auto& m : one_of_each()) {
        covered.insert(m.index());
        names.insert(type_name(m));
        const std::string bytes = encode(m);
        const auto back = decode(bytes);
        ASSERT_TRUE(std::holds_alternative<Message>(back)) << bytes;
        const auto& got = std::get<Message>(back);
        EXPECT_EQ(got.index(), m.index()) << bytes;
        EXPECT_EQ(type_name(got), type_name(m)) << bytes;
        EXPECT_EQ(encode(got), bytes); // every field survived
        if (bytes.front() == '{') { // the JSON "t" is the type's name
            EXPECT_NE(bytes.find("\"t\":\"" + std::string(type_name(m)) + "\""),
                      std::string::npos)
                << bytes;
        }
    }
    EXPECT_EQ(covered.size(), std::variant_size_v<Message>); // a new type needs a sample here
    EXPECT_EQ(names.size(), std::variant_size_v<Message>);   // no two types share a name
}

TEST(Codec, EveryLeaveReasonRoundTripsThroughItsName) {
    for (const auto r : {LeaveReason::Left, LeaveReason::Quit, LeaveReason::Timeout}) {
        EXPECT_EQ(parse_leave_reason(wire_name(r)), r);
        const auto back = decode(encode(MemberLeft{"dev", "bob", r}));
        EXPECT_EQ(std::get<MemberLeft>(std::get<Message>(back)).reason, r);
    }
}

TEST(Codec, PlainTextLineHasLineEndStripped) {
    auto m = std::get<Message>(decode("hello 世界\r\n"));
    EXPECT_EQ(std::get<PlainText>(m).text, "hello 世界");
}

TEST(Codec, HelloRoundTripsAndIsPaddedForAntiAmplification) {
    Hello h{"alice", {kPriv, kPriv6}, kTok};
    const auto bytes = encode(h);
    EXPECT_GE(bytes.size(), kMinHelloSize);
    const auto out = round_trip(h);
    EXPECT_EQ(out.name, "alice");
    EXPECT_EQ(out.private_endpoints, (std::vector<Endpoint>{kPriv, kPriv6}));
    EXPECT_EQ(out.token, kTok);
    EXPECT_FALSE(round_trip(Hello{"bob", {}, std::nullopt}).token.has_value());
}

TEST(Codec, UnpaddedHelloIsDroppedAsShort) {
    EXPECT_EQ(reason_of(R"({"v":1,"t":"hello","name":"alice"})"), DropReason::ShortHello);
}

TEST(Codec, RequestsRoundTrip) {
    EXPECT_EQ(round_trip(Bye{kTok}).token, kTok);
    const auto j = round_trip(Join{kTok, 7, "dev"});
    EXPECT_EQ(j.id, 7u);
    EXPECT_EQ(j.room, "dev");
    EXPECT_EQ(round_trip(Leave{kTok, 8, "dev"}).room, "dev");
    EXPECT_EQ(round_trip(ListRooms{kTok, 9, 40}).offset, 40u);
    const auto u = round_trip(ListUsers{kTok, 10, std::string("dev"), 0});
    EXPECT_EQ(u.room, "dev");
    EXPECT_FALSE(round_trip(ListUsers{kTok, 10, std::nullopt, 0}).room.has_value());
    const auto c = round_trip(CreateRoom{kTok, 11, "team", {"bob", "carol"}});
    EXPECT_EQ(c.members, (std::vector<std::string>{"bob", "carol"}));
    const auto s = round_trip(Say{kTok, 12, "lobby", "hi \"there\" \\ 你好"});
    EXPECT_EQ(s.text, "hi \"there\" \\ 你好");
    const auto d = round_trip(Direct{kTok, 4294967295u, {"bob", "carol"}, "psst"});
    EXPECT_EQ(d.id, 4294967295u);
    EXPECT_EQ(d.to.size(), 2u);
    EXPECT_EQ(round_trip(Connect{kTok, 13, "bob"}).name, "bob");
}

TEST(Codec, RepliesAndEventsRoundTrip) {
    const auto w = round_trip(Welcome{"alice", kPub, kTok, Duration{5000}, Duration{10000}});
    EXPECT_EQ(w.public_endpoint, kPub);
    EXPECT_EQ(w.heartbeat, Duration{5000});
    EXPECT_EQ(w.timeout, Duration{10000});
    EXPECT_EQ(round_trip(Ok{3, {"zed"}}).unknown, std::vector<std::string>{"zed"});
    EXPECT_FALSE(round_trip(Ok{3, {}}).taken);
    EXPECT_TRUE(round_trip(Ok{3, {}, true}).taken);
    const auto e = round_trip(Error{5, ErrorCode::NameTaken, "name \"bob\" is taken"});
    EXPECT_EQ(e.code, ErrorCode::NameTaken);
    EXPECT_EQ(e.id, 5u);
    EXPECT_FALSE(round_trip(Error{std::nullopt, ErrorCode::NoSession, ""}).id.has_value());
    const auto rl = round_trip(RoomList{1, {{"dev", 2}, {"lobby", 5}}, 42, 40u});
    EXPECT_EQ(rl.rooms, (std::vector<RoomInfo>{{"dev", 2}, {"lobby", 5}}));
    EXPECT_EQ(rl.next, 40u);
    EXPECT_EQ(rl.total, 42u);
    const auto ul = round_trip(UserList{2, "dev", {"alice", "127.0.0.1:5000"}, 2, std::nullopt});
    EXPECT_EQ(ul.users.size(), 2u);
    EXPECT_FALSE(ul.next.has_value());
    const auto rm = round_trip(RoomMessage{"lobby", "127.0.0.1:9", "hi"});
    EXPECT_EQ(rm.from, "127.0.0.1:9");
    EXPECT_EQ(round_trip(DirectMessage{"alice", {"bob"}, "yo"}).text, "yo");
    EXPECT_EQ(round_trip(MemberJoined{"team", "bob", std::string("alice")}).by, "alice");
    EXPECT_EQ(round_trip(MemberLeft{"lobby", "bob", LeaveReason::Timeout}).reason,
              LeaveReason::Timeout);
    const auto p = round_trip(PeerInfo{"bob", kPub, {kPriv}, std::string(32, 'f'), true});
    EXPECT_TRUE(p.initiator);
    EXPECT_EQ(p.private_endpoints, std::vector<Endpoint>{kPriv});
    EXPECT_FALSE(p.d.has_value());
    EXPECT_EQ(round_trip(PeerInfo{"bob", kPub, {}, std::string(32, 'f'), false, 7}).d, 7u);
    (void)round_trip(Shutdown{});
}

TEST(Codec, PeerToPeerMessagesRoundTrip) {
    const std::string nonce(32, '9');
    const auto p = round_trip(Probe{"alice", nonce, 3});
    EXPECT_EQ(p.seq, 3u);
    EXPECT_EQ(p.nonce, nonce);
    const auto a = round_trip(ProbeAck{"bob", nonce, 3, kPub});
    EXPECT_EQ(a.seen, kPub);
    EXPECT_EQ(a.from, "bob");
    const auto t = round_trip(PeerText{"alice", nonce, 17, "direct 你好"});
    EXPECT_EQ(t.text, "direct 你好");
    EXPECT_EQ(t.id, 17u);
    EXPECT_EQ(round_trip(PeerAck{nonce, 17}).id, 17u);
    EXPECT_LE(
        encode(PeerText{std::string(32, 'b'), nonce, 4294967295u, std::string(500, '"')}).size(),
        kMaxDatagram);
}

TEST(Codec, WhoAreYouIsSixBytesLikeThePingItAnswers) {
    EXPECT_EQ(encode(WhoAreYou{}), "#who?#");
    EXPECT_EQ(encode(WhoAreYou{}).size(), encode(Ping{}).size());
    EXPECT_TRUE(std::holds_alternative<WhoAreYou>(std::get<Message>(decode("#who?#"))));
}

TEST(Codec, StampsAndDeliveryIdsRoundTrip) {
    const Stamp st{"0a1b2c3d", 12, 10};
    const auto s = round_trip(Say{kTok, 7, "dev", "hi", st});
    ASSERT_TRUE(s.stamp);
    EXPECT_EQ(*s.stamp, st);
    EXPECT_FALSE(round_trip(Say{kTok, 7, "dev", "hi"}).stamp); // older clients: no stamp
    EXPECT_EQ(round_trip(Direct{kTok, 8, {"bob"}, "yo", st}).stamp, st);
    const auto m = round_trip(RoomMessage{"dev", "alice", "hi", st, 40u});
    EXPECT_EQ(m.stamp, st);
    EXPECT_EQ(m.d, 40u);
    const auto legacy = round_trip(RoomMessage{"lobby", "127.0.0.1:9", "hi"});
    EXPECT_FALSE(legacy.stamp);
    EXPECT_FALSE(legacy.d);
    EXPECT_EQ(round_trip(DirectMessage{"alice", {"bob"}, "yo", st, 4294967295u}).d, 4294967295u);
    EXPECT_EQ(round_trip(PeerText{"alice", std::string(32, '9'), 3, "p2p", st}).stamp, st);
    EXPECT_EQ(round_trip(Got{kTok, {5, 3, 9}}).d, (std::vector<DeliveryId>{5, 3, 9}));
}

TEST(Codec, BadStampsAndAcksAreDropped) {
    const std::string head =
        R"({"v":1,"t":"say","tok":")" + kTok + R"(","id":1,"room":"dev","text":"x")";
    for (const std::string& tail :
         {std::string(R"(,"inst":"0a1b2c3d","n":0,"lo":0})"), // n starts at 1
          std::string(R"(,"inst":"0a1b2c3d","n":3,"lo":4})"), // lo above n
          std::string(R"(,"inst":"0A1B2C3D","n":3,"lo":1})"), // upper-case hex
          std::string(R"(,"inst":"0a1b2c","n":3,"lo":1})"),   // short inst
          std::string(R"(,"n":3,"lo":1})")}) {                // a partial stamp
        const auto r = decode(head + tail);
        ASSERT_TRUE(std::holds_alternative<DecodeError>(r)) << tail;
        EXPECT_EQ(std::get<DecodeError>(r).reason, DropReason::BadField) << tail;
    }
    const std::string got = R"({"v":1,"t":"got","tok":")" + kTok + R"(","d":)";
    for (const std::string& d :
         {std::string("[]"), std::string("[-1]"), std::string("[4294967296]"), std::string("5"),
          "[" + std::string(33 * 2 - 1, ',') + "]"}) {
        const auto r = decode(got + d + "}");
        EXPECT_TRUE(std::holds_alternative<DecodeError>(r)) << d;
    }
    std::string full = "[1";
    for (int i = 2; i <= 33; ++i)
        full += "," + std::to_string(i);
    EXPECT_TRUE(std::holds_alternative<DecodeError>(decode(got + full + "]}"))); // 33 ids
}

// decode() reads a got written as encode() writes it without a JSON tree; everything else
// takes the general path. Both must give every datagram the same answer.
TEST(Codec, GotShortcutAgreesWithTheGeneralDecoder) {
    const std::string head = R"({"v":1,"t":"got","tok":")" + kTok + R"(","d":)";
    std::string ids32 = "[4294967295";
    for (int i = 2; i <= 32; ++i)
        ids32 += "," + std::to_string(i);
    const std::vector<std::string> cases = {
        head + "[7]}", head + "[0]}", head + ids32 + "]}", head + ids32 + ",33]}",
        head + "[4294967296]}", head + "[99999999999]}", head + "[07]}", head + "[7,]}",
        head + "[,7]}", head + "[7,,8]}", head + "[]}", head + "[7 ]}", head + "[7.0]}",
        head + "[1e3]}", head + "[-7]}", head + "[7]} ", head + "[7]", head + R"(["7"]})",
        R"({"v":1,"t":"got","tok":")" + std::string(32, 'A') + R"(","d":[7]})",
        R"({"v":1,"t":"got","tok":")" + std::string(31, 'a') + R"(","d":[7]})",
        R"({"v":1,"t":"got","tok":")" + std::string(33, 'a') + R"(","d":[7]})",
        R"({"v":2,"t":"got","tok":")" + kTok + R"(","d":[7]})",
        R"({"t":"got","v":1,"tok":")" + kTok + R"(","d":[7]})", // other key order
        R"({"v":1, "t":"got","tok":")" + kTok + R"(","d":[7]})", // other spacing
        R"({"v":1,"t":"got","tok":")" + kTok + R"(","d":[7],"x":1})", // an extra field
        encode(Got{kTok, {1, 4294967295u, 0}})};
    for (const std::string& bytes : cases) {
        const DecodeResult fast = decode(bytes);
        const DecodeResult slow = detail::decode_without_shortcuts(bytes);
        ASSERT_EQ(fast.index(), slow.index()) << bytes;
        if (const auto* e = std::get_if<DecodeError>(&fast)) {
            EXPECT_EQ(e->reason, std::get<DecodeError>(slow).reason) << bytes;
            continue;
        }
        const auto& a = std::get<Message>(fast);
        const auto& b = std::get<Message>(slow);
        ASSERT_EQ(a.index(), b.index()) << bytes;
        if (const auto* got = std::get_if<Got>(&a)) {
            EXPECT_EQ(got->token, std::get<Got>(b).token) << bytes;
            EXPECT_EQ(got->d, std::get<Got>(b).d) << bytes;
        }
    }
    const auto all = decode(head + ids32 + "]}");
    ASSERT_TRUE(std::holds_alternative<Message>(all));
    EXPECT_EQ(std::get<Got>(std::get<Message>(all)).d.size(), 32u);
    EXPECT_EQ(std::get<Got>(std::get<Message>(all)).d.front(), 4294967295u);
}

TEST(Codec, LongestTextWithWorstCaseEscapingStillFitsOneDatagram) {
    const std::string text(kMaxTextBytes, '"'); // every byte doubles when escaped
    const std::string name(kMaxNameBytes, 'n');
    const Stamp st{"0a1b2c3d", 4294967295u, 4294967295u};
    EXPECT_LE(encode(RoomMessage{name, name, text, st, 4294967295u}).size(), kMaxDatagram);
    EXPECT_LE(encode(Say{kTok, 4294967295u, name, text}).size(), kMaxDatagram);
    std::vector<std::string> to;
    for (int i = 0; i < 16; ++i)
        to.push_back(std::string(31, 'a') + static_cast<char>('a' + i));
    // Sixteen maximal names plus maximal escaped text is over budget; the peer must split.
    EXPECT_GT(encode(Direct{kTok, 1, to, text}).size(), kMaxDatagram);
}

struct BadInput {
    std::string bytes;
    DropReason reason;
};

class CodecRejects : public ::testing::TestWithParam<BadInput> {};

TEST_P(CodecRejects, MalformedInputWithItsReason) {
    EXPECT_EQ(reason_of(GetParam().bytes), GetParam().reason) << GetParam().bytes;
}

const std::string kT = "\"tok\":\"" + std::string(32, 'a') + "\"";

INSTANTIATE_TEST_SUITE_P(
    Table, CodecRejects,
    ::testing::Values(
        BadInput{std::string(1201, 'x'), DropReason::Oversize}, BadInput{"", DropReason::Empty},
        BadInput{"\xff\xfe", DropReason::NotUtf8},
        BadInput{"\xc0\xaf", DropReason::NotUtf8},         // overlong '/'
        BadInput{"\xed\xa0\x80", DropReason::NotUtf8},     // surrogate
        BadInput{"\xf4\x90\x80\x80", DropReason::NotUtf8}, // above U+10FFFF
        BadInput{"\xe4\xbd", DropReason::NotUtf8},         // truncated sequence
        BadInput{"{", DropReason::BadJson}, BadInput{"{}{}", DropReason::BadJson},
        BadInput{"{\"v\":1,\"t\":\"join\"", DropReason::BadJson},
        BadInput{"{\"t\":\"join\"}", DropReason::BadVersion},
        BadInput{"{\"v\":2,\"t\":\"join\"}", DropReason::BadVersion},
        BadInput{"{\"v\":\"1\",\"t\":\"join\"}", DropReason::BadVersion},
        BadInput{"{\"v\":1}", DropReason::BadField},
        BadInput{"{\"v\":1,\"t\":7}", DropReason::BadField},
        BadInput{"{\"v\":1,\"t\":\"teleport\"}", DropReason::UnknownType},
        BadInput{"{\"v\":1,\"t\":\"join\"," + kT + ",\"id\":1}", DropReason::BadField},
        BadInput{"{\"v\":1,\"t\":\"join\"," + kT + ",\"id\":1,\"room\":\"a b\"}",
                 DropReason::BadField},
        BadInput{"{\"v\":1,\"t\":\"join\"," + kT + ",\"id\":1,\"room\":\"" + std::string(33, 'r') +
                     "\"}",
                 DropReason::BadField},
        BadInput{"{\"v\":1,\"t\":\"join\"," + kT + ",\"id\":-1,\"room\":\"r\"}",
                 DropReason::BadField},
        BadInput{"{\"v\":1,\"t\":\"join\"," + kT + ",\"id\":4294967296,\"room\":\"r\"}",
                 DropReason::BadField},
        BadInput{"{\"v\":1,\"t\":\"join\"," + kT + ",\"id\":1.5,\"room\":\"r\"}",
                 DropReason::BadField},
        BadInput{"{\"v\":1,\"t\":\"join\",\"tok\":\"ABC\",\"id\":1,\"room\":\"r\"}",
                 DropReason::BadField},
        BadInput{"{\"v\":1,\"t\":\"say\"," + kT + ",\"id\":1,\"room\":\"r\",\"text\":\"\"}",
                 DropReason::BadField},
        BadInput{"{\"v\":1,\"t\":\"say\"," + kT + ",\"id\":1,\"room\":\"r\",\"text\":\"a\\u0007\"}",
                 DropReason::BadField},
        BadInput{"{\"v\":1,\"t\":\"say\"," + kT + ",\"id\":1,\"room\":\"r\",\"text\":\"" +
                     std::string(501, 'x') + "\"}",
                 DropReason::BadField},
        BadInput{"{\"v\":1,\"t\":\"dm\"," + kT + ",\"id\":1,\"to\":[],\"text\":\"x\"}",
                 DropReason::BadField},
        BadInput{"{\"v\":1,\"t\":\"dm\"," + kT +
                     ",\"id\":1,\"to\":[\"bob\",\"bob\"],\"text\":\"x\"}",
                 DropReason::BadField},
        BadInput{"{\"v\":1,\"t\":\"dm\"," + kT + ",\"id\":1,\"to\":\"bob\",\"text\":\"x\"}",
                 DropReason::BadField},
        BadInput{"\x01\x02", DropReason::BadField}, // binary junk as plain text
        BadInput{"\n", DropReason::BadField}));     // an empty line

TEST(Codec, HelloWithBadPrivateEndpointIsRejected) {
    EXPECT_EQ(reason_of(padded_hello(R"({"v":1,"t":"hello","name":"al","priv":["nope"])")),
              DropReason::BadField);
    EXPECT_EQ(
        reason_of(padded_hello(
            R"({"v":1,"t":"hello","name":"al","priv":["1.1.1.1:1","1.1.1.1:2","1.1.1.1:3","1.1.1.1:4","1.1.1.1:5"])")),
        DropReason::BadField);
    EXPECT_EQ(reason_of(padded_hello(R"({"v":1,"t":"hello","name":"al ice")")),
              DropReason::BadField);
}

TEST(Codec, NonObjectTextIsALegacyLine) {
    EXPECT_EQ(std::get<PlainText>(std::get<Message>(decode("[1,2,3]"))).text, "[1,2,3]");
}

TEST(Codec, UnknownFieldsAreIgnoredForForwardCompatibility) {
    const auto m = std::get<Message>(
        decode("{\"v\":1,\"t\":\"join\"," + kT + ",\"id\":1,\"room\":\"r\",\"future\":[1]}"));
    EXPECT_EQ(std::get<Join>(m).room, "r");
}

TEST(Codec, DeeplyNestedJsonDoesNotCrash) {
    std::string deep = "{\"v\":1,\"t\":\"join\",\"x\":";
    while (deep.size() < 1150)
        deep += "[";
    EXPECT_EQ(reason_of(deep), DropReason::BadJson);
}

TEST(Codec, TypeNamesMatchTheWire) {
    EXPECT_EQ(type_name(Message{Say{}}), "say");
    EXPECT_EQ(type_name(Message{PeerInfo{}}), "peer");
    EXPECT_EQ(type_name(Message{Ping{}}), "#ping#");
    EXPECT_EQ(type_name(Message{Retry{}}), "retry");
}

} // namespace
} // namespace chat::proto
