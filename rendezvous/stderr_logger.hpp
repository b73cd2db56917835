// The shells' Logger: one line per event on stderr, prefixed with wall-clock time (UTC,
// milliseconds) and the level, e.g. "12:04:31.207 info  evicted name=bob idle=10.0s".
#pragma once

#include "proto/logger.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace chat::rdv {

class StderrLogger final : public Logger {
  public:
    explicit StderrLogger(LogLevel min) : min_(min) {}
    bool enabled(LogLevel level) const override { return level >= min_ && min_ != LogLevel::Off; }
    void write(LogLevel level, std::string_view line) override {
        const auto now = std::chrono::system_clock::now();
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
            1000;
        const std::time_t t = std::chrono::system_clock::to_time_t(now);
        std::tm tm{};
        gmtime_r(&t, &tm);
        std::fprintf(stderr, "%02d:%02d:%02d.%03d %-5s %.*s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
                     static_cast<int>(ms), std::string(name(level)).c_str(),
                     static_cast<int>(line.size()), line.data());
    }

  private:
    LogLevel min_;
};

} // namespace chat::rdv
