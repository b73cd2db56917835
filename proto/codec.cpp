// The JSON wire format; see codec.hpp and PROTOCOL.md. Each message type has one read_*
// and one write_* function; Fields wraps a parsed object so every read checks the type and
// the limit before it takes the value, and remembers the first field that failed.
#include "codec.hpp"

#include "limits.hpp"
#include "validate.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <set>
#include <unordered_map>

namespace chat::proto {
namespace {

using Json = nlohmann::json;
using OutJson = nlohmann::ordered_json; // "v" and "t" first: easier to read in captures

// ---------- reading ----------

struct BadField {
    std::string detail;
};

class Fields {
  public:
    explicit Fields(const Json& obj) : obj_(obj) {}

    const Json* find(const char* key) const {
        const auto it = obj_.find(key);
        return it == obj_.end() ? nullptr : &*it;
    }
    std::string string(const char* key, const std::function<bool(std::string_view)>& valid) {
        const Json* j = find(key);
        if (j == nullptr || !j->is_string())
            return fail(key, "missing or not a string");
        const auto& s = j->get_ref<const std::string&>();
        if (!valid(s))
            return fail(key, "out of limits");
        return s;
    }
    std::optional<std::string> optional_string(const char* key,
                                               const std::function<bool(std::string_view)>& v) {
        if (find(key) == nullptr)
            return std::nullopt;
        return string(key, v);
    }
    std::string name(const char* key) { return string(key, is_valid_name); }
    std::string sender(const char* key) { return string(key, is_valid_sender); }
    std::string text(const char* key) { return string(key, is_valid_text); }
    Token token(const char* key = "tok") {
        return string(key, [](std::string_view s) { return is_lower_hex(s, kTokenHexChars); });
    }
    std::uint32_t u32(const char* key) {
        const Json* j = find(key);
        if (j == nullptr || !j->is_number_unsigned())
            return fail_num(key);
        const auto v = j->get<std::uint64_t>();
        if (v > 0xffffffffULL)
            return fail_num(key);
        return static_cast<std::uint32_t>(v);
    }
    std::uint32_t optional_u32(const char* key, std::uint32_t fallback) {
        return find(key) == nullptr ? fallback : u32(key);
    }
    std::optional<std::uint32_t> maybe_u32(const char* key) {
        if (find(key) == nullptr)
            return std::nullopt;
        return u32(key);
    }
    bool boolean(const char* key) {
        const Json* j = find(key);
        if (j == nullptr || !j->is_boolean()) {
            fail(key, "missing or not a boolean");
            return false;
        }
        return j->get<bool>();
    }
    Endpoint endpoint(const char* key) {
        const auto s = string(key, [](std::string_view v) { return v.size() <= 64; });
        const auto e = Endpoint::parse(s);
        if (!e)
            fail(key, "not an ip:port endpoint");
        return e.value_or(Endpoint{});
    }
    // An array of at most `max` strings, each passing `valid`, no duplicates.
    std::vector<std::string> string_list(const char* key, std::size_t min, std::size_t max,
                                         bool (*valid)(std::string_view)) {
        std::vector<std::string> out;
        const Json* j = find(key);
        if (j == nullptr && min == 0)
            return out;
        if (j == nullptr || !j->is_array() || j->size() < min || j->size() > max) {
            fail(key, "missing, not an array, or wrong length");
            return out;
        }
        std::set<std::string_view> seen;
        for (const auto& item : *j) {
            if (!item.is_string() || !valid(item.get_ref<const std::string&>()) ||
                !seen.insert(item.get_ref<const std::string&>()).second) {
                fail(key, "an entry is invalid or repeated");
                return {};
            }
            out.push_back(item.get<std::string>());
        }
        return out;
    }
    std::vector<Endpoint> endpoint_list(const char* key) {
        std::vector<Endpoint> out;
        const Json* j = find(key);
        if (j == nullptr)
            return out;
        if (!j->is_array() || j->size() > kMaxPrivateEndpoints) {
            fail(key, "not an array of at most 4 endpoints");
            return out;
        }
        for (const auto& item : *j) {
            const auto e = item.is_string() && item.get_ref<const std::string&>().size() <= 64
                               ? Endpoint::parse(item.get_ref<const std::string&>())
                               : std::nullopt;
            if (!e) {
                fail(key, "an entry is not an ip:port endpoint");
                return {};
            }
            out.push_back(*e);
        }
        return out;
    }
    // An array of 1..max unsigned 32-bit integers.
    std::vector<std::uint32_t> u32_list(const char* key, std::size_t max) {
        std::vector<std::uint32_t> out;
        const Json* j = find(key);
        if (j == nullptr || !j->is_array() || j->empty() || j->size() > max) {
            fail(key, "missing, not an array, or wrong length");
            return out;
        }
        for (const auto& item : *j) {
            if (!item.is_number_unsigned() || item.get<std::uint64_t>() > 0xffffffffULL) {
                fail(key, "an entry is not an unsigned 32-bit integer");
                return {};
            }
            out.push_back(static_cast<std::uint32_t>(item.get<std::uint64_t>()));
        }
        return out;
    }
    Stamp stamp() {
        Stamp st;
        st.inst = string("inst", [](std::string_view v) { return is_lower_hex(v, kInstHexChars); });
        st.n = u32("n");
        st.lo = u32("lo");
        if (!error_ && (st.n == 0 || st.lo > st.n))
            fail("n", "must be at least 1, and lo at most n");
        return st;
    }
    std::optional<Stamp> optional_stamp() {
        if (find("inst") == nullptr && find("n") == nullptr && find("lo") == nullptr)
            return std::nullopt;
        return stamp();
    }
    const std::optional<BadField>& error() const { return error_; }

