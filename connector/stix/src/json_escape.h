#pragma once
// The one hot loop of JSON string writing: how many leading bytes need no escape. RapidJSON's
// compact text and the canonical text of ids escape exactly the bytes below 0x20, '"' and '\\' and
// copy every other byte (UTF-8 included); Python's json.dumps (ensure_ascii) also escapes DEL and
// every non-ASCII byte.
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

// Length of the longest prefix of s[0, n) without a byte to escape (needs_escape, or with
// kAsciiOnly needs_ascii_escape). Sixteen bytes per step with SSE2 (x <= 0x1f exactly when
// min(x, 0x1f) == x, unsigned; a signed x < 0x20 also catches every byte >= 0x80); eight (or four)
// at a time without it: (x - 0x01..01 * k) & ~x & 0x80..80 flags the bytes below k (k <= 0x80),
// exactly up to the first one (a borrow only reaches the bytes after it), so a zero test of
// x ^ 0x22..22 and x ^ 0x5c..5c finds '"' and '\\' and the lowest flag is the first hit.
// The last partial block is tested as the block ending at byte n, overlapping bytes already found
// clean (they cannot flag): most strings (keys, ids, dates) are short, and testing their tails one
// byte at a time was most of the cost of writing them. Nothing is read outside s[0, n).
template <bool kAsciiOnly>
inline std::size_t prefix_without_escapes(const char* s, std::size_t n) {
  std::size_t i = 0;
#ifdef __SSE2__
  const __m128i control = _mm_set1_epi8(0x1F), space = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7F),
                quotes = _mm_set1_epi8('"'), backslashes = _mm_set1_epi8('\\');
  auto hits16 = [&](const char* at) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
    __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(x, quotes), _mm_cmpeq_epi8(x, backslashes));
    if constexpr (kAsciiOnly) {
      hit = _mm_or_si128(hit, _mm_or_si128(_mm_cmplt_epi8(x, space), _mm_cmpeq_epi8(x, del)));
    } else {
      hit = _mm_or_si128(hit, _mm_cmpeq_epi8(_mm_min_epu8(x, control), x));
    }
    return static_cast<unsigned>(_mm_movemask_epi8(hit));
  };
  for (; i + 16 <= n; i += 16) {
    if (const unsigned mask = hits16(s + i)) return i + static_cast<std::size_t>(__builtin_ctz(mask));
  }
  if (i == n) return n;
  if (n >= 16) {
    const std::size_t last = n - 16;
    const unsigned mask = hits16(s + last);
    return mask ? last + static_cast<std::size_t>(__builtin_ctz(mask)) : n;
  }
#endif
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  // The flags of the 8 (or, with T = uint32_t, 4) bytes at `at`, high bit of each byte.
  auto hits = [](auto x) {
    using T = decltype(x);
    const T ones = static_cast<T>(kOnes), high = static_cast<T>(kHigh);
    auto has_byte = [&](unsigned char c) {
      const T diff = x ^ static_cast<T>(ones * c);
      return static_cast<T>((diff - ones) & ~diff);
    };
    T hit = static_cast<T>(((x - ones * 0x20) & ~x) | has_byte('"') | has_byte('\\'));
    if constexpr (kAsciiOnly) hit |= static_cast<T>(x | has_byte(0x7F));
    return static_cast<T>(hit & high);
  };
  auto first = [](auto flags) { return static_cast<std::size_t>(__builtin_ctzll(flags)) / 8; };
  for (; i + 8 <= n; i += 8) {
    std::uint64_t x;
    std::memcpy(&x, s + i, 8);
    if (const std::uint64_t flags = hits(x)) return i + first(flags);
  }
  if (i == n) return n;
  if (n >= 8) {
    std::uint64_t x;
    std::memcpy(&x, s + n - 8, 8);
    const std::uint64_t flags = hits(x);
    return flags ? n - 8 + first(flags) : n;
  }
  if (n >= 4) {  // 4..7 bytes: the first four, then the four ending at n
    std::uint32_t x;
    std::memcpy(&x, s, 4);
    if (const std::uint32_t flags = hits(x)) return first(flags);
    std::memcpy(&x, s + n - 4, 4);
    const std::uint32_t flags = hits(x);
    return flags ? n - 4 + first(flags) : n;
  }
  for (; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (kAsciiOnly ? needs_ascii_escape(c) : needs_escape(c)) break;
  }
  return i;
}

