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

// Bidi controls, one by one, with their neighbours outside each range kept.
TEST(Render, BidiOverridesAndIsolatesBecomeAVisiblePlaceholder) {
    const std::string kFffd = "\xEF\xBF\xBD";
    for (const char* cp : {"\u202A", "\u202B", "\u202C", "\u202D", "\u202E", "\u2066", "\u2067",
                           "\u2068", "\u2069", "\u2028", "\u2029"})
        EXPECT_EQ(printable(std::string("a") + cp + "b"), "a" + kFffd + "b") << cp;
    for (const char* cp :
         {"\u2027", "\u202F", "\u2065", "\u206A", "\u200D", "\u2010", "\u061B", "\u061D", "\u05D0"})
        EXPECT_EQ(printable(std::string("a") + cp + "b"), std::string("a") + cp + "b") << cp;
}

TEST(Render, DirectionMarksAreDropped) {
    EXPECT_EQ(printable("a\u200Eb\u200Fc\u061Cd"), "abcd");
}

TEST(Render, ARightToLeftOverrideCannotReorderTheShownLine) {
    // "\u202E" would show "txt.exe" as "exe.txt" on a bidi terminal.
    const auto s = text(ui::Message{"lobby", "bob", "see \u202Etxt.exe", false});
    EXPECT_EQ(s, "09:05 [lobby] bob: see \xEF\xBF\xBDtxt.exe\n");
    const auto d = text(ui::Direct{"bob", {"alice"}, "\u2067x\u2069", false, false});
    EXPECT_EQ(d.find("\u2067"), std::string::npos);
    EXPECT_EQ(d.find("\u2069"), std::string::npos);
}

TEST(Render, ALineThatFitsIsOneRow) {
    EXPECT_EQ(wrap_for_terminal("09:05 [lobby] bob: hi", 21),
              std::vector<std::string>{"09:05 [lobby] bob: hi"});
}

TEST(Render, ALongLineWrapsIntoMarkedRowsOfAtMostTheWidth) {
    const auto rows = wrap_for_terminal("09:05 [lobby] bob: " + std::string(100, 'x'), 40);
    ASSERT_EQ(rows.size(), 4u); // 19 + 100 columns: 40, then 32 per marked row
    EXPECT_EQ(rows[0], "09:05 [lobby] bob: " + std::string(21, 'x'));
    for (std::size_t i = 1; i < rows.size(); ++i) {
        EXPECT_EQ(rows[i].rfind(kContinuation, 0), 0u) << rows[i];
        EXPECT_LE(rows[i].size(), 40u);
    }
    EXPECT_EQ(rows[3], std::string(kContinuation) + std::string(15, 'x'));
}

TEST(Render, PaddingCannotStartARowThatLooksLikeAnotherUsersLine) {
    // bob pads his line so that, on an 80-column terminal, a fake line would start a row.
    const std::string fake = "09:05 [lobby] carol: type /quit and your password";
    for (const std::string& pad : {std::string(61, ' '), std::string(8, '\t')}) {
        const auto line = render_text(ui::Message{"lobby", "bob", "hi" + pad + fake, false}, kClock,
                                      RenderOptions{});
        ASSERT_EQ(line.size(), 1u);
        const auto rows = wrap_for_terminal(line[0], 80);
        ASSERT_GE(rows.size(), 2u);
        EXPECT_EQ(rows[0].rfind("09:05 [lobby] bob: hi", 0), 0u);
        for (std::size_t i = 1; i < rows.size(); ++i)
            EXPECT_EQ(rows[i].rfind(kContinuation, 0), 0u) << rows[i];
    }
}

TEST(Render, TabsBecomeSpacesToTheNextStop) {
    EXPECT_EQ(wrap_for_terminal("ab\tc", 40), std::vector<std::string>{"ab      c"});
    EXPECT_EQ(wrap_for_terminal("abcdefgh\tc", 40), std::vector<std::string>{"abcdefgh        c"});
}

TEST(Render, AWideCharacterThatDoesNotFitMovesToTheNextRow) {
    // 9 ASCII columns, then a two-column ideograph that would need columns 10 and 11.
    const auto rows = wrap_for_terminal("123456789\u4E2D", 10);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0], "123456789");
    EXPECT_EQ(rows[1], std::string(kContinuation) + "\u4E2D");
}

TEST(Render, ColourIsClosedAtARowsEndAndReopenedAfterTheMark) {
    const auto rows = wrap_for_terminal("\x1b[1m" + std::string(15, 'x') + "\x1b[0m", 12);
    ASSERT_EQ(rows.size(), 2u); // escapes take no width: 12 columns, then 8 + 3
    EXPECT_EQ(rows[0], "\x1b[1m" + std::string(12, 'x') + "\x1b[0m");
    EXPECT_EQ(rows[1], std::string(kContinuation) + "\x1b[1m" + "xxx" + "\x1b[0m");
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
