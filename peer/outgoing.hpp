// The author's side of reliable delivery: every chat line we typed, from the moment it is
// typed until it is settled: acknowledged as delivered (`ok` from the server once every
// member has it, or `p2p_ack` from the peer), refused (`error`), or given up 30 s after it
// was typed. It numbers lines per stream (the stamp's n), computes each stream's `lo`, and
// keeps the per-line send state; Client decides when and where to send. Pure bookkeeping.
#pragma once

#include "proto/message.hpp"
#include "proto/rto.hpp"
#include "proto/time.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace chat::peer {

struct OutLine {
    std::uint64_t key = 0;           // typing order
    std::string stream;              // "#room" or "@name[,name...]" (sorted)
    std::optional<std::string> room; // a room line
    std::vector<std::string> to;     // a direct line's recipients, as typed
    std::string text;
    std::uint32_t n = 0;
    Time typed{};
    bool queued = false; // typed while the server was unreachable: shown as pending

    // Through the rendezvous (say / dm).
    std::optional<proto::RequestId> request; // in flight to the server with this id
    unsigned relay_tries = 0;
    Time relay_sent{};
    std::optional<Time> relay_due; // resend then
    bool taken = false;            // the server has it and is delivering it (ok{taken})

    // Over the direct path (p2p_msg), for a line to one peer with a direct path up.
    std::optional<std::uint32_t> p2p_id;
    unsigned p2p_tries = 0;
    Time p2p_sent{};
    std::optional<Time> p2p_due;

    Time deadline() const { return typed + proto::kDeliveryDeadline; }
    bool direct() const { return !room.has_value(); }
};

class OutgoingLines {
  public:
    static constexpr std::size_t kMaxLines = 512;    // typed and unsettled; then refuse more
    static constexpr std::size_t kRelayWindow = 16;  // say/dm in flight to the server at once
    // A line goes over the direct path first only while its n is within kDirectWindow of
    // its stream's lowest unsettled line. It bounds the span, not the count of unacked
    // lines: the receiver holds every line above a missing one, acked or not, so one line
    // stuck on its way through the relay must stop the stream well below
    // IncomingLines::kMaxHeld.
    static constexpr std::uint32_t kDirectWindow = 64;

    explicit OutgoingLines(std::string inst) : inst_(std::move(inst)) {}

    static std::string room_stream(const std::string& room) { return "#" + room; }
    static std::string direct_stream(std::vector<std::string> to);

    bool full() const { return lines_.size() >= kMaxLines; }
    OutLine& add(std::optional<std::string> room, std::vector<std::string> to, std::string text,
                 Time now);
    proto::Stamp stamp(const OutLine& line) const;
    const std::string& inst() const { return inst_; }

    OutLine* find(std::uint64_t key);
    OutLine* by_request(proto::RequestId id);
    OutLine* by_p2p(std::uint32_t id);
    void settle(std::uint64_t key) { lines_.erase(key); }

    std::size_t relayed_in_flight() const; // sent to the server, not yet taken
    // The n of the stream's oldest unsettled line (the stamp's lo), or `otherwise` if none.
    std::uint32_t lowest_unsettled(const std::string& stream, std::uint32_t otherwise) const;
    bool within_direct_window(const OutLine& line) const {
        return line.n < lowest_unsettled(line.stream, line.n) + kDirectWindow;
    }
    bool empty() const { return lines_.empty(); }
    std::size_t size() const { return lines_.size(); }
    std::map<std::uint64_t, OutLine>& lines() { return lines_; }
    const std::map<std::uint64_t, OutLine>& lines() const { return lines_; }
    std::optional<Time> next_wakeup() const;

  private:
    std::string inst_;
    std::map<std::uint64_t, OutLine> lines_;
    std::map<std::string, std::uint32_t> last_n_; // per stream
    std::uint64_t next_key_ = 1;
};

} // namespace chat::peer
