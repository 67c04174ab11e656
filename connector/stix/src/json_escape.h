#pragma once
// The one hot loop of JSON string writing: how many leading bytes need no escape. RapidJSON's
// compact text and the canonical text of ids escape exactly the bytes below 0x20, '"' and '\\' and
// copy every other byte (UTF-8 included); Python's json.dumps (ensure_ascii) also escapes DEL and
// every non-ASCII byte.
//
// Bytes are tested a block at a time: 16 with SSE2 (x <= 0x1f exactly when min(x, 0x1f) == x,
// unsigned; a signed x < 0x20 also catches every byte >= 0x80), else a word of 8 or 4:
// (x - 0x01..01 * k) & ~x & 0x80..80 flags the bytes below k (k <= 0x80), exactly up to the first
// one (a borrow only reaches the bytes after it), so a zero test of x ^ 0x22..22 and x ^ 0x5c..5c
// finds '"' and '\\' and the lowest flag is the first hit. The last partial block is tested as the
// block ending at byte n, overlapping bytes already found clean (they cannot flag): most strings
// (keys, ids, dates) are short, and testing their tails one byte at a time was most of the cost of
// writing them. Nothing is read outside s[0, n).
#include <cstddef>
#include <cstdint>
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace kfc::stix::detail {

inline bool needs_escape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }
// Python's json.dumps with ensure_ascii also escapes DEL and every non-ASCII byte.
inline bool needs_ascii_escape(unsigned char c) { return c < 0x20 || c > 0x7E || c == '"' || c == '\\'; }

inline constexpr auto kNoHit = static_cast<std::size_t>(-1);

// The bytes of the word x (8 or 4 bytes) to escape, flagged in their high bit (see above).
template <bool kAsciiOnly, typename Word>
inline Word escape_flags(Word x) {
  constexpr Word kOnes = static_cast<Word>(~Word{0}) / 0xFF, kHigh = kOnes * 0x80;
  const auto has_byte = [x](unsigned char c) {
    const Word diff = x ^ static_cast<Word>(kOnes * c);
    return static_cast<Word>((diff - kOnes) & ~diff);
  };
  Word hit = static_cast<Word>(((x - kOnes * 0x20) & ~x) | has_byte('"') | has_byte('\\'));
  if constexpr (kAsciiOnly) hit |= static_cast<Word>(x | has_byte(0x7F));
  return static_cast<Word>(hit & kHigh);
}

// Tests the word of s at `at` (copying it to out + at when out is given): the position of its first
// byte to escape, or kNoHit.
template <bool kAsciiOnly, typename Word>
inline std::size_t scan_word(const char* s, std::size_t at, char* out = nullptr) {
  Word x;
  std::memcpy(&x, s + at, sizeof x);
  if (out != nullptr) std::memcpy(out + at, &x, sizeof x);
  const Word flags = escape_flags<kAsciiOnly>(x);
  return flags ? at + static_cast<std::size_t>(__builtin_ctzll(flags)) / 8 : kNoHit;
}

#ifdef __SSE2__
// The same for the 16 bytes at `at`.
template <bool kAsciiOnly>
inline std::size_t scan_block(const char* s, std::size_t at, char* out = nullptr) {
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + at));
  if (out != nullptr) _mm_storeu_si128(reinterpret_cast<__m128i*>(out + at), x);
  __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')), _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')));
  if constexpr (kAsciiOnly) {
    hit = _mm_or_si128(hit, _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)), _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7F))));
  } else {
    hit = _mm_or_si128(hit, _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1F)), x));
  }
  const auto mask = static_cast<unsigned>(_mm_movemask_epi8(hit));
  return mask ? at + static_cast<std::size_t>(__builtin_ctz(mask)) : kNoHit;
}
#endif

// Length of the longest prefix of s[0, n) without a byte to escape (needs_escape, or with
// kAsciiOnly needs_ascii_escape). With `out`, those bytes are also copied to out[0, n), and bytes
// after them may be too (the caller has room for the whole string and writes over them): copying
// each block as it is tested spares a memcpy call per run of plain bytes.
template <bool kAsciiOnly>
inline std::size_t prefix_without_escapes(const char* s, std::size_t n, char* out = nullptr) {
  // The whole blocks from i on, then the block ending at n.
  const auto scan = [&](std::size_t i, std::size_t width, auto scan_at) {
    for (; i + width <= n; i += width)
      if (const std::size_t hit = scan_at(i); hit != kNoHit) return hit;
    if (i == n) return n;
    const std::size_t hit = scan_at(n - width);
    return hit != kNoHit ? hit : n;
  };
#ifdef __SSE2__
  if (n >= 16) return scan(0, 16, [&](std::size_t at) { return scan_block<kAsciiOnly>(s, at, out); });
#endif
  if (n >= 8) return scan(0, 8, [&](std::size_t at) { return scan_word<kAsciiOnly, std::uint64_t>(s, at, out); });
  if (n >= 4) return scan(0, 4, [&](std::size_t at) { return scan_word<kAsciiOnly, std::uint32_t>(s, at, out); });
  std::size_t i = 0;
  for (; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (kAsciiOnly ? needs_ascii_escape(c) : needs_escape(c)) break;
    if (out != nullptr) out[i] = s[i];
  }
  return i;
}

inline std::size_t plain_prefix(const char* s, std::size_t n) { return prefix_without_escapes<false>(s, n); }
inline std::size_t printable_ascii_prefix(const char* s, std::size_t n) { return prefix_without_escapes<true>(s, n); }
// The plain prefix of s[0, n), copied to out (see prefix_without_escapes).
inline std::size_t copy_plain(const char* s, std::size_t n, char* out) { return prefix_without_escapes<false>(s, n, out); }
// The printable-ASCII prefix of s[0, n), copied to out (see prefix_without_escapes).
inline std::size_t copy_printable_ascii(const char* s, std::size_t n, char* out) {
  return prefix_without_escapes<true>(s, n, out);
}

}  // namespace kfc::stix::detail
