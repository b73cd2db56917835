// The command parser; see commands.hpp. Each command's usage line lives in kUsage so the
// help text and the error messages never disagree.
#include "commands.hpp"

#include "proto/limits.hpp"
#include "proto/validate.hpp"

#include <algorithm>
#include <array>

namespace chat::peer {
namespace {

struct CommandSpec {
    std::string_view name;
    std::string_view usage; // what /help prints, and what a wrong form is told
};

constexpr std::array<CommandSpec, 14> kUsage{{
    {"help", "/help                     this list"},
    {"join", "/join ROOM                join (or create) ROOM and talk there"},
    {"leave", "/leave [ROOM]             leave ROOM (default: the current room)"},
    {"rooms", "/rooms                    list rooms with member counts"},
    {"users", "/users [ROOM]             who is online, or in ROOM (alias /who)"},
    {"who", "/who [ROOM]               same as /users"},
    {"msg", "/msg NAME[,NAME...] TEXT  direct message to one or more people"},
    {"create", "/create ROOM [NAME,...]   new room with these people in it"},
    {"room", "/room ROOM                talk in ROOM (one you have joined)"},
    {"status", "/status                   server, public address, RTT, rooms, target"},
    {"connect", "/connect NAME             talk to NAME directly (relayed for now)"},
    {"disconnect", "/disconnect               back to talking in the current room"},
    {"quit", "/quit                     leave (also Ctrl-C, Ctrl-D)"},
    {"/", "//TEXT                    send TEXT starting with '/'"},
}};

std::string usage(std::string_view command) {
    for (const auto& c : kUsage)
        if (c.name == command) {
            std::string_view u = c.usage;
            const auto gap = u.find("  ");
            return "usage: " + std::string(u.substr(0, gap));
        }
    return "usage: /help";
}

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_blank(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_blank(s.back()))
        s.remove_suffix(1);
    return s;
}

// Splits off the first blank-separated word; `rest` keeps everything after the blanks.
std::string_view next_word(std::string_view& rest) {
    rest = trim(rest);
    std::size_t end = 0;
    while (end < rest.size() && !is_blank(rest[end]))
        ++end;
    const auto word = rest.substr(0, end);
    rest = trim(rest.substr(end));
    return word;
}

// Chat text as typed: valid UTF-8 and no control characters but tab. The length is not
// checked here: the core splits long lines.
std::optional<UsageError> check_text(std::string_view text) {
    if (!proto::is_valid_utf8(text))
        return UsageError{"text is not valid UTF-8: nothing was sent"};
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20U && c != '\t') || u == 0x7FU)
            return UsageError{"text contains control characters: nothing was sent"};
    }
    return std::nullopt;
}

std::optional<UsageError> check_name(std::string_view command, std::string_view what,
                                     std::string_view name) {
    if (proto::is_valid_name(name))
        return std::nullopt;
    return UsageError{std::string(what) + " \"" + proto::sanitized_sample(name, 40) +
                      "\" is not valid: " + std::string(proto::kNameRule) + " (" + usage(command) +
                      ")"};
}

// "a,b,c" -> names; at most kMaxRecipients distinct valid names.
std::variant<std::vector<std::string>, UsageError> parse_names(std::string_view command,
                                                               std::string_view list) {
    std::vector<std::string> names;
    while (true) {
        const auto comma = list.find(',');
        const auto name = list.substr(0, comma);
        if (auto err = check_name(command, "name", name))
            return *err;
        if (std::find(names.begin(), names.end(), name) == names.end())
            names.emplace_back(name);
        if (comma == std::string_view::npos)
            break;
        list.remove_prefix(comma + 1);
    }
    if (names.size() > proto::kMaxRecipients)
        return UsageError{"too many names: at most " + std::to_string(proto::kMaxRecipients) +
                          " (" + usage(command) + ")"};
    return names;
}

