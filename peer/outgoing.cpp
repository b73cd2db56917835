// See outgoing.hpp.
#include "outgoing.hpp"

#include <algorithm>

namespace chat::peer {

std::string OutgoingLines::direct_stream(std::vector<std::string> to) {
    std::sort(to.begin(), to.end());
    std::string s = "@";
    for (const auto& name : to)
        s += (s.size() > 1 ? "," : "") + name;
    return s;
}

OutLine& OutgoingLines::add(std::optional<std::string> room, std::vector<std::string> to,
                            std::string text, Time now) {
    OutLine line;
    line.key = next_key_++;
    line.stream = room ? room_stream(*room) : direct_stream(to);
    line.room = std::move(room);
    line.to = std::move(to);
    line.text = std::move(text);
    line.n = ++last_n_[line.stream];
    line.typed = now;
    return lines_.emplace(line.key, std::move(line)).first->second;
}

proto::Stamp OutgoingLines::stamp(const OutLine& line) const {
    // lo: the oldest line of this stream not yet settled (this one at the latest).
    return proto::Stamp{inst_, line.n, lowest_unsettled(line.stream, line.n)};
}

std::uint32_t OutgoingLines::lowest_unsettled(const std::string& stream,
                                              std::uint32_t otherwise) const {
    std::uint32_t lo = otherwise;
    for (const auto& [key, other] : lines_)
        if (other.stream == stream)
            lo = std::min(lo, other.n);
    return lo;
}

OutLine* OutgoingLines::find(std::uint64_t key) {
    const auto it = lines_.find(key);
    return it == lines_.end() ? nullptr : &it->second;
}

OutLine* OutgoingLines::by_request(proto::RequestId id) {
    for (auto& [key, line] : lines_)
        if (line.request == id)
            return &line;
    return nullptr;
}

OutLine* OutgoingLines::by_p2p(std::uint32_t id) {
    for (auto& [key, line] : lines_)
        if (line.p2p_id == id)
            return &line;
    return nullptr;
}

std::size_t OutgoingLines::relayed_in_flight() const {
    return static_cast<std::size_t>(std::count_if(lines_.begin(), lines_.end(), [](const auto& e) {
        return e.second.request.has_value() && !e.second.taken;
    }));
}

std::optional<Time> OutgoingLines::next_wakeup() const {
    std::optional<Time> wake;
    auto consider = [&wake](std::optional<Time> t) {
        if (t && (!wake || *t < *wake))
            wake = t;
    };
    for (const auto& [key, line] : lines_) {
        consider(line.deadline());
        consider(line.relay_due);
        consider(line.p2p_due);
    }
    return wake;
}

} // namespace chat::peer
