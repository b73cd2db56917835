// parse_command: every command, every wrong form. A wrong form is a UsageError, and a
// UsageError is never a Command, so nothing can be sent for it.
#include "peer/commands.hpp"

#include <gtest/gtest.h>

namespace chat::peer {
namespace {

template <typename T> T parse_as(std::string_view line) {
    const auto r = parse_command(line);
    const auto* c = std::get_if<Command>(&r);
    EXPECT_NE(c, nullptr) << "not a command: " << line;
    if (c == nullptr || !std::holds_alternative<T>(*c)) {
        ADD_FAILURE() << "wrong command for: " << line;
        return T{};
    }
    return std::get<T>(*c);
}

std::string usage_of(std::string_view line) {
    const auto r = parse_command(line);
    const auto* u = std::get_if<UsageError>(&r);
    if (u == nullptr) {
        ADD_FAILURE() << "accepted: " << line;
        return {};
    }
    return u->text;
}

TEST(Commands, PlainTextIsSay) {
    EXPECT_EQ(parse_as<cmd::Say>("hello there").text, "hello there");
}

TEST(Commands, DoubleSlashSendsTextStartingWithSlash) {
    EXPECT_EQ(parse_as<cmd::Say>("//etc/passwd").text, "/etc/passwd");
}

TEST(Commands, TrailingCarriageReturnIsDropped) {
    EXPECT_EQ(parse_as<cmd::Say>("hi\r").text, "hi");
}

TEST(Commands, BlankLineIsEmpty) {
    EXPECT_TRUE(std::holds_alternative<EmptyLine>(parse_command("")));
    EXPECT_TRUE(std::holds_alternative<EmptyLine>(parse_command("   \t ")));
}

TEST(Commands, ChineseTextIsSay) {
    EXPECT_EQ(parse_as<cmd::Say>("你好，世界").text, "你好，世界");
}

TEST(Commands, InvalidUtf8TextIsRefused) {
    EXPECT_NE(usage_of("bad \xff byte").find("UTF-8"), std::string::npos);
}

TEST(Commands, ControlCharactersAreRefused) {
    EXPECT_NE(usage_of("bell \x07").find("control"), std::string::npos);
    EXPECT_EQ(parse_as<cmd::Say>("tab\tok").text, "tab\tok");
}

TEST(Commands, NoArgumentCommands) {
    parse_as<cmd::Help>("/help");
    parse_as<cmd::Rooms>("/rooms");
    parse_as<cmd::Status>("/status");
    parse_as<cmd::Quit>("/quit");
    parse_as<cmd::Disconnect>("/disconnect");
}

TEST(Commands, NamesAreCaseInsensitiveAndBlanksTolerated) {
    parse_as<cmd::Help>("/HELP");
    EXPECT_EQ(parse_as<cmd::Join>("/join   dev  ").room, "dev");
}

TEST(Commands, NoArgumentCommandsRefuseArguments) {
    for (const auto* line : {"/help me", "/rooms x", "/status now", "/quit x", "/disconnect b"})
        EXPECT_EQ(usage_of(line).rfind("usage: /", 0), 0u) << line;
}

TEST(Commands, Join) {
    EXPECT_EQ(parse_as<cmd::Join>("/join dev").room, "dev");
    EXPECT_EQ(usage_of("/join"), "usage: /join ROOM");
    EXPECT_EQ(usage_of("/join a b"), "usage: /join ROOM");
    EXPECT_NE(usage_of("/join bad!name").find("is not valid"), std::string::npos);
    EXPECT_NE(usage_of("/join " + std::string(33, 'a')).find("is not valid"), std::string::npos);
    EXPECT_EQ(parse_as<cmd::Join>("/join " + std::string(32, 'a')).room, std::string(32, 'a'));
}

TEST(Commands, Leave) {
    EXPECT_FALSE(parse_as<cmd::Leave>("/leave").room.has_value());
    EXPECT_EQ(parse_as<cmd::Leave>("/leave dev").room, "dev");
    EXPECT_EQ(usage_of("/leave a b"), "usage: /leave [ROOM]");
    EXPECT_NE(usage_of("/leave d@v").find("is not valid"), std::string::npos);
}

TEST(Commands, UsersAndWho) {
    EXPECT_FALSE(parse_as<cmd::Users>("/users").room.has_value());
    EXPECT_EQ(parse_as<cmd::Users>("/users dev").room, "dev");
    EXPECT_EQ(parse_as<cmd::Users>("/who dev").room, "dev");
    EXPECT_EQ(usage_of("/who a b"), "usage: /who [ROOM]");
    EXPECT_EQ(usage_of("/users a b"), "usage: /users [ROOM]");
}

TEST(Commands, Msg) {
    const auto m = parse_as<cmd::Msg>("/msg bob,carol hi there");
    EXPECT_EQ(m.to, (std::vector<std::string>{"bob", "carol"}));
    EXPECT_EQ(m.text, "hi there");
}

TEST(Commands, MsgDropsRepeatedNames) {
    EXPECT_EQ(parse_as<cmd::Msg>("/msg bob,bob hi").to, std::vector<std::string>{"bob"});
}

TEST(Commands, MsgWrongForms) {
    EXPECT_EQ(usage_of("/msg"), "usage: /msg NAME[,NAME...] TEXT");
    EXPECT_EQ(usage_of("/msg bob"), "usage: /msg NAME[,NAME...] TEXT");
    EXPECT_NE(usage_of("/msg bob,,carol hi").find("is not valid"), std::string::npos);
    EXPECT_NE(usage_of("/msg bob, hi").find("is not valid"), std::string::npos);
    EXPECT_NE(usage_of("/msg b!b hi").find("is not valid"), std::string::npos);
    std::string many = "n0";
    for (int i = 1; i < 17; ++i)
        many += ",n" + std::to_string(i);
    EXPECT_NE(usage_of("/msg " + many + " hi").find("too many"), std::string::npos);
    EXPECT_NE(usage_of("/msg bob \x01").find("control"), std::string::npos);
}

TEST(Commands, Create) {
    const auto c = parse_as<cmd::Create>("/create dev bob,carol");
    EXPECT_EQ(c.room, "dev");
    EXPECT_EQ(c.members, (std::vector<std::string>{"bob", "carol"}));
    EXPECT_TRUE(parse_as<cmd::Create>("/create solo").members.empty());
}

TEST(Commands, CreateWrongForms) {
    EXPECT_EQ(usage_of("/create"), "usage: /create ROOM [NAME,...]");
    EXPECT_NE(usage_of("/create dev bob carol").find("commas"), std::string::npos);
    EXPECT_NE(usage_of("/create d#v bob").find("is not valid"), std::string::npos);
    EXPECT_NE(usage_of("/create dev b?b").find("is not valid"), std::string::npos);
}

TEST(Commands, RoomConnect) {
    EXPECT_EQ(parse_as<cmd::Room>("/room dev").room, "dev");
    EXPECT_EQ(usage_of("/room"), "usage: /room ROOM");
    EXPECT_EQ(parse_as<cmd::Connect>("/connect bob").name, "bob");
    EXPECT_EQ(usage_of("/connect"), "usage: /connect NAME");
    EXPECT_EQ(usage_of("/connect bob carol"), "usage: /connect NAME");
}

TEST(Commands, UnknownCommandSuggestsHelp) {
    EXPECT_EQ(usage_of("/frobnicate now"), "unknown command /frobnicate: type /help for the list");
    EXPECT_NE(usage_of("/").find("/help"), std::string::npos);
}

TEST(Commands, HelpListsEveryCommand) {
    std::string all;
    for (const auto& l : help_lines())
        all += l + "\n";
    for (const auto* c : {"/help", "/join", "/leave", "/rooms", "/users", "/who", "/msg", "/create",
                          "/room", "/status", "/connect", "/disconnect", "/quit"})
        EXPECT_NE(all.find(c), std::string::npos) << c;
}

} // namespace
} // namespace chat::peer