// The bytes of `x` that json.dumps escapes (below 0x20, '"', '\\', DEL, non-ASCII), flagged in their
// high bit. Exact up to and including the lowest flagged byte (a borrow only runs upwards from a
// true hit), so the lowest flag is the first byte to escape (little-endian).
template <typename Word>
inline Word ascii_escape_hits(Word x) {
  constexpr Word kOnes = static_cast<Word>(~Word{0}) / 0xFF, kHigh = kOnes * 0x80;
  const auto has_byte = [](Word w, unsigned char c) {
    const Word diff = w ^ (kOnes * c);
    return static_cast<Word>((diff - kOnes) & ~diff);
  };
  return static_cast<Word>((((x - kOnes * 0x20) & ~x) | has_byte(x, '"') | has_byte(x, '\\') | x | has_byte(x, 0x7F)) &
                           kHigh);
}

// Copies one word of s at `at` to out, returning the position of its first byte to escape or npos.
template <typename Word>
inline std::size_t copy_word(const char* s, std::size_t at, char* out) {
  Word x;
  std::memcpy(&x, s + at, sizeof x);
  std::memcpy(out + at, &x, sizeof x);
  const Word hits = ascii_escape_hits(x);
  return hits ? at + static_cast<std::size_t>(__builtin_ctzll(hits) / 8) : static_cast<std::size_t>(-1);
}

// Copies the longest prefix of s[0, n) that Python's json.dumps writes as is (printable ASCII but '"'
// and '\\') to `out` and returns its length. Bytes past that prefix may be written too, within
// out[0, n): the caller has room for the whole string escaped and writes over them. Copying each
// block as it is scanned spares a memcpy call per run. The last partial block is covered by one more
// block ending at n (16 bytes, or for shorter input two words of 8 or 4), overlapping bytes already
// found clean, so nothing outside s[0, n) is read and the first hit found is the first one.
inline std::size_t copy_printable_ascii(const char* s, std::size_t n, char* out) {
  constexpr auto kNone = static_cast<std::size_t>(-1);
#ifdef __SSE2__
  if (n >= 16) {
    const __m128i space = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7F), quotes = _mm_set1_epi8('"'),
                  backslashes = _mm_set1_epi8('\\');
    const auto copy_block = [&](std::size_t at) {
      const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + at));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + at), x);
      const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quotes), _mm_cmpeq_epi8(x, backslashes)),
                                       _mm_or_si128(_mm_cmplt_epi8(x, space), _mm_cmpeq_epi8(x, del)));
      const int mask = _mm_movemask_epi8(hit);
      return mask ? at + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask))) : kNone;
    };
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16)
      if (const std::size_t hit = copy_block(i); hit != kNone) return hit;
    if (i == n) return n;
    const std::size_t hit = copy_block(n - 16);
    return hit != kNone ? hit : n;
  }
#endif
  std::size_t i = 0;
  for (; i + 16 <= n; i += 8)  // (without SSE2 only)
    if (const std::size_t hit = copy_word<std::uint64_t>(s, i, out); hit != kNone) return hit;
  const auto covered_by_two = [&](auto word) {
    using Word = decltype(word);
    if (const std::size_t hit = copy_word<Word>(s, i, out); hit != kNone) return hit;
    const std::size_t hit = copy_word<Word>(s, n - sizeof(Word), out);
    return hit != kNone ? hit : n;
  };
  const std::size_t rest = n - i;
  if (rest >= 8) return covered_by_two(std::uint64_t{});
  if (rest >= 4) return covered_by_two(std::uint32_t{});
  for (; i < n && !needs_ascii_escape(static_cast<unsigned char>(s[i])); ++i) out[i] = s[i];
  return i;
}

inline std::size_t plain_prefix(const char* s, std::size_t n) { return prefix_without_escapes<false>(s, n); }
inline std::size_t printable_ascii_prefix(const char* s, std::size_t n) { return prefix_without_escapes<true>(s, n); }

}  // namespace kfc::stix::detail
