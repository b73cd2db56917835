// The peer's Logger: one line per event appended to --log-file, prefixed with wall-clock
// time (UTC, milliseconds) and the level. Never stdout (the chat owns it) and never stderr
// (in a terminal it would tear through the input line).
#pragma once

#include "proto/logger.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <string>

namespace chat::peer {

class FileLogger final : public Logger {
  public:
    // Throws std::runtime_error if the file cannot be opened for appending.
    FileLogger(const std::string& path, LogLevel min) : min_(min) {
        file_ = std::fopen(path.c_str(), "a");
        if (file_ == nullptr)
            throw std::runtime_error("cannot open log file " + path);
    }
    FileLogger(const FileLogger&) = delete;
    FileLogger& operator=(const FileLogger&) = delete;
    ~FileLogger() override { std::fclose(file_); }

    bool enabled(LogLevel level) const override { return level >= min_ && min_ != LogLevel::Off; }
    void write(LogLevel level, std::string_view line) override {
        const auto now = std::chrono::system_clock::now();
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
            1000;
        const std::time_t t = std::chrono::system_clock::to_time_t(now);
        std::tm tm{};
        gmtime_r(&t, &tm);
        std::fprintf(file_, "%02d:%02d:%02d.%03d %-5s %.*s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
                     static_cast<int>(ms), std::string(name(level)).c_str(),
                     static_cast<int>(line.size()), line.data());
        std::fflush(file_);
    }

  private:
    LogLevel min_;
    std::FILE* file_ = nullptr;
};

} // namespace chat::peer
