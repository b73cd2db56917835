// Rendering UiEvents as text and as JSON; see render.hpp and JSON_EVENTS.md.
#include "render.hpp"

#include "utf8.hpp"

#include "proto/limits.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>

namespace chat::peer {
namespace {

using nlohmann::json;

template <class... Ts> struct Overloaded : Ts... { using Ts::operator()...; };
template <class... Ts> Overloaded(Ts...) -> Overloaded<Ts...>;

std::string two_digits(int v) {
    std::array<char, 4> buf{};
    std::snprintf(buf.data(), buf.size(), "%02d", v % 100);
    return buf.data();
}

// Code points that must not reach the terminal as they are. C0 (but tab) and C1 controls
// would be acted on (U+009B is CSI on some terminals). Bidi embeddings, overrides and
// isolates (U+202A..U+202E, U+2066..U+2069) reorder everything after them, so a line could
// show text in another order than it was sent (the "Trojan Source" trick, CVE-2021-42574),
// and the line and paragraph separators U+2028/U+2029 end a line for some viewers: these
// become a visible U+FFFD, so the reader sees something was there. The invisible direction
// marks (U+200E, U+200F, U+061C) only nudge neutral characters; they are dropped.
enum class Neutralise { Keep, Replace, Drop };

Neutralise neutralise(char32_t cp) {
    if (cp < 0x09 || (cp > 0x09 && cp < 0x20) || cp == 0x7F || (cp >= 0x80 && cp < 0xA0))
        return Neutralise::Replace;
    if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
        cp == 0x2029)
        return Neutralise::Replace;
    if (cp == 0x200E || cp == 0x200F || cp == 0x061C)
        return Neutralise::Drop;
    return Neutralise::Keep;
}

} // namespace

std::string printable(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = code_point_length(s, i);
        switch (neutralise(code_point_at(s, i))) {
        case Neutralise::Keep:
            out.append(s, i, n);
            break;
        case Neutralise::Replace:
            out += "\xEF\xBF\xBD";
            break;
        case Neutralise::Drop:
            break;
        }
        i += n;
    }
    return out;
}

namespace {

class Painter {
  public:
    explicit Painter(bool on) : on_(on) {}
    std::string name(std::string_view n) const {
        return paint(std::to_string(name_color(n)), printable(n));
    }
    std::string dim(std::string_view s) const { return paint("2", s); }
    std::string red(std::string_view s) const { return paint("31", s); }
    std::string bold(std::string_view s) const { return paint("1", s); }

  private:
    std::string paint(std::string_view sgr, std::string_view s) const {
        if (!on_)
            return std::string(s);
        return "\x1b[" + std::string(sgr) + "m" + std::string(s) + "\x1b[0m";
    }
    bool on_;
};

// After a chat line: why it is not plain (waiting for the server, or arrived out of order).
std::string line_note(const Painter& p, bool queued, bool late) {
    if (queued)
        return " " + p.dim("(queued: the server is unreachable; sent when it is back)");
    if (late)
        return " " + p.dim("(late)");
    return {};
}

std::string_view state_name(ConnectionState s) {
    switch (s) {
    case ConnectionState::Connecting:
        return "connecting";
    case ConnectionState::Online:
        return "online";
    case ConnectionState::Reconnecting:
        return "reconnecting";
    case ConnectionState::Closed:
        return "closed";
    }
    return "closed";
}

std::string_view kind_name(Target::Kind k) {
    switch (k) {
    case Target::Kind::None:
        return "none";
    case Target::Kind::Room:
        return "room";
    case Target::Kind::Direct:
        return "direct";
    }
    return "none";
}

std::string_view path_state_name(PathState s) {
    switch (s) {
    case PathState::Punching:
        return "punching";
    case PathState::Direct:
        return "direct";
    case PathState::Relayed:
        return "relayed";
    }
    return "relayed";
}

std::string ms_text(std::optional<Duration> d) {
    return d ? std::to_string(d->count()) + " ms" : std::string("unknown");
}

std::string target_text(const Target& t) {
    switch (t.kind) {
    case Target::Kind::None:
        return "no room (/join ROOM)";
    case Target::Kind::Room:
        return "room " + t.name;
    case Target::Kind::Direct:
        return t.name + " (directly when a direct path is up, else relayed)";
    }
    return {};
}

json endpoints(const std::vector<proto::Endpoint>& eps) {
    json a = json::array();
    for (const auto& e : eps)
        a.push_back(e.to_string());
    return a;
}

} // namespace