  private:
    std::string fail(const char* key, const char* what) {
        if (!error_)
            error_ = BadField{std::string(key) + ": " + what};
        return {};
    }
    std::uint32_t fail_num(const char* key) {
        fail(key, "missing or not an unsigned 32-bit integer");
        return 0;
    }
    const Json& obj_;
    std::optional<BadField> error_;
};

template <typename T> using Reader = T (*)(Fields&);

std::string read_cookie(Fields& f) {
    return f.string("cookie", [](std::string_view s) { return is_lower_hex(s, kCookieHexChars); });
}
Message read_hello(Fields& f) {
    Hello m;
    m.name = f.name("name");
    m.private_endpoints = f.endpoint_list("priv");
    if (f.find("tok") != nullptr)
        m.token = f.token();
    if (f.find("cookie") != nullptr)
        m.cookie = read_cookie(f);
    return m;
}
Message read_bye(Fields& f) {
    return Bye{f.token()};
}
Message read_join(Fields& f) {
    return Join{f.token(), f.u32("id"), f.name("room")};
}
Message read_leave(Fields& f) {
    return Leave{f.token(), f.u32("id"), f.name("room")};
}
Message read_rooms(Fields& f) {
    return ListRooms{f.token(), f.u32("id"), f.optional_u32("offset", 0)};
}
Message read_users(Fields& f) {
    ListUsers m{f.token(), f.u32("id"), std::nullopt, f.optional_u32("offset", 0)};
    m.room = f.optional_string("room", is_valid_name);
    return m;
}
Message read_create(Fields& f) {
    CreateRoom m{f.token(), f.u32("id"), f.name("room"), {}};
    m.members = f.string_list("members", 0, kMaxRecipients, is_valid_name);
    return m;
}
Message read_say(Fields& f) {
    return Say{f.token(), f.u32("id"), f.name("room"), f.text("text"), f.optional_stamp()};
}
Message read_direct(Fields& f) {
    Direct m{f.token(), f.u32("id"), {}, {}, f.optional_stamp()};
    m.to = f.string_list("to", 1, kMaxRecipients, is_valid_name);
    m.text = f.text("text");
    return m;
}
Message read_connect(Fields& f) {
    return Connect{f.token(), f.u32("id"), f.name("name")};
}

Message read_retry(Fields& f) {
    return Retry{read_cookie(f)};
}
Message read_welcome(Fields& f) {
    Welcome m;
    m.name = f.name("name");
    m.public_endpoint = f.endpoint("pub");
    m.token = f.token();
    m.heartbeat = Duration{f.u32("hb")};
    m.timeout = Duration{f.u32("timeout")};
    return m;
}
Message read_ok(Fields& f) {
    Ok m{f.u32("id"), {}};
    m.unknown = f.string_list("unknown", 0, kMaxRecipients, is_valid_name);
    m.taken = f.find("taken") != nullptr && f.boolean("taken");
    return m;
}
Message read_error(Fields& f) {
    Error m;
    m.id = f.maybe_u32("id");
    const auto code =
        f.string("code", [](std::string_view s) { return parse_error_code(s).has_value(); });
    m.code = parse_error_code(code).value_or(ErrorCode::BadRequest);
    m.text = f.string("text", [](std::string_view s) {
        return s.size() <= kMaxErrorTextBytes && is_valid_utf8(s);
    });
    return m;
}
Message read_room_list(Fields& f) {
    RoomList m{f.u32("id"), {}, f.u32("total"), f.maybe_u32("next")};
    const Json* rooms = f.find("rooms");
    if (rooms == nullptr || !rooms->is_array() || rooms->size() > kMaxListEntries) {
        f.string("rooms", [](std::string_view) { return false; }); // records the failure
        return m;
    }
    for (const auto& r : *rooms) {
        if (!r.is_array() || r.size() != 2 || !r[0].is_string() ||
            !is_valid_name(r[0].get_ref<const std::string&>()) || !r[1].is_number_unsigned() ||
            r[1].get<std::uint64_t>() > 0xffffffffULL) {
            f.string("rooms", [](std::string_view) { return false; });
            return m;
        }
        m.rooms.push_back({r[0].get<std::string>(), r[1].get<std::uint32_t>()});
    }
    return m;
}
Message read_user_list(Fields& f) {
    UserList m{f.u32("id"),
               f.optional_string("room", is_valid_name),
               {},
               f.u32("total"),
               f.maybe_u32("next")};
    m.users = f.string_list("users", 0, kMaxListEntries, is_valid_sender);
    return m;
}
Message read_got(Fields& f) {
    return Got{f.token(), f.u32_list("d", kMaxAcksPerGot)};
}
Message read_room_message(Fields& f) {
    return RoomMessage{f.name("room"), f.sender("from"), f.text("text"), f.optional_stamp(),
                       f.maybe_u32("d")};
}
Message read_direct_message(Fields& f) {
    DirectMessage m{f.sender("from"), {}, f.text("text"), f.optional_stamp(), f.maybe_u32("d")};
    m.to = f.string_list("to", 1, kMaxRecipients, is_valid_name);
    return m;
}
Message read_joined(Fields& f) {
    MemberJoined m{f.name("room"), f.sender("name"), std::nullopt};
    m.by = f.optional_string("by", is_valid_name);
    return m;
}
Message read_left(Fields& f) {
    MemberLeft m{f.name("room"), f.sender("name"), LeaveReason::Left};
    const auto reason =
        f.string("reason", [](std::string_view s) { return parse_leave_reason(s).has_value(); });
    m.reason = parse_leave_reason(reason).value_or(LeaveReason::Left);
    return m;
}
Message read_peer_info(Fields& f) {
    PeerInfo m;
    m.name = f.name("name");
    m.public_endpoint = f.endpoint("pub");
    m.private_endpoints = f.endpoint_list("priv");
    m.nonce = f.string("nonce", [](std::string_view s) { return is_lower_hex(s, kNonceHexChars); });
    m.initiator = f.boolean("init");
    m.d = f.maybe_u32("d");
    return m;
}
Message read_shutdown(Fields&) {
    return Shutdown{};
}
std::string read_nonce(Fields& f) {
    return f.string("nonce", [](std::string_view s) { return is_lower_hex(s, kNonceHexChars); });
}
Message read_probe(Fields& f) {
    Probe m{f.name("from"), {}, f.u32("seq")};
    m.nonce = read_nonce(f);
    return m;
}
Message read_probe_ack(Fields& f) {
    ProbeAck m{f.name("from"), {}, f.u32("seq"), f.endpoint("seen")};
    m.nonce = read_nonce(f);
    return m;
}
Message read_peer_text(Fields& f) {
    PeerText m{f.name("from"), {}, f.u32("id"), f.text("text"), f.optional_stamp()};
    m.nonce = read_nonce(f);
    return m;
}
Message read_peer_ack(Fields& f) {
    return PeerAck{read_nonce(f), f.u32("id")};
}

const std::unordered_map<std::string_view, Reader<Message>>& readers() {
    static const std::unordered_map<std::string_view, Reader<Message>> table{
        {Hello::kType, read_hello},
        {Bye::kType, read_bye},
        {Join::kType, read_join},
        {Leave::kType, read_leave},
        {ListRooms::kType, read_rooms},
        {ListUsers::kType, read_users},
        {CreateRoom::kType, read_create},
        {Say::kType, read_say},
        {Direct::kType, read_direct},
        {Connect::kType, read_connect},
        {Got::kType, read_got},
        {Retry::kType, read_retry},
        {Welcome::kType, read_welcome},
        {Ok::kType, read_ok},
        {Error::kType, read_error},
        {RoomList::kType, read_room_list},
        {UserList::kType, read_user_list},
        {RoomMessage::kType, read_room_message},
        {DirectMessage::kType, read_direct_message},
        {MemberJoined::kType, read_joined},
        {MemberLeft::kType, read_left},
        {PeerInfo::kType, read_peer_info},
        {Shutdown::kType, read_shutdown},
        {Probe::kType, read_probe},
        {ProbeAck::kType, read_probe_ack},
        {PeerText::kType, read_peer_text},
        {PeerAck::kType, read_peer_ack},
    };
    return table;
}

// The bare control words: #ping#, #pong# and #who?#. Every one of them, in one place, so
// the exact and the newline-terminated forms cannot disagree (decode_fuzz found both ways).
std::optional<Message> decode_control_word(std::string_view s) {
    if (s == kPing)
        return Ping{};
    if (const std::string_view ping = kPing; s.size() == ping.size() + kHeartbeatTagHexChars &&
                                             s.starts_with(ping) &&
                                             is_lower_hex(s.substr(ping.size()), kHeartbeatTagHexChars))
        return Ping{std::string(s.substr(ping.size()))};
    if (s == kPong)
        return Pong{};
    if (s == kWhoAreYou)
        return WhoAreYou{};
    return std::nullopt;
}

std::string_view strip_line_end(std::string_view s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// A got exactly as encode() writes it, {"v":1,"t":"got","tok":"<32 hex>","d":[7,8]}, read
// without building a JSON tree: a server reads one for every kMaxAcksPerGot deliveries of a
// fan-out, and the tree cost more than the rest of handling it. nullopt for anything else
// (other spacing or key order, escapes, leading zeros, an empty or long list, a value over
// 32 bits): decode_json then decides, so every datagram gets the answer it would get without
// this shortcut (tests and the decode fuzzer check that they agree).
std::optional<Got> decode_got_as_written(std::string_view b) {
    constexpr std::string_view kHead = R"({"v":1,"t":"got","tok":")";
    constexpr std::string_view kMiddle = R"(","d":[)";
    constexpr std::string_view kTail = "]}";
    if (!b.starts_with(kHead) || !b.ends_with(kTail))
        return std::nullopt;
    b.remove_prefix(kHead.size());
    b.remove_suffix(kTail.size());
    if (b.size() < kTokenHexChars || !is_lower_hex(b.substr(0, kTokenHexChars), kTokenHexChars))
        return std::nullopt;
    Got got{std::string(b.substr(0, kTokenHexChars)), {}};
    b.remove_prefix(kTokenHexChars);
    if (!b.starts_with(kMiddle))
        return std::nullopt;
    b.remove_prefix(kMiddle.size()); // now "7,8"
    for (;;) {
        std::size_t digits = 0;
        std::uint64_t value = 0;
        while (digits < b.size() && digits <= 10 && b[digits] >= '0' && b[digits] <= '9')
            value = value * 10 + static_cast<std::uint64_t>(b[digits++] - '0');
        if (digits == 0 || digits > 10 || (digits > 1 && b[0] == '0') || value > 0xffffffffULL ||
            got.d.size() == kMaxAcksPerGot)
            return std::nullopt;
        got.d.push_back(static_cast<DeliveryId>(value));
        b.remove_prefix(digits);
        if (b.empty())
            return got;
        if (b.front() != ',')
            return std::nullopt;
        b.remove_prefix(1);
    }
}

DecodeResult decode_json(std::string_view datagram) {
    const Json obj = Json::parse(datagram.begin(), datagram.end(), nullptr, false);
    if (obj.is_discarded() || !obj.is_object())
        return DecodeError{DropReason::BadJson, "not a single JSON object"};
    const auto v = obj.find("v");
    if (v == obj.end() || !v->is_number_unsigned() || v->get<std::uint64_t>() != kProtocolVersion)
        return DecodeError{DropReason::BadVersion, "v is missing or not 1"};
    const auto t = obj.find("t");
    if (t == obj.end() || !t->is_string())
        return DecodeError{DropReason::BadField, "t: missing or not a string"};
    const auto& type = t->get_ref<const std::string&>();
    const auto reader = readers().find(type);
    if (reader == readers().end())
        return DecodeError{DropReason::UnknownType, "t: " + sanitized_sample(type, 24)};
    if (type == "hello" && datagram.size() < kMinHelloSize)
        return DecodeError{DropReason::ShortHello, "hello shorter than 256 bytes"};
    Fields fields(obj);
    Message m = reader->second(fields);
    if (fields.error())
        return DecodeError{DropReason::BadField, type + "." + fields.error()->detail};
    return m;
}

// ---------- writing ----------

OutJson header(const char* type) {
    OutJson j;
    j["v"] = kProtocolVersion;
    j["t"] = type;
    return j;
}

OutJson string_array(const std::vector<std::string>& items) {
    OutJson a = OutJson::array();
    for (const auto& s : items)
        a.push_back(s);
    return a;
}

OutJson endpoint_array(const std::vector<Endpoint>& items) {
    OutJson a = OutJson::array();
    for (const auto& e : items)
        a.push_back(e.to_string());
    return a;
}

struct Writer {
    OutJson operator()(const Ping&) const { return {}; }
    OutJson operator()(const Pong&) const { return {}; }
    OutJson operator()(const WhoAreYou&) const { return {}; }
    OutJson operator()(const PlainText&) const { return {}; }
    OutJson operator()(const Hello& m) const {
        auto j = header("hello");
        j["name"] = m.name;
        if (!m.private_endpoints.empty())
            j["priv"] = endpoint_array(m.private_endpoints);
        if (m.token)
            j["tok"] = *m.token;
        if (m.cookie)
            j["cookie"] = *m.cookie;
        return j;
    }
    OutJson operator()(const Bye& m) const {
        auto j = header("bye");
        j["tok"] = m.token;
        return j;
    }
    OutJson operator()(const Join& m) const { return room_request("join", m.token, m.id, m.room); }
    OutJson operator()(const Leave& m) const {
        return room_request("leave", m.token, m.id, m.room);
    }
    OutJson operator()(const ListRooms& m) const {
        auto j = request("rooms", m.token, m.id);
        if (m.offset != 0)
            j["offset"] = m.offset;
        return j;
    }
    OutJson operator()(const ListUsers& m) const {
        auto j = request("users", m.token, m.id);
        if (m.room)
            j["room"] = *m.room;
        if (m.offset != 0)
            j["offset"] = m.offset;
        return j;
    }
    OutJson operator()(const CreateRoom& m) const {
        auto j = room_request("create", m.token, m.id, m.room);
        j["members"] = string_array(m.members);
        return j;
    }
    OutJson operator()(const Say& m) const {
        auto j = room_request("say", m.token, m.id, m.room);
        j["text"] = m.text;
        if (m.stamp)
            put_stamp(j, *m.stamp);
        return j;
    }
    OutJson operator()(const Direct& m) const {
        auto j = request("dm", m.token, m.id);
        j["to"] = string_array(m.to);
        j["text"] = m.text;
        if (m.stamp)
            put_stamp(j, *m.stamp);
        return j;
    }
    OutJson operator()(const Got& m) const {
        auto j = header("got");
        j["tok"] = m.token;
        j["d"] = m.d;
        return j;
    }
    OutJson operator()(const Connect& m) const {
        auto j = request("connect", m.token, m.id);
        j["name"] = m.name;
        return j;
    }
    OutJson operator()(const Retry& m) const {
        auto j = header("retry");
        j["cookie"] = m.cookie;
        return j;
    }
    OutJson operator()(const Welcome& m) const {
        auto j = header("welcome");
        j["name"] = m.name;
        j["pub"] = m.public_endpoint.to_string();
        j["tok"] = m.token;
        j["hb"] = m.heartbeat.count();
        j["timeout"] = m.timeout.count();
        return j;
    }
    OutJson operator()(const Ok& m) const {
        auto j = header("ok");
        j["id"] = m.id;
        if (!m.unknown.empty())
            j["unknown"] = string_array(m.unknown);
        if (m.taken)
            j["taken"] = true;
        return j;
    }
    OutJson operator()(const Error& m) const {
        auto j = header("error");
        if (m.id)
            j["id"] = *m.id;
        j["code"] = wire_name(m.code);
        j["text"] = m.text;
        return j;
    }
    OutJson operator()(const RoomList& m) const {
        auto j = header("room_list");
        j["id"] = m.id;
        OutJson rooms = OutJson::array();
        for (const auto& r : m.rooms)
            rooms.push_back(OutJson::array({r.name, r.members}));
        j["rooms"] = std::move(rooms);
        j["total"] = m.total;
        if (m.next)
            j["next"] = *m.next;
        return j;
    }
    OutJson operator()(const UserList& m) const {
        auto j = header("user_list");
        j["id"] = m.id;
        if (m.room)
            j["room"] = *m.room;
        j["users"] = string_array(m.users);
        j["total"] = m.total;
        if (m.next)
            j["next"] = *m.next;
        return j;
    }
    OutJson operator()(const RoomMessage& m) const {
        auto j = header("msg");
        j["room"] = m.room;
        j["from"] = m.from;
        j["text"] = m.text;
        if (m.stamp)
            put_stamp(j, *m.stamp);
        if (m.d)
            j["d"] = *m.d;
        return j;
    }
    OutJson operator()(const DirectMessage& m) const {
        auto j = header("dm_msg");
        j["from"] = m.from;
        j["to"] = string_array(m.to);
        j["text"] = m.text;
        if (m.stamp)
            put_stamp(j, *m.stamp);
        if (m.d)
            j["d"] = *m.d;
        return j;
    }
    OutJson operator()(const MemberJoined& m) const {
        auto j = header("joined");
        j["room"] = m.room;
        j["name"] = m.name;
        if (m.by)
            j["by"] = *m.by;
        return j;
    }
    OutJson operator()(const MemberLeft& m) const {
        auto j = header("left");
        j["room"] = m.room;
        j["name"] = m.name;
        j["reason"] = wire_name(m.reason);
        return j;
    }
    OutJson operator()(const PeerInfo& m) const {
        auto j = header("peer");
        j["name"] = m.name;
        j["pub"] = m.public_endpoint.to_string();
        j["priv"] = endpoint_array(m.private_endpoints);
        j["nonce"] = m.nonce;
        j["init"] = m.initiator;
        if (m.d)
            j["d"] = *m.d;
        return j;
    }
    OutJson operator()(const Shutdown&) const { return header("shutdown"); }
    OutJson operator()(const Probe& m) const {
        auto j = header("probe");
        j["from"] = m.from;
        j["nonce"] = m.nonce;
        j["seq"] = m.seq;
        return j;
    }
    OutJson operator()(const ProbeAck& m) const {
        auto j = header("probe_ack");
        j["from"] = m.from;
        j["nonce"] = m.nonce;
        j["seq"] = m.seq;
        j["seen"] = m.seen.to_string();
        return j;
    }
    OutJson operator()(const PeerText& m) const {
        auto j = header("p2p_msg");
        j["from"] = m.from;
        j["nonce"] = m.nonce;
        j["id"] = m.id;
        j["text"] = m.text;
        if (m.stamp)
            put_stamp(j, *m.stamp);
        return j;
    }
    OutJson operator()(const PeerAck& m) const {
        auto j = header("p2p_ack");
        j["nonce"] = m.nonce;
        j["id"] = m.id;
        return j;
    }

