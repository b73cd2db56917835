// The logging interface cores write through. Cores never print: the shells own stderr, and
// tests pass a capturing logger they can inspect. One line per event: an event word and
// key=value pairs (the shell adds the time and level).
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace chat {

enum class LogLevel { Debug, Info, Warn, Error, Off };

std::optional<LogLevel> parse_log_level(std::string_view s); // debug|info|warn|error|off
std::string_view name(LogLevel l);

class Logger {
  public:
    virtual ~Logger() = default;
    virtual bool enabled(LogLevel level) const = 0;
    virtual void write(LogLevel level, std::string_view line) = 0;

    void debug(std::string_view line) { log(LogLevel::Debug, line); }
    void info(std::string_view line) { log(LogLevel::Info, line); }
    void warn(std::string_view line) { log(LogLevel::Warn, line); }
    void error(std::string_view line) { log(LogLevel::Error, line); }
    void log(LogLevel level, std::string_view line) {
        if (enabled(level))
            write(level, line);
    }
};

// Writes each line to a stdio stream as "HH:MM:SS.mmm level line" (UTC wall-clock time):
// for the shells only. Cores never read a clock; this logger does, where the line is written.
class StreamLogger : public Logger {
  public:
    StreamLogger(std::FILE* stream, LogLevel min) : stream_(stream), min_(min) {}
    bool enabled(LogLevel level) const override { return level >= min_ && min_ != LogLevel::Off; }
    void write(LogLevel level, std::string_view line) override;

  protected:
    std::FILE* stream_;

  private:
    LogLevel min_;
};

// Discards everything: for code paths that need a Logger& but nobody reads it.
class NullLogger final : public Logger {
  public:
    bool enabled(LogLevel) const override { return false; }
    void write(LogLevel, std::string_view) override {}
};

} // namespace chat
