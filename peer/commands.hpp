// What the user typed, as a value: parse_command turns one input line into a Command or a
// usage error. Pure and total: it validates names, recipients and text against the protocol
// limits so the core can trust what it gets, and it never sends or prints anything.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace chat::peer {

namespace cmd {
// Plain text, to the current target (room or direct peer).
struct Say {
    std::string text; // valid UTF-8, no control characters but tab; any length (the core
                      // splits it into <= 500-byte chunks)
};
struct Help {};
struct Join {
    std::string room; // valid name
};
struct Leave {
    std::optional<std::string> room; // absent: the current room
};
struct Rooms {};
struct Users {
    std::optional<std::string> room; // absent: everyone online
};
struct Msg {
    std::vector<std::string> to; // 1..16 distinct valid names
    std::string text;            // as in Say
};
struct Create {
    std::string room;                 // valid name
    std::vector<std::string> members; // 0..16 distinct valid names
};
struct Room {
    std::string room; // switch the current target to this joined room
};
struct Status {};
struct Quit {};
struct Connect {
    std::string name;
};
struct Disconnect {};
} // namespace cmd

using Command =
    std::variant<cmd::Say, cmd::Help, cmd::Join, cmd::Leave, cmd::Rooms, cmd::Users, cmd::Msg,
                 cmd::Create, cmd::Room, cmd::Status, cmd::Quit, cmd::Connect, cmd::Disconnect>;

// A line that is not a valid command: one short line for the user, e.g.
// "usage: /join ROOM" or "unknown command /frob: type /help for the list".
struct UsageError {
    std::string text;
};

// An empty (or all-blank) line: nothing to do.
struct EmptyLine {};

using ParseResult = std::variant<Command, UsageError, EmptyLine>;

// One line without its newline (a trailing '\r' is dropped). A line starting with '/' is a
// command; "//text" sends the text "/text". Anything else is chat text.
ParseResult parse_command(std::string_view line);

// The /help text, one command per line.
const std::vector<std::string>& help_lines();

} // namespace chat::peer
