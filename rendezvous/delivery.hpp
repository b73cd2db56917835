// Reliable fan-out: the server's half of "Reliable delivery" in proto/PROTOCOL.md. It owns
// every chat line still being delivered, each member's deliveries in flight (by delivery id
// `d`, with that member's RFC 6298 timer), the deadlines that resend or give them up, and the
// last finished request ids of each author, so a resent say/dm is answered, not repeated.
//
// The central idea: a line is encoded once, without `d`; each member's datagram is that
// encoding with `,"d":N}` spliced onto its end (with_delivery_id). A line's author is owed
// `ok` when its last delivery is acked or given up. Deadlines sit in an index keyed by member,
// so a tick touches only members with something due. A member's deliveries are a vector in
// d order, so the fan-out's hot path (a delivery added, then acked in a got) allocates
// nothing per delivery: deliveries sent once all wait the member's current RTO, so the
// oldest is due first; only resent ones (a loss) need a scan.
//
// Kept apart from Peer, in an array indexed by the member's slot (peer_id.hpp): the fan-out
// touches one member after another, so this is an index, not a hash lookup and a pointer
// chase per delivery. A member keeps its record (~90 bytes, its RTT estimate and a small
// flight buffer) between lines, so a quiet spell does not reset its RTO to 1 s and the next
// line allocates nothing; the record goes when its session ends. Every table is bounded (by
// the peer table's slots; deliveries per member and in all, lines, remembered ids). Nothing
// here reads a clock, encodes a Message or knows an address: the Server sends what these
// calls return.
#pragma once

#include "expiry_index.hpp"

#include "proto/message.hpp"
#include "proto/rto.hpp"
#include "proto/time.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace chat::rdv {

// Protocol constants (see "Reliable delivery" in PROTOCOL.md).
inline constexpr std::size_t kMaxInFlightPerMember = 256; // then: sent once, without d
inline constexpr std::size_t kMaxInFlight = 1024 * kMaxInFlightPerMember; // 262,144 server-wide
inline constexpr std::size_t kFinishedIdsKept = 64; // per session: a resend gets ok again
// Implementation constants.
// Lines being delivered, each holding its encoding (up to kMaxDatagram bytes): 64 Ki lines
// cap that at ~80 MB even if every line has a single slow member. Then: sent once, without d.
inline constexpr std::size_t kMaxLinesInFlight = 65'536;
// The longest `,"d":N` splice: N is a u32, at most 10 digits. A line is refused (bad_request)
// unless its encoding plus this still fits kMaxDatagram.
inline constexpr std::size_t kDeliveryIdBytes = 15; // ,"d":4294967295
// An author resends a line only within kDeliveryDeadline of typing it, which is before the
// server finished it, so its finished ids are useless after that; 5 s covers a slow path.
inline constexpr Duration kFinishedKeptFor = proto::kDeliveryDeadline + std::chrono::seconds{5};

using LineId = std::uint64_t;

struct AuthorRequest { // who is owed the ok, and for which request
    PeerId author = 0;
    proto::RequestId id = 0;
    friend auto operator<=>(const AuthorRequest&, const AuthorRequest&) = default;
};

struct DeliveryCounters {
    std::uint64_t reliable = 0;   // first sends with a d
    std::uint64_t resent = 0;     // sends again after an RTO
    std::uint64_t given_up = 0;   // unacked after kDeliveryDeadline, or the member left
    std::uint64_t unreliable = 0; // JSON members sent a line once without d: over a bound
    std::uint64_t acked = 0;      // deliveries a got acknowledged
};

// The datagram for one member: `json` (a msg or dm_msg encoded without "d", so ending in
// '}') with `,"d":N` before its closing brace. Same bytes as encoding the message with d.
std::string with_delivery_id(std::string_view json, proto::DeliveryId d);
// The same, appended to `out` (a fan-out writes each member's copy straight into its Outbox).
void append_with_delivery_id(std::string& out, std::string_view json, proto::DeliveryId d);

class Deliveries {
  public:
    struct Limits {
        std::size_t per_member = kMaxInFlightPerMember;
        std::size_t in_all = kMaxInFlight;
        std::size_t lines = kMaxLinesInFlight;
    };
    // What a call asks the Server to send: datagrams again, and oks that are now due.
    struct Resend {
        PeerId member;
        std::string bytes;
    };
    struct Done {
        AuthorRequest request;
        std::vector<std::string> unknown; // dm: names not online at fan-out
    };
    struct Output {
        std::vector<Resend> resends;
        std::vector<Done> done;
    };
    // One line between open_line and close_line.
    struct Fanout {
        std::optional<AuthorRequest> request; // absent: a legacy author, nobody awaits an ok
        bool reliable = false;                // false: no stamp, so no d either
        std::optional<LineId> line;           // absent while reliable: the line table is full
        std::vector<std::string> unknown;
        std::uint32_t added = 0; // deliveries add() started
    };
    enum class Status : std::uint8_t { New, Delivering, Finished };

