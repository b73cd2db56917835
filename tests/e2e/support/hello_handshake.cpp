// hello_with_cookie and heartbeat; see hello_handshake.hpp.
#include "hello_handshake.hpp"

#include "proto/codec.hpp"
#include "proto/heartbeat_tag.hpp"

namespace chat::e2e {

namespace {
using Clock = std::chrono::steady_clock;
} // namespace

std::optional<proto::Message>
hello_with_cookie(UdpClient& socket, std::uint16_t port, proto::Hello hello,
                  const HelloTries& tries, const std::function<void(const std::string&)>& other) {
    hello.cookie = std::nullopt;
    int retries = 0;
    for (int sent = 0; sent < tries.sends;) {
        socket.send(port, proto::encode(hello));
        ++sent;
        const auto deadline = Clock::now() + tries.wait;
        bool resend = false;
        while (!resend) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            const auto bytes =
                left > std::chrono::milliseconds::zero() ? socket.receive(left) : std::nullopt;
            if (!bytes)
                break; // silence: send the hello again, if tries are left
            auto decoded = proto::decode(*bytes);
            auto* m = std::get_if<proto::Message>(&decoded);
            const bool answer = m != nullptr && (std::holds_alternative<proto::Welcome>(*m) ||
                                                 std::holds_alternative<proto::Error>(*m));
            if (answer)
                return std::move(*m);
            if (other)
                other(*bytes);
            if (const auto* r = m != nullptr ? std::get_if<proto::Retry>(m) : nullptr) {
                if (retries++ == tries.retries)
                    return std::nullopt; // the server keeps refusing our cookies
                hello.cookie = r->cookie;
                --sent; // the answer to a retry is not a new try
                resend = true;
            }
        }
    }
    return std::nullopt;
}

std::string heartbeat(const proto::Token& token) {
    return proto::kPing + proto::heartbeat_tag(token);
}

} // namespace chat::e2e
