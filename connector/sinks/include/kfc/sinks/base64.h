#pragma once
// Standard base64 with padding (RFC 4648, Python's base64.b64encode): every AMQP message's content.
// Three encoders write the same bytes: the scalar one everywhere, and on x86-64 one with SSSE3 and
// one with AVX2, chosen once at run time by what the CPU supports (connector/sinks/README.md,
// "Message body").
#include <cstddef>
#include <string>
#include <string_view>

namespace kfc::sinks {

// 4 * ceil(size / 3): the encoded length of `size` bytes.
constexpr std::size_t base64_length(std::size_t size) { return 4 * ((size + 2) / 3); }

// Writes base64_length(data.size()) characters at `out` with the fastest encoder the CPU has.
void write_base64(std::string_view data, char* out);

namespace detail {

enum class Base64Encoder { Scalar, Ssse3, Avx2 };

// Whether this build and this CPU can run `encoder` (Scalar always can).
bool base64_encoder_available(Base64Encoder encoder);
// The encoder the dispatch picks on this CPU.
Base64Encoder base64_encoder_in_use();
// write_base64 with a given encoder (for the tests that compare them); it must be available.
void write_base64_with(Base64Encoder encoder, std::string_view data, char* out);

}  // namespace detail
}  // namespace kfc::sinks
