// Rendering: the text lines people read (with and without colour) and the JSON schema of
// peer/JSON_EVENTS.md that programs read.
#include "peer/render.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace chat::peer {
namespace {

const WallClock kClock{1700000000123, 9, 5};

std::string text(const UiEvent& e, bool color = false) {
    const auto lines = render_text(e, kClock, RenderOptions{color});
    std::string s;
    for (const auto& l : lines)
        s += l + "\n";
    return s;
}

nlohmann::json json_of(const UiEvent& e) {
    return nlohmann::json::parse(render_json(e, kClock));
}

TEST(Render, MessageHasTimeRoomSenderText) {
    EXPECT_EQ(text(ui::Message{"lobby", "bob", "hi", false}), "09:05 [lobby] bob: hi\n");
}

TEST(Render, NoColourMeansNoEscapes) {
    const auto all = text(ui::Message{"lobby", "bob", "hi", false}) + text(ui::Error{"x", "oops"}) +
                     text(ui::Left{"dev", "bob", proto::LeaveReason::Timeout, false});
    EXPECT_EQ(all.find('\x1b'), std::string::npos);
}

TEST(Render, ColourPerSenderIsStable) {
    const auto s = text(ui::Message{"lobby", "bob", "hi", false}, true);
    EXPECT_NE(s.find("\x1b[" + std::to_string(name_color("bob")) + "mbob"), std::string::npos);
    EXPECT_EQ(name_color("bob"), name_color("bob"));
}

TEST(Render, TimeoutIsSaidPlainly) {
    EXPECT_EQ(text(ui::Left{"lobby", "bob", proto::LeaveReason::Timeout, false}),
              "09:05 -- bob timed out (lobby)\n");
}

TEST(Render, DirectMessageIsMarkedRelayed) {
    EXPECT_EQ(text(ui::Direct{"bob", {"alice", "carol"}, "psst", false, true}),
              "09:05 [dm, relayed] bob -> alice,carol: psst\n");
}

TEST(Render, C1ControlsAreReplaced) {
    EXPECT_EQ(text(ui::Message{"lobby", "bob",
                               "a\xC2\x9B"
                               "2J",
                               false}),
              "09:05 [lobby] bob: a\xEF\xBF\xBD"
              "2J\n");
}

TEST(Render, QuitRendersNothing) {
    EXPECT_TRUE(render_text(ui::Quit{}, kClock, {}).empty());
}

TEST(Render, JsonMessage) {
    const auto j = json_of(ui::Message{"dev", "bob", "你好", false});
    EXPECT_EQ(j["event"], "message");
    EXPECT_EQ(j["room"], "dev");
    EXPECT_EQ(j["from"], "bob");
    EXPECT_EQ(j["text"], "你好");
    EXPECT_EQ(j["self"], false);
    EXPECT_EQ(j["ts"], 1700000000123);
}

TEST(Render, JsonIsOneLine) {
    const auto s = render_json(ui::Info{"two\nlines"}, kClock);
    EXPECT_EQ(s.find('\n'), std::string::npos);
}

TEST(Render, JsonLeftHasWireReason) {
    EXPECT_EQ(json_of(ui::Left{"lobby", "bob", proto::LeaveReason::Timeout, false})["reason"],
              "timeout");
}

TEST(Render, JsonListsAndStatus) {
    const auto rooms = json_of(ui::RoomList{{{"dev", 2}}, 1});
    EXPECT_EQ(rooms["event"], "rooms");
    EXPECT_EQ(rooms["rooms"][0]["name"], "dev");
    EXPECT_EQ(rooms["rooms"][0]["members"], 2);
    const auto users = json_of(ui::UserList{std::nullopt, {"a", "b"}, 2});
    EXPECT_TRUE(users["room"].is_null());
    EXPECT_EQ(users["users"].size(), 2u);
    ui::Status st;
    st.name = "alice";
    st.state = ConnectionState::Reconnecting;
    const auto status = json_of(st);
    EXPECT_EQ(status["state"], "reconnecting");
    EXPECT_TRUE(status["rtt_ms"].is_null());
    EXPECT_EQ(status["target"]["kind"], "none");
}

TEST(Render, JsonConnectionTargetErrorFatal) {
    EXPECT_EQ(json_of(ui::Connection{ConnectionState::Online, "x"})["state"], "online");
    EXPECT_EQ(json_of(ui::TargetChanged{{Target::Kind::Direct, "bob"}})["kind"], "direct");
    EXPECT_EQ(json_of(ui::Error{"no_such_room", "x"})["code"], "no_such_room");
    EXPECT_EQ(json_of(ui::Fatal{"x"})["event"], "fatal");
    EXPECT_EQ(json_of(ui::Quit{})["event"], "quit");
}

} // namespace
} // namespace chat::peer
