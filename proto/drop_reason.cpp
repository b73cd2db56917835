// Names for DropReason; the switch has no default so -Wswitch flags a missing case.
#include "drop_reason.hpp"

namespace chat::proto {

std::string_view name(DropReason r) {
    switch (r) {
    case DropReason::Oversize:
        return "oversize";
    case DropReason::Empty:
        return "empty";
    case DropReason::NotUtf8:
        return "not_utf8";
    case DropReason::BadJson:
        return "bad_json";
    case DropReason::BadVersion:
        return "bad_version";
    case DropReason::UnknownType:
        return "unknown_type";
    case DropReason::BadField:
        return "bad_field";
    case DropReason::ShortHello:
        return "short_hello";
    case DropReason::NotRegistered:
        return "not_registered";
    case DropReason::BadToken:
        return "bad_token";
    case DropReason::BadHeartbeat:
        return "bad_heartbeat";
    case DropReason::RateLimited:
        return "rate_limited";
    case DropReason::PlaintextOff:
        return "plaintext_off";
    case DropReason::TableFull:
        return "table_full";
    case DropReason::WrongDirection:
        return "wrong_direction";
    case DropReason::Count:
        break;
    }
    return "unknown";
}

std::uint64_t DropCounters::total() const {
    std::uint64_t sum = 0;
    for (auto v : n_)
        sum += v;
    return sum;
}

} // namespace chat::proto
