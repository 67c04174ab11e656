#include "kfc/sinks/base64.h"

#include <array>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#define KFC_BASE64_X86 1
#include <immintrin.h>
#endif

namespace kfc::sinks {
namespace {

using Encoder = void (*)(const unsigned char* in, std::size_t size, char* out);

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Two output characters per table lookup (kPairs[v] for a 12-bit value v), then the padded tail.
void encode_scalar(const unsigned char* in, std::size_t size, char* out) {
  static const std::array<std::array<char, 2>, 4096> kPairs = [] {
    std::array<std::array<char, 2>, 4096> pairs{};
    for (std::size_t v = 0; v < pairs.size(); ++v) pairs[v] = {kAlphabet[v >> 6], kAlphabet[v & 63]};
    return pairs;
  }();
  std::size_t i = 0;
  for (; i + 3 <= size; i += 3, out += 4) {
    const std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
    std::memcpy(out, kPairs[v >> 12].data(), 2);
    std::memcpy(out + 2, kPairs[v & 0xFFF].data(), 2);
  }
  if (const std::size_t rest = size - i; rest > 0) {
    const std::uint32_t v = (std::uint32_t{in[i]} << 16) | (rest == 2 ? std::uint32_t{in[i + 1]} << 8 : 0);
    out[0] = kAlphabet[v >> 18];
    out[1] = kAlphabet[(v >> 12) & 63];
    out[2] = rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out[3] = '=';
  }
}

#ifdef KFC_BASE64_X86
// The vector encoders work on 16-byte lanes, each taking 12 input bytes (four groups of three) to
// 16 characters:
//  1. a byte shuffle puts group [a b c] into a 32-bit word as the bytes b a c b, i.e. the 16-bit
//     halves a:b and b:c;
//  2. the four 6-bit values are moved into their own bytes with two multiplies: bits 15..10 of a:b
//     and bits 11..6 of b:c shifted right (mulhi by 2^6 and 2^10), bits 9..4 of a:b and bits 5..0
//     of b:c shifted left (mullo by 2^4 and 2^8);
//  3. each value v in 0..63 becomes its character by adding an offset looked up by v's range:
//     A-Z (v < 26) +65, a-z (26..51) +71, 0-9 (52..61) -4, '+' (62) -19, '/' (63) -16. The lookup
//     index is max(v - 51, 0), i.e. 0 for 0..51 and 1..12 for 52..63, with 13 for v < 26.

// Offsets by lookup index 0..13 (the last two of the 16 unused).
#define KFC_BASE64_OFFSETS 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 65, 0, 0
// Group i's bytes 3i..3i+2 as b a c b.
#define KFC_BASE64_SPREAD 1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10

__attribute__((target("ssse3"))) inline __m128i encode_lane_ssse3(__m128i bytes) {
  const __m128i spread = _mm_shuffle_epi8(bytes, _mm_setr_epi8(KFC_BASE64_SPREAD));
  const __m128i high = _mm_mulhi_epu16(_mm_and_si128(spread, _mm_set1_epi32(0x0FC0FC00)), _mm_set1_epi32(0x04000040));
  const __m128i low = _mm_mullo_epi16(_mm_and_si128(spread, _mm_set1_epi32(0x003F03F0)), _mm_set1_epi32(0x01000010));
  const __m128i values = _mm_or_si128(high, low);
  __m128i index = _mm_subs_epu8(values, _mm_set1_epi8(51));
  index = _mm_or_si128(index, _mm_and_si128(_mm_cmpgt_epi8(_mm_set1_epi8(26), values), _mm_set1_epi8(13)));
  return _mm_add_epi8(values, _mm_shuffle_epi8(_mm_setr_epi8(KFC_BASE64_OFFSETS), index));
}

// 12 bytes in, 16 characters out per step; each step loads 16 bytes, so it runs while 16 remain.
__attribute__((target("ssse3"))) void encode_ssse3(const unsigned char* in, std::size_t size, char* out) {
  std::size_t i = 0;
  for (; i + 16 <= size; i += 12, out += 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), encode_lane_ssse3(bytes));
  }
  encode_scalar(in + i, size - i, out);
}

// 24 bytes in, 32 characters out per step: the lanes take bytes 0..11 and 12..23 (the second load
// reads up to byte 27, so it runs while 28 remain); what is left goes to the SSSE3 loop.
__attribute__((target("avx2"))) void encode_avx2(const unsigned char* in, std::size_t size, char* out) {
  const __m256i spread_mask = _mm256_setr_epi8(KFC_BASE64_SPREAD, KFC_BASE64_SPREAD);
  const __m256i offsets = _mm256_setr_epi8(KFC_BASE64_OFFSETS, KFC_BASE64_OFFSETS);
  std::size_t i = 0;
  for (; i + 28 <= size; i += 24, out += 32) {
    const __m256i bytes =
        _mm256_set_m128i(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i + 12)),
                         _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i)));
    const __m256i spread = _mm256_shuffle_epi8(bytes, spread_mask);
    const __m256i high =
        _mm256_mulhi_epu16(_mm256_and_si256(spread, _mm256_set1_epi32(0x0FC0FC00)), _mm256_set1_epi32(0x04000040));
    const __m256i low =
        _mm256_mullo_epi16(_mm256_and_si256(spread, _mm256_set1_epi32(0x003F03F0)), _mm256_set1_epi32(0x01000010));
    const __m256i values = _mm256_or_si256(high, low);
    __m256i index = _mm256_subs_epu8(values, _mm256_set1_epi8(51));
    index = _mm256_or_si256(index,
                            _mm256_and_si256(_mm256_cmpgt_epi8(_mm256_set1_epi8(26), values), _mm256_set1_epi8(13)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_add_epi8(values, _mm256_shuffle_epi8(offsets, index)));
  }
  encode_ssse3(in + i, size - i, out);
}

#undef KFC_BASE64_OFFSETS
#undef KFC_BASE64_SPREAD
#endif

bool available(detail::Base64Encoder encoder) {
  switch (encoder) {
    case detail::Base64Encoder::Scalar:
      return true;
#ifdef KFC_BASE64_X86
    case detail::Base64Encoder::Ssse3:
      __builtin_cpu_init();
      return __builtin_cpu_supports("ssse3");
    case detail::Base64Encoder::Avx2:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx2");
#endif
    default:
      return false;
  }
}

Encoder encoder_of(detail::Base64Encoder encoder) {
  switch (encoder) {
#ifdef KFC_BASE64_X86
    case detail::Base64Encoder::Ssse3:
      return encode_ssse3;
    case detail::Base64Encoder::Avx2:
      return encode_avx2;
#endif
    default:
      return encode_scalar;
  }
}

detail::Base64Encoder best_available() {
  for (auto encoder : {detail::Base64Encoder::Avx2, detail::Base64Encoder::Ssse3}) {
    if (available(encoder)) return encoder;
  }
  return detail::Base64Encoder::Scalar;
}

}  // namespace

void write_base64(std::string_view data, char* out) {
  static const Encoder encoder = encoder_of(best_available());  // on first use: no static-order question
  encoder(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
}

namespace detail {

bool base64_encoder_available(Base64Encoder encoder) { return available(encoder); }

Base64Encoder base64_encoder_in_use() { return best_available(); }

void write_base64_with(Base64Encoder encoder, std::string_view data, char* out) {
  encoder_of(encoder)(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
}

}  // namespace detail
}  // namespace kfc::sinks
