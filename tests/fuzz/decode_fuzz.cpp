// libFuzzer target: proto::decode on arbitrary bytes. It must never crash, throw or leak,
// whatever it accepts must survive encode -> decode unchanged in type, and its shortcut for
// gots must agree with the general decoder.
#include "proto/codec.hpp"

#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace chat::proto;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    auto result = decode(bytes);
    const auto general = detail::decode_without_shortcuts(bytes);
    if (general.index() != result.index()) std::abort();
    const auto* msg = std::get_if<Message>(&result);
    if (msg == nullptr) return 0;
    const auto& msg_general = std::get<Message>(general);
    if (msg_general.index() != msg->index()) std::abort();
    if (const auto* got = std::get_if<Got>(msg)) {
        const auto& other = std::get<Got>(msg_general);
        if (got->token != other.token || got->d != other.d) std::abort();
    }
    const std::string again = encode(*msg);
    auto second = decode(again);
    const auto* msg2 = std::get_if<Message>(&second);
    // Everything decode accepts re-encodes to something decode accepts as the same type.
    // (A legacy plain line is re-encoded without its line ending, which is the same text.)
    if (msg2 == nullptr || msg2->index() != msg->index()) std::abort();
    return 0;
}