int name_color(std::string_view name) {
    static constexpr std::array<int, 12> kPalette{31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96};
    std::uint32_t h = 2166136261U; // FNV-1a: stable across runs and machines
    for (const char c : name) {
        h ^= static_cast<unsigned char>(c);
        h *= 16777619U;
    }
    return kPalette[h % kPalette.size()];
}

std::vector<std::string> render_text(const UiEvent& e, const WallClock& clock,
                                     const RenderOptions& opts) {
    const Painter p(opts.color);
    const std::string ts = p.dim(two_digits(clock.hour) + ":" + two_digits(clock.minute)) + " ";
    const auto notice = [&](std::string_view s) { return ts + p.dim("-- ") + std::string(s); };
    return std::visit(
        Overloaded{
            [&](const ui::Message& m) -> std::vector<std::string> {
                return {ts + p.dim("[" + m.room + "]") + " " + p.name(m.from) + ": " +
                        printable(m.text) + line_note(p, m.queued, m.late)};
            },
            [&](const ui::Direct& m) -> std::vector<std::string> {
                std::string to;
                for (const auto& n : m.to) {
                    if (!to.empty())
                        to += ',';
                    to += p.name(n); // not "," + name: GCC 12 -O3 false -Wrestrict
                }
                return {ts + p.dim(m.relayed ? "[dm, relayed]" : "[dm]") + " " + p.name(m.from) +
                        " -> " + to + ": " + printable(m.text) + line_note(p, m.queued, m.late)};
            },
            [&](const ui::Joined& m) -> std::vector<std::string> {
                if (m.self && m.by && *m.by != m.name)
                    return {notice(p.name(*m.by) + " added you to " + m.room + " (/room " + m.room +
                                   " to talk there)")};
                if (m.self && m.by)
                    return {notice("you created " + m.room)};
                if (m.self)
                    return {notice("you joined " + m.room)};
                if (m.by)
                    return {notice(p.name(*m.by) + " added " + p.name(m.name) + " to " + m.room)};
                return {notice(p.name(m.name) + " joined " + m.room)};
            },
            [&](const ui::Left& m) -> std::vector<std::string> {
                const std::string who = m.self ? std::string("you") : p.name(m.name);
                switch (m.reason) {
                case proto::LeaveReason::Left:
                    return {notice(who + " left " + m.room)};
                case proto::LeaveReason::Quit:
                    return {notice(who + " quit (" + m.room + ")")};
                case proto::LeaveReason::Timeout:
                    return {notice(who + " timed out (" + m.room + ")")};
                }
                return {};
            },
            [&](const ui::RoomList& m) -> std::vector<std::string> {
                std::vector<std::string> lines{
                    p.dim("-- ") + std::to_string(m.total) + (m.total == 1 ? " room" : " rooms") +
                    (m.rooms.size() < m.total
                         ? " (first " + std::to_string(m.rooms.size()) + " shown)"
                         : "") +
                    ":"};
                for (const auto& r : m.rooms)
                    lines.push_back("   " + r.name + " (" + std::to_string(r.members) + ")");
                return lines;
            },
            [&](const ui::UserList& m) -> std::vector<std::string> {
                std::vector<std::string> names;
                for (const auto& u : m.users)
                    names.push_back(p.name(u));
                std::string head = std::to_string(m.total) + (m.total == 1 ? " user" : " users") +
                                   (m.room ? " in " + *m.room : std::string(" online"));
                if (m.users.size() < m.total)
                    head += " (first " + std::to_string(m.users.size()) + " shown)";
                return {p.dim("-- ") + head + ": " + join(names)};
            },
            [&](const ui::Status& m) -> std::vector<std::string> {
                std::vector<std::string> lines{
                    p.dim("-- ") + "status: " + std::string(state_name(m.state)) + " as " +
                        p.name(m.name) + " via " + m.server.to_string(),
                    "   public address: " +
                        (m.public_endpoint ? m.public_endpoint->to_string() : "unknown"),
                    "   rtt: " +
                        (m.rtt ? std::to_string(m.rtt->count()) + " ms" : std::string("unknown")),
                    "   rooms: " + (m.rooms.empty() ? std::string("none") : join(m.rooms)),
                    "   talking to: " + target_text(m.target)};
                for (const auto& peer : m.peers) {
                    std::string line = "   peer " + p.name(peer.name) + ": " +
                                       std::string(path_state_name(peer.state));
                    if (peer.state == PathState::Direct && peer.via)
                        line += " via " + peer.via->to_string() + ", rtt " + ms_text(peer.rtt) +
                                ", last packet " + ms_text(peer.since_last) + " ago";
                    else if (peer.state == PathState::Relayed)
                        line += " through the server";
                    lines.push_back(std::move(line));
                }
                return lines;
            },
            [&](const ui::PathChanged& m) -> std::vector<std::string> {
                switch (m.state) {
                case PathState::Punching:
                    return {notice("punching a direct path to " + p.name(m.peer) + "...")};
                case PathState::Direct:
                    return {notice(p.bold("direct path to " + p.name(m.peer) + " via " +
                                          (m.via ? m.via->to_string() : std::string("?")) +
                                          " (rtt " + ms_text(m.rtt) + ")"))};
                case PathState::Relayed:
                    return {notice(p.bold("no direct path to " + p.name(m.peer) + ": " + m.reason +
                                          "; messages are relayed through the server"))};
                }
                return {};
            },
            [&](const ui::Connection& m) -> std::vector<std::string> {
                return {notice(p.bold(m.text))};
            },
            [&](const ui::PeerFound& m) -> std::vector<std::string> {
                if (m.initiator)
                    return {
                        notice("found " + p.name(m.name) + " at " + m.public_endpoint.to_string())};
                return {notice(p.name(m.name) + " connected to you (/connect " + m.name +
                               " to make them your target)")};
            },
            [&](const ui::TargetChanged& m) -> std::vector<std::string> {
                return {notice("now talking to " + target_text(m.target))};
            },
            [&](const ui::Delivered& m) -> std::vector<std::string> {
                if (!m.queued) // every line is acknowledged: only a queued one is news
                    return {};
                return {notice("delivered after the wait: \"" + printable(m.text) + "\" to " +
                               (m.room ? *m.room : join(m.to, ",")))};
            },
            [&](const ui::Info& m) -> std::vector<std::string> { return {m.text}; },
            [&](const ui::Error& m) -> std::vector<std::string> {
                return {p.red("!! " + printable(m.text))};
            },
            [&](const ui::Fatal& m) -> std::vector<std::string> {
                return {"peer: " + printable(m.text)};
            },
            [&](const ui::Quit&) -> std::vector<std::string> { return {}; },
        },
        e);
}

