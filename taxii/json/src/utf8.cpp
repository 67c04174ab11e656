// UTF-8 validation and repair (README.md, "Unicode"): the well-formed sequences of the Unicode
// standard (table 3-7); everything else is replaced by U+FFFD, one per maximal bad subpart.
#include <cstdint>
#include <cstring>

#include "kfc/json/untrusted.h"

namespace kfc::json {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

bool continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Length of the well-formed sequence at text[i] (0: none), and in `bad` how many bytes form the
// maximal ill-formed subpart to replace by one U+FFFD when it is 0.
std::size_t sequence_at(const unsigned char* s, std::size_t n, std::size_t& bad) {
  const unsigned char lead = s[0];
  bad = 1;
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;  // C0, C1, F5..FF or a stray continuation byte
  }
  // An encoded UTF-16 surrogate (ED A0..BF xx) is what a lone "\udc00" escape decodes to: one character.
  if (lead == 0xED && n >= 3 && s[1] >= 0xA0 && s[1] <= 0xBF && continuation(s[2])) {
    bad = 3;
    return 0;
  }
  if (n < 2 || s[1] < low || s[1] > high) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if (k >= n || !continuation(s[k])) {
      bad = k;
      return 0;
    }
  }
  return length;
}

// True when the 8 bytes at p are all ASCII.
bool ascii8(const char* p) {
  std::uint64_t word;
  std::memcpy(&word, p, sizeof word);
  return (word & 0x8080808080808080ULL) == 0;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    if (i + 8 <= n && ascii8(text.data() + i)) {
      i += 8;
      continue;
    }
    std::size_t bad = 0;
    const std::size_t length = sequence_at(s + i, n - i, bad);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

std::size_t repair_utf8(std::string_view text, std::string& out) {
  if (is_valid_utf8(text)) return 0;
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::string repaired;
  repaired.reserve(n + 16);
  std::size_t replaced = 0;
  std::size_t i = 0;
  while (i < n) {
    std::size_t bad = 0;
    const std::size_t length = sequence_at(s + i, n - i, bad);
    if (length > 0) {
      repaired.append(text.data() + i, length);
      i += length;
    } else {
      repaired.append(kReplacement);
      ++replaced;
      i += bad;
    }
  }
  out = std::move(repaired);
  return replaced;
}

}  // namespace kfc::json
