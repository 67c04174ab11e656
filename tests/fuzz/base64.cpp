// Differential: every base64 encoder this CPU can run (SSSE3, AVX2) against the scalar one and
// OpenSSL's, on the fuzzer's bytes; a difference aborts. Every AMQP message's content goes through
// the one the dispatch picks (connector/sinks/README.md, "Message body").
#include <openssl/evp.h>

#include <cstdlib>
#include <string>

#include "kfc/sinks/base64.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using kfc::sinks::detail::Base64Encoder;
  if (size > (1u << 20)) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // One byte past the end, to catch a write beyond the encoded length.
  std::string expected(kfc::sinks::base64_length(size) + 1, '#');
  kfc::sinks::detail::write_base64_with(Base64Encoder::Scalar, input, expected.data());
  std::string openssl(expected.size(), '#');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(openssl.data()), data, static_cast<int>(size));
  openssl.back() = '#';  // EVP_EncodeBlock writes a terminating NUL there
  if (openssl != expected) std::abort();
  for (auto encoder : {Base64Encoder::Ssse3, Base64Encoder::Avx2}) {
    if (!kfc::sinks::detail::base64_encoder_available(encoder)) continue;
    std::string got(expected.size(), '#');
    kfc::sinks::detail::write_base64_with(encoder, input, got.data());
    if (got != expected) std::abort();
  }
  return 0;
}