ParseResult parse_slash(std::string_view line) {
    std::string_view rest = line.substr(1);
    const std::string_view word = next_word(rest);
    std::string name(word);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });

    // Commands without arguments.
    const auto no_args = [&](Command c) -> ParseResult {
        if (!rest.empty())
            return UsageError{usage(name)};
        return c;
    };
    // Commands with exactly one name argument.
    const auto one_name = [&](std::string_view what) -> std::variant<std::string, UsageError> {
        const auto arg = next_word(rest);
        if (arg.empty() || !rest.empty())
            return UsageError{usage(name)};
        if (auto err = check_name(name, what, arg))
            return *err;
        return std::string(arg);
    };
    // Commands with one optional name argument.
    const auto opt_name =
        [&](std::string_view what) -> std::variant<std::optional<std::string>, UsageError> {
        const auto arg = next_word(rest);
        if (!rest.empty())
            return UsageError{usage(name)};
        if (arg.empty())
            return std::optional<std::string>{};
        if (auto err = check_name(name, what, arg))
            return *err;
        return std::optional<std::string>{std::string(arg)};
    };

    if (name == "help" || name == "?")
        return no_args(cmd::Help{});
    if (name == "rooms")
        return no_args(cmd::Rooms{});
    if (name == "status")
        return no_args(cmd::Status{});
    if (name == "quit" || name == "exit")
        return no_args(cmd::Quit{});
    if (name == "disconnect")
        return no_args(cmd::Disconnect{});
    if (name == "join" || name == "room" || name == "connect") {
        auto r = one_name(name == "connect" ? "name" : "room");
        if (auto* err = std::get_if<UsageError>(&r))
            return *err;
        auto& arg = std::get<std::string>(r);
        if (name == "join")
            return Command{cmd::Join{std::move(arg)}};
        if (name == "room")
            return Command{cmd::Room{std::move(arg)}};
        return Command{cmd::Connect{std::move(arg)}};
    }
    if (name == "leave" || name == "users" || name == "who") {
        auto r = opt_name("room");
        if (auto* err = std::get_if<UsageError>(&r))
            return *err;
        auto& arg = std::get<std::optional<std::string>>(r);
        if (name == "leave")
            return Command{cmd::Leave{std::move(arg)}};
        return Command{cmd::Users{std::move(arg)}};
    }
    if (name == "msg") {
        const auto list = next_word(rest);
        if (list.empty() || rest.empty())
            return UsageError{usage(name)};
        auto names = parse_names(name, list);
        if (auto* err = std::get_if<UsageError>(&names))
            return *err;
        if (auto err = check_text(rest))
            return *err;
        return Command{
            cmd::Msg{std::move(std::get<std::vector<std::string>>(names)), std::string(rest)}};
    }
    if (name == "create") {
        const auto room = next_word(rest);
        if (room.empty())
            return UsageError{usage(name)};
        if (auto err = check_name(name, "room", room))
            return *err;
        std::vector<std::string> members;
        if (!rest.empty()) {
            const auto list = next_word(rest);
            if (!rest.empty())
                return UsageError{usage(name) + " (names are separated by commas, no spaces)"};
            auto names = parse_names(name, list);
            if (auto* err = std::get_if<UsageError>(&names))
                return *err;
            members = std::move(std::get<std::vector<std::string>>(names));
        }
        return Command{cmd::Create{std::string(room), std::move(members)}};
    }
    if (name.empty())
        return UsageError{"a command name must follow '/': type /help for the list"};
    return UsageError{"unknown command /" + proto::sanitized_sample(name, 20) +
                      ": type /help for the list"};
}

} // namespace

ParseResult parse_command(std::string_view line) {
    if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
    if (trim(line).empty())
        return EmptyLine{};
    if (line.front() == '/' && !(line.size() > 1 && line[1] == '/'))
        return parse_slash(line);
    const auto text = line.front() == '/' ? line.substr(1) : line; // "//x" sends "/x"
    if (auto err = check_text(text))
        return *err;
    return Command{cmd::Say{std::string(text)}};
}

const std::vector<std::string>& help_lines() {
    static const std::vector<std::string> lines = [] {
        std::vector<std::string> v{"commands (anything else is sent to the current room or peer):"};
        for (const auto& c : kUsage)
            v.emplace_back("  " + std::string(c.usage));
        return v;
    }();
    return lines;
}

} // namespace chat::peer
