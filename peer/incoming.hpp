// The receiving side of reliable delivery: chat lines arrive lost, twice or out of order
// (resends, the direct path and the relay carrying the same line, a replay to a restarted
// server); this shows each author's lines once and in order. Lines are keyed by their stamp
// (author, inst, stream, n; see "Reliable delivery" in proto/PROTOCOL.md). A line above the
// next expected n is held until the gap fills, a later stamp's `lo` says the missing lines
// are settled, or kHoldAtMost passes; a missing line that turns up after that is shown late.
// Pure: the caller passes `now` and shows what comes back.
#pragma once

#include "events.hpp"

#include "proto/message.hpp"
#include "proto/time.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace chat::peer {

class IncomingLines {
  public:
    static constexpr Duration kHoldAtMost = std::chrono::seconds{10}; // for a missing line
    static constexpr std::size_t kMaxStreams = 1024;   // least recently used forgotten first
    static constexpr std::size_t kMaxHeld = 256;       // per stream (5 s of a fast direct stream);
                                                       // then the gap is given up
    static constexpr std::size_t kMaxHeldTotal = 2048; // across streams: a flood of forged
                                                       // gaps cannot hold much memory
    static constexpr std::size_t kMaxSkipped = 256;    // given-up n remembered to show late

    // A stamped line (ui::Message or ui::Direct) from `author`; `stream` is "#room" or
    // "@names". Appends what may be shown now, in order, to `show`. Duplicates add nothing.
    void on_line(const std::string& author, const std::string& stream, const proto::Stamp& st,
                 UiEvent line, Time now, std::vector<UiEvent>& show);
    // Releases lines held for kHoldAtMost.
    void on_tick(Time now, std::vector<UiEvent>& show);
    std::optional<Time> next_wakeup() const;
    // Forgets every author's state for `stream` (after /join or /leave of that room).
    void forget_stream(const std::string& stream);

    std::uint64_t duplicates() const { return duplicates_; }
    std::uint64_t late() const { return late_; }

  private:
    struct Held {
        UiEvent line;
        Time arrived;
    };
    struct Stream {
        std::uint32_t next = 0;             // the n shown next; 0: nothing seen yet
        std::map<std::uint32_t, Held> held; // above `next`, waiting for the gap
        std::set<std::uint32_t> skipped;    // below `next`, never shown: show late if they come
        Time used;
    };
    using Key = std::tuple<std::string, std::string, std::string>; // author, inst, stream

    Stream& stream_for(const Key& key, Time now);
    void settle_below(Stream& s, std::uint32_t lo, std::vector<UiEvent>& show);
    void show_ready(Stream& s, std::vector<UiEvent>& show);
    void release_all(Stream& s, std::vector<UiEvent>& show);
    void remember_skipped(Stream& s, std::uint32_t n);

    std::map<Key, Stream> streams_;
    std::size_t held_total_ = 0;
    std::uint64_t duplicates_ = 0;
    std::uint64_t late_ = 0;
};

// Delivery ids (`d`) from the server to acknowledge with `got`, a few at a time: one `got`
// per 200 ms at most, so acks stay well inside the server's per-session rate limit.
class PendingAcks {
  public:
    static constexpr Duration kDelay = std::chrono::milliseconds{200};

    void add(proto::DeliveryId d, Time now);
    // The ids to ack now (up to kMaxAcksPerGot), if the batch is full or has waited kDelay.
    std::vector<proto::DeliveryId> take_due(Time now);
    std::optional<Time> next_wakeup() const { return due_; }
    void clear() {
        ids_.clear();
        due_.reset();
    }
    // An unstamped line (a legacy client's) can only be deduplicated by its delivery id.
    bool seen_before(proto::DeliveryId d);

  private:
    std::vector<proto::DeliveryId> ids_;
    std::optional<Time> due_;
    std::set<proto::DeliveryId> recent_; // unstamped deliveries, bounded
};

} // namespace chat::peer