    // `first_id`: the first delivery id handed out (tests start near the u32 wrap).
    explicit Deliveries(Limits limits, proto::DeliveryId first_id = 1)
        : limits_(limits), next_d_(first_id) {}

    // Author side. Where a say/dm with this id stands: ignore it while Delivering, answer ok
    // again once Finished, fan it out if New.
    Status status(PeerId author, proto::RequestId id) const;
    // Starts a line. `json` is what each member gets, without d. A line without a stamp is
    // not `reliable`: receivers could not drop a resend of it, so it is sent once, as before.
    Fanout open_line(std::optional<AuthorRequest> request, const std::string& json,
                     std::vector<std::string> unknown, bool reliable);
    // A delivery to one JSON member: its d, or nullopt to send the line once without one
    // (not reliable, or over a bound: then counted as unreliable).
    std::optional<proto::DeliveryId> add(Fanout& f, PeerId member, Time now);
    // Every member is added: the ok is due now if there is nothing to wait for.
    void close_line(Fanout&& f, Time now, Output& out);

    // Member side: a got from `member`. Each acked delivery that was sent once gives its RTT
    // sample (Karn); ids not in flight (acked, given up, never sent) are ignored.
    void on_got(PeerId member, std::span<const proto::DeliveryId> ids, Time now, Output& out);
    // Resends and give-ups that are due by `now`; harmless if early.
    void on_tick(Time now, Output& out);
    // The earliest resend or give-up (or forgetting of an author's finished ids).
    std::optional<Time> next_deadline() const;

    // A session ended (bye, eviction, replaced): its deliveries are given up now, and its own
    // lines are forgotten (their members still get them; nobody gets the ok).
    void end_session(PeerId id, Time now, Output& out);

    const DeliveryCounters& counters() const { return counters_; }
    std::size_t in_flight() const { return in_flight_; }
    std::size_t lines() const { return lines_.size(); }
    std::size_t members() const { return active_members_; } // those with flights

  private:
    struct Line {
        std::optional<AuthorRequest> request; // cleared when the author's session ends
        std::string json;                     // the line without d, for resends
        std::vector<std::string> unknown;
        std::uint32_t pending = 0; // deliveries in flight
    };
    struct Flight {
        LineId line = 0; // 0: a hole, acked or given up, until compacted away
        proto::DeliveryId d = 0;
        std::uint32_t sends = 1; // > 1: resent, so no RTT sample (Karn)
        Time first_sent{};
        Time due{}; // resent only: the next resend or give-up (sent once: first_sent + RTO)
    };
    struct Member {
        PeerId id = 0;               // 0: a free record (its slot's session has ended)
        proto::RttEstimator rtt;     // initial RTO 1 s
        std::vector<Flight> flights; // in d order; holes only kept up to live + kSlack
        std::size_t head = 0;        // the first live flight
        std::uint32_t live = 0;      // <= Limits::per_member
        std::uint32_t resent = 0;    // live flights with sends > 1
        Time armed{};                // the deadline in due_: the earliest live flight's
    };
    static constexpr std::size_t kSlack = 16; // holes a member keeps before compacting
    // Flight capacity an idle member keeps (512 bytes); a larger buffer is freed when it
    // goes idle, so 100,000 idle members hold at most ~60 MB, and usually far less.
    static constexpr std::size_t kIdleFlights = 16;
    struct Recent { // the last kFinishedIdsKept finished request ids of one author
        std::vector<proto::RequestId> ids;
        std::size_t next = 0; // ring position once full
    };

    static Time due_of(const Member& m, const Flight& f);
    static Time earliest(const Member& m);
    static Flight* find(Member& m, proto::DeliveryId d);
    Member* find_member(PeerId id);     // nullptr unless it has a record
    Member& member_record(PeerId id);   // found, or made for this session
    void go_idle(PeerId id, Member& m); // its last flight ended
    void settle(PeerId id, Member& m);  // after holes were made: tidy, re-arm or free it
    void release(LineId id, Time now, Output& out); // one delivery of the line is done
    void remember_finished(const AuthorRequest& r, Time now);

    Limits limits_;
    std::unordered_map<LineId, Line> lines_;     // <= Limits::lines
    std::map<AuthorRequest, LineId> delivering_; // lines whose author awaits the ok
    std::vector<Member> members_;                // by slot; idle members keep theirs
    std::size_t active_members_ = 0;             // members with a live flight
    ExpiryIndex due_;                            // each member's earliest deadline
    std::unordered_map<PeerId, Recent> recent_;  // authors with a recent finished line
    ExpiryIndex recent_expiry_;                  // forget them this long after
    std::size_t in_flight_ = 0;                  // <= Limits::in_all
    LineId next_line_ = 1;
    // One server-wide counter: a member's ids increase and are unique without keeping any
    // per-member state between lines. It wraps after 2^32 deliveries (hours at full load),
    // long after any delivery that could share its id is over (they live 30 s).
    proto::DeliveryId next_d_ = 1;
    DeliveryCounters counters_;
};

} // namespace chat::rdv