std::vector<std::string> wrap_for_terminal(std::string_view line, int columns) {
    constexpr int kTabStop = 8;
    const int indent = display_width(kContinuation);
    if (columns <= indent + 1)
        return {std::string(line)}; // too narrow to mark anything: leave it to the terminal
    std::vector<std::string> rows(1);
    std::string active; // SGR sequences in effect since the last reset, to carry over
    int col = 0;
    const auto new_row = [&] {
        if (!active.empty())
            rows.back() += "\x1b[0m";
        rows.push_back(std::string(kContinuation) + active);
        col = indent;
    };
    for (std::size_t i = 0; i < line.size();) {
        if (line[i] == '\x1b' && i + 1 < line.size() && line[i + 1] == '[') { // our own SGR
            std::size_t end = i + 2;
            while (end < line.size() && (line[end] < 0x40 || line[end] > 0x7E))
                ++end;
            end = std::min(end + 1, line.size());
            const std::string_view seq = line.substr(i, end - i);
            active =
                seq == "\x1b[0m" || seq == "\x1b[m" ? std::string() : active + std::string(seq);
            rows.back() += seq;
            i = end;
            continue;
        }
        const std::size_t n = code_point_length(line, i);
        if (line[i] == '\t') { // spaces to the next stop, so the width is known here
            const int to = (col / kTabStop + 1) * kTabStop;
            if (to > columns)
                new_row();
            else
                for (; col < to; ++col)
                    rows.back() += ' ';
            i += n;
            continue;
        }
        const int w = display_width(code_point_at(line, i));
        if (col + w > columns)
            new_row();
        rows.back().append(line, i, n);
        col += w;
        i += n;
    }
    return rows;
}