    static void put_stamp(OutJson& j, const Stamp& st) {
        j["inst"] = st.inst;
        j["n"] = st.n;
        j["lo"] = st.lo;
    }
    static OutJson request(const char* type, const Token& token, RequestId id) {
        auto j = header(type);
        j["tok"] = token;
        j["id"] = id;
        return j;
    }
    static OutJson room_request(const char* type, const Token& token, RequestId id,
                                const std::string& room) {
        auto j = request(type, token, id);
        j["room"] = room;
        return j;
    }
};

std::string dump(const OutJson& j) {
    // replace, not throw: values are validated before they get here, and a bug must not
    // turn into an exception in the middle of the event loop.
    return j.dump(-1, ' ', false, OutJson::error_handler_t::replace);
}

} // namespace

DecodeResult decode(std::string_view datagram) {
    if (datagram.size() <= kMaxDatagram)
        if (auto got = decode_got_as_written(datagram)) // ASCII: valid UTF-8
            return *std::move(got);
    return detail::decode_without_shortcuts(datagram);
}

DecodeResult detail::decode_without_shortcuts(std::string_view datagram) {
    if (datagram.size() > kMaxDatagram)
        return DecodeError{DropReason::Oversize, std::to_string(datagram.size()) + " bytes"};
    if (datagram.empty())
        return DecodeError{DropReason::Empty, "zero bytes"};
    if (auto word = decode_control_word(datagram))
        return *word;
    if (!is_valid_utf8(datagram))
        return DecodeError{DropReason::NotUtf8, "invalid UTF-8"};
    if (datagram.front() == '{')
        return decode_json(datagram);
    const auto line = strip_line_end(datagram);
    // A legacy client that ends a control word with a newline still means the control word
    // (plain text could not carry it anyway: it would re-encode as the word).
    if (auto word = decode_control_word(line))
        return *word;
    if (!is_valid_text(line))
        return DecodeError{DropReason::BadField, "plain text: empty, too long or control bytes"};
    return PlainText{std::string(line)};
}

std::string encode(const Message& m) {
    if (const auto* ping = std::get_if<Ping>(&m))
        return kPing + ping->tag;
    if (std::holds_alternative<Pong>(m))
        return kPong;
    if (std::holds_alternative<WhoAreYou>(m))
        return kWhoAreYou;
    if (const auto* p = std::get_if<PlainText>(&m))
        return p->text;
    auto j = std::visit(Writer{}, m);
    if (std::holds_alternative<Hello>(m)) {
        j["pad"] = "";
        const auto unpadded = dump(j).size();
        if (unpadded < kMinHelloSize)
            j["pad"] = std::string(kMinHelloSize - unpadded, '.');
    }
    return dump(j);
}

// Every error code and its wire name, in enum order: wire_name and parse_error_code both
// read this one table, and codec_test walks it.
constexpr std::pair<ErrorCode, std::string_view> kErrorCodes[] = {
    {ErrorCode::NameTaken, "name_taken"},       {ErrorCode::NoSession, "no_session"},
    {ErrorCode::NoSuchRoom, "no_such_room"},    {ErrorCode::NotInRoom, "not_in_room"},
    {ErrorCode::NoSuchUser, "no_such_user"},    {ErrorCode::RoomExists, "room_exists"},
    {ErrorCode::RoomFull, "room_full"},         {ErrorCode::TooManyRooms, "too_many_rooms"},
    {ErrorCode::ServerFull, "server_full"},     {ErrorCode::RateLimited, "rate_limited"},
    {ErrorCode::BadRequest, "bad_request"},     {ErrorCode::NetworkLimit, "network_limit"},
};
static_assert(std::size(kErrorCodes) == static_cast<std::size_t>(ErrorCode::NetworkLimit) + 1,
              "kErrorCodes lists every ErrorCode");

constexpr bool error_codes_in_enum_order() {
    for (std::size_t i = 0; i < std::size(kErrorCodes); ++i)
        if (static_cast<std::size_t>(kErrorCodes[i].first) != i)
            return false;
    return true;
}
static_assert(error_codes_in_enum_order(), "kErrorCodes is indexed by ErrorCode");

std::string_view wire_name(ErrorCode c) {
    const auto i = static_cast<std::size_t>(c);
    return i < std::size(kErrorCodes) ? kErrorCodes[i].second : "bad_request";
}

std::optional<ErrorCode> parse_error_code(std::string_view s) {
    for (const auto& [code, name] : kErrorCodes)
        if (name == s)
            return code;
    return std::nullopt;
}

std::vector<ErrorCode> all_error_codes() {
    std::vector<ErrorCode> out;
    for (const auto& entry : kErrorCodes)
        out.push_back(entry.first);
    return out;
}

std::string_view wire_name(LeaveReason r) {
    switch (r) {
    case LeaveReason::Left:
        return "left";
    case LeaveReason::Quit:
        return "quit";
    case LeaveReason::Timeout:
        return "timeout";
    }
    return "left";
}

std::optional<LeaveReason> parse_leave_reason(std::string_view s) {
    for (auto r : {LeaveReason::Left, LeaveReason::Quit, LeaveReason::Timeout})
        if (wire_name(r) == s)
            return r;
    return std::nullopt;
}

std::string_view type_name(const Message& m) {
    return std::visit([](const auto& v) { return std::decay_t<decltype(v)>::kType; }, m);
}

} // namespace chat::proto
