// Log level names; see logger.hpp.
#include "logger.hpp"

namespace chat {

std::optional<LogLevel> parse_log_level(std::string_view s) {
    for (auto l : {LogLevel::Debug, LogLevel::Info, LogLevel::Warn, LogLevel::Error, LogLevel::Off})
        if (name(l) == s)
            return l;
    return std::nullopt;
}

std::string_view name(LogLevel l) {
    switch (l) {
    case LogLevel::Debug:
        return "debug";
    case LogLevel::Info:
        return "info";
    case LogLevel::Warn:
        return "warn";
    case LogLevel::Error:
        return "error";
    case LogLevel::Off:
        return "off";
    }
    return "info";
}

} // namespace chat
