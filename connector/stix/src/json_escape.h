#pragma once
// The one hot loop of JSON string writing: how many leading bytes need no escape. Both JSON forms
// written here (RapidJSON's compact text and the canonical text of ids) escape exactly the bytes
// below 0x20, '"' and '\\', and copy every other byte (UTF-8 included) unchanged.
#include <cstddef>
#include <cstdint>
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace kfc::stix::detail {

inline bool needs_escape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

// Length of the longest prefix of s[0, n) without a byte to escape. Sixteen bytes per step with SSE2
// (x <= 0x1f exactly when min(x, 0x1f) == x, unsigned), then eight at a time:
// (x - 0x01..01 * k) & ~x & 0x80..80 is non-zero exactly when some byte of x is below k (k <= 0x80),
// so a zero test of x ^ 0x22..22 and x ^ 0x5c..5c finds '"' and '\\'.
inline std::size_t plain_prefix(const char* s, std::size_t n) {
  std::size_t i = 0;
#ifdef __SSE2__
  const __m128i control = _mm_set1_epi8(0x1F), quotes = _mm_set1_epi8('"'), backslashes = _mm_set1_epi8('\\');
  for (; i + 16 <= n; i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
    const __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, control), x),
                                     _mm_or_si128(_mm_cmpeq_epi8(x, quotes), _mm_cmpeq_epi8(x, backslashes)));
    if (const int mask = _mm_movemask_epi8(hit)) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t x;
    std::memcpy(&x, s + i, 8);
    const std::uint64_t quote = x ^ (kOnes * '"'), backslash = x ^ (kOnes * '\\');
    const std::uint64_t hit = ((x - kOnes * 0x20) & ~x) | ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash);
    if (hit & kHigh) break;
  }
  while (i < n && !needs_escape(static_cast<unsigned char>(s[i]))) ++i;
  return i;
}

}  // namespace kfc::stix::detail
