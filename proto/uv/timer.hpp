// A one-shot or repeating libuv timer calling a std::function.
#pragma once

#include "handle.hpp"

#include <chrono>
#include <functional>

namespace chat::uvpp {

class Timer {
  public:
    explicit Timer(uv_loop_t* loop) : h_(uv_timer_init, loop) { h_.get()->data = this; }
    // Fires once after `delay` (clamped at 0), replacing any earlier arming.
    void start(std::chrono::milliseconds delay, std::function<void()> cb,
               std::chrono::milliseconds repeat = std::chrono::milliseconds{0}) {
        cb_ = std::move(cb);
        const auto ms = delay.count() < 0 ? 0 : delay.count();
        check(uv_timer_start(h_.get(), &Timer::on_fire, static_cast<std::uint64_t>(ms),
                             static_cast<std::uint64_t>(repeat.count())),
              "uv_timer_start");
    }
    void stop() { uv_timer_stop(h_.get()); }
    void close() { h_.close(); }

  private:
    static void on_fire(uv_timer_t* t) {
        if (auto* self = static_cast<Timer*>(t->data); self != nullptr && self->cb_)
            self->cb_();
    }
    Handle<uv_timer_t> h_;
    std::function<void()> cb_;
};

// Calls back on a signal (SIGINT, SIGTERM) from the loop, not from a signal handler.
class Signal {
  public:
    explicit Signal(uv_loop_t* loop) : h_(uv_signal_init, loop) { h_.get()->data = this; }
    void start(int signum, std::function<void(int)> cb) {
        cb_ = std::move(cb);
        check(uv_signal_start(h_.get(), &Signal::on_signal, signum), "uv_signal_start");
    }
    void close() { h_.close(); }

  private:
    static void on_signal(uv_signal_t* s, int signum) {
        if (auto* self = static_cast<Signal*>(s->data); self != nullptr && self->cb_)
            self->cb_(signum);
    }
    Handle<uv_signal_t> h_;
    std::function<void(int)> cb_;
};

} // namespace chat::uvpp
