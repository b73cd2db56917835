// RAII for libuv handles. A handle lives on the heap because libuv keeps writing to it
// after uv_close() until the close callback runs; that callback deletes it, and the
// destructor only starts the close. Handles cannot move (libuv holds their address).
#pragma once

#include <uv.h>

#include <stdexcept>
#include <string>

namespace chat::uvpp {

class UvError : public std::runtime_error {
  public:
    UvError(const std::string& what, int code)
        : std::runtime_error(what + ": " + uv_strerror(code)), code_(code) {}
    int code() const { return code_; }

  private:
    int code_;
};

inline void check(int rc, const char* what) {
    if (rc < 0)
        throw UvError(what, rc);
}

template <typename T> class Handle {
  public:
    template <typename Init, typename... Args>
    Handle(Init init, uv_loop_t* loop, Args... args) : h_(new T{}) {
        if (const int rc = init(loop, h_, args...); rc < 0) {
            delete h_; // the loop never saw it, so a plain delete is right
            throw UvError("uv init", rc);
        }
    }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle() { close(); }

    T* get() const { return h_; }
    uv_handle_t* raw() const { return reinterpret_cast<uv_handle_t*>(h_); }
    void close() { // idempotent
        if (h_ == nullptr)
            return;
        h_->data = nullptr; // callbacks still queued must not reach a dead owner
        uv_close(raw(), [](uv_handle_t* handle) { delete reinterpret_cast<T*>(handle); });
        h_ = nullptr;
    }

  private:
    T* h_;
};

} // namespace chat::uvpp
