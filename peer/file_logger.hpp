// The peer's Logger: one line per event appended to --log-file, prefixed with wall-clock
// time (UTC, milliseconds) and the level. Never stdout (the chat owns it) and never stderr
// (in a terminal it would tear through the input line).
#pragma once

#include "proto/logger.hpp"

#include <cstdio>
#include <stdexcept>
#include <string>

namespace chat::peer {

class FileLogger final : public StreamLogger {
  public:
    // Throws std::runtime_error if the file cannot be opened for appending.
    FileLogger(const std::string& path, LogLevel min)
        : StreamLogger(std::fopen(path.c_str(), "a"), min) {
        if (stream_ == nullptr)
            throw std::runtime_error("cannot open log file " + path);
    }
    FileLogger(const FileLogger&) = delete;
    FileLogger& operator=(const FileLogger&) = delete;
    ~FileLogger() override { std::fclose(stream_); }
};

} // namespace chat::peer
