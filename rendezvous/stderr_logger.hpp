// The rendezvous's Logger: one line per event on stderr, prefixed with wall-clock time (UTC,
// milliseconds) and the level, e.g. "12:04:31.207 info  evicted name=bob idle=10.0s".
#pragma once

#include "proto/logger.hpp"

namespace chat::rdv {

class StderrLogger final : public StreamLogger {
  public:
    explicit StderrLogger(LogLevel min) : StreamLogger(stderr, min) {}
};

} // namespace chat::rdv
