// The event loop, owned: init in the constructor; close() runs the loop until every
// handle's close callback has run and reports whether uv_loop_close succeeded.
#pragma once

#include "handle.hpp"

namespace chat::uvpp {

class Loop {
  public:
    Loop() { check(uv_loop_init(&loop_), "uv_loop_init"); }
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;
    ~Loop() { (void)close(); }

    uv_loop_t* get() { return &loop_; }
    int run() { return uv_run(&loop_, UV_RUN_DEFAULT); }
    void stop() { uv_stop(&loop_); }
    std::uint64_t now() const { return uv_now(&loop_); }

    // Call after every Handle is destroyed: finishes their closes; true if the loop closed.
    bool close() {
        if (closed_)
            return true;
        uv_run(&loop_, UV_RUN_DEFAULT); // runs pending close callbacks
        closed_ = uv_loop_close(&loop_) == 0;
        return closed_;
    }

  private:
    uv_loop_t loop_{};
    bool closed_ = false;
};

} // namespace chat::uvpp