std::string render_json(const UiEvent& e, const WallClock& clock) {
    json j = std::visit(
        Overloaded{
            [](const ui::Message& m) -> json {
                json o{{"event", "message"},
                       {"room", m.room},
                       {"from", m.from},
                       {"text", m.text},
                       {"self", m.self}};
                if (m.queued)
                    o["queued"] = true;
                if (m.late)
                    o["late"] = true;
                return o;
            },
            [](const ui::Direct& m) -> json {
                json o{{"event", "dm"},  {"from", m.from}, {"to", m.to},
                       {"text", m.text}, {"self", m.self}, {"relayed", m.relayed}};
                if (m.queued)
                    o["queued"] = true;
                if (m.late)
                    o["late"] = true;
                return o;
            },
            [](const ui::Joined& m) -> json {
                json o{{"event", "joined"}, {"room", m.room}, {"name", m.name}, {"self", m.self}};
                if (m.by)
                    o["by"] = *m.by;
                return o;
            },
            [](const ui::Left& m) -> json {
                return {{"event", "left"},
                        {"room", m.room},
                        {"name", m.name},
                        {"reason", std::string(proto::wire_name(m.reason))},
                        {"self", m.self}};
            },
            [](const ui::RoomList& m) -> json {
                json rooms = json::array();
                for (const auto& r : m.rooms)
                    rooms.push_back({{"name", r.name}, {"members", r.members}});
                return {{"event", "rooms"}, {"rooms", rooms}, {"total", m.total}};
            },
            [](const ui::UserList& m) -> json {
                json o{{"event", "users"}, {"users", m.users}, {"total", m.total}};
                o["room"] = m.room ? json(*m.room) : json(nullptr);
                return o;
            },
            [](const ui::Status& m) -> json {
                json o{
                    {"event", "status"},
                    {"state", std::string(state_name(m.state))},
                    {"name", m.name},
                    {"server", m.server.to_string()},
                    {"rooms", m.rooms},
                    {"target",
                     {{"kind", std::string(kind_name(m.target.kind))}, {"name", m.target.name}}}};
                o["public"] =
                    m.public_endpoint ? json(m.public_endpoint->to_string()) : json(nullptr);
                o["rtt_ms"] = m.rtt ? json(m.rtt->count()) : json(nullptr);
                json peers = json::array();
                for (const auto& peer : m.peers) {
                    json pj{{"name", peer.name},
                            {"state", std::string(path_state_name(peer.state))}};
                    pj["via"] = peer.via ? json(peer.via->to_string()) : json(nullptr);
                    pj["rtt_ms"] = peer.rtt ? json(peer.rtt->count()) : json(nullptr);
                    pj["since_last_ms"] =
                        peer.since_last ? json(peer.since_last->count()) : json(nullptr);
                    peers.push_back(std::move(pj));
                }
                o["peers"] = std::move(peers);
                return o;
            },
            [](const ui::PathChanged& m) -> json {
                json o{{"event", "path"},
                       {"peer", m.peer},
                       {"state", std::string(path_state_name(m.state))}};
                o["via"] = m.via ? json(m.via->to_string()) : json(nullptr);
                o["rtt_ms"] = m.rtt ? json(m.rtt->count()) : json(nullptr);
                if (!m.reason.empty())
                    o["reason"] = m.reason;
                return o;
            },
            [](const ui::Connection& m) -> json {
                return {{"event", "connection"},
                        {"state", std::string(state_name(m.state))},
                        {"text", m.text}};
            },
            [](const ui::PeerFound& m) -> json {
                return {{"event", "peer"},
                        {"name", m.name},
                        {"public", m.public_endpoint.to_string()},
                        {"private", endpoints(m.private_endpoints)},
                        {"initiator", m.initiator}};
            },
            [](const ui::TargetChanged& m) -> json {
                return {{"event", "target"},
                        {"kind", std::string(kind_name(m.target.kind))},
                        {"name", m.target.name}};
            },
            [](const ui::Delivered& m) -> json {
                json o{{"event", "delivered"},
                       {"room", nullptr},
                       {"to", nullptr},
                       {"text", m.text},
                       {"queued", m.queued}};
                if (m.room)
                    o["room"] = *m.room;
                else
                    o["to"] = m.to;
                return o;
            },
            [](const ui::Info& m) -> json {
                return {{"event", "info"}, {"text", m.text}};
            },
            [](const ui::Error& m) -> json {
                json o{{"event", "error"}, {"code", m.code}, {"text", m.text}};
                if (m.line) {
                    o["line"] = *m.line;
                    o["to"] = m.room ? json(*m.room) : json(m.to);
                }
                return o;
            },
            [](const ui::Fatal& m) -> json {
                return {{"event", "fatal"}, {"text", m.text}};
            },
            [](const ui::Quit&) -> json {
                return {{"event", "quit"}};
            },
        },
        e);
    j["ts"] = clock.unix_ms;
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace chat::peer
