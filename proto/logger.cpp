// Log level names; see logger.hpp.
#include "logger.hpp"

#include <chrono>
#include <ctime>
#include <string>

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

void StreamLogger::write(LogLevel level, std::string_view line) {
    const auto now = std::chrono::system_clock::now();
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::fprintf(stream_, "%02d:%02d:%02d.%03d %-5s %.*s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
                 static_cast<int>(ms), std::string(name(level)).c_str(),
                 static_cast<int>(line.size()), line.data());
    std::fflush(stream_);
}

} // namespace chat
