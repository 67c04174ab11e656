#include "kfc/stix/python_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string_view>

#include <rapidjson/internal/dtoa.h>
#include <rapidjson/internal/itoa.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "json_escape.h"

namespace kfc::stix {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char32_t kReplacement = 0xFFFD;

void append_u_escape(std::uint32_t unit, std::string& out) {
  char buffer[6] = {'\\', 'u', kHex[(unit >> 12) & 0xF], kHex[(unit >> 8) & 0xF],
                    kHex[(unit >> 4) & 0xF], kHex[unit & 0xF]};
  out.append(buffer, sizeof buffer);
}

void append_code_point_escaped(char32_t cp, std::string& out) {
  if (cp >= 0x10000) {  // UTF-16 surrogate pair, as Python's ensure_ascii writes it
    const std::uint32_t v = cp - 0x10000;
    append_u_escape(0xD800 | (v >> 10), out);
    append_u_escape(0xDC00 | (v & 0x3FF), out);
  } else {
    append_u_escape(cp, out);
  }
}

// Decodes one UTF-8 sequence at `s[i]`, advancing `i`. Invalid input yields U+FFFD for each maximal
// ill-formed subpart, the way Python decodes bytes with errors="replace".
char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i++);
  if (lead < 0x80) return lead;
  int length = 0;
  char32_t cp = 0;
  unsigned char low = 0x80, high = 0xBF;  // valid range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, cp = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, cp = lead & 0x0F;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, cp = lead & 0x07;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return kReplacement;
  }
  for (int k = 1; k < length; ++k) {
    if (i >= s.size()) return kReplacement;
    const unsigned char next = byte(i);
    const unsigned char lo = k == 1 ? low : 0x80;
    const unsigned char hi = k == 1 ? high : 0xBF;
    if (next < lo || next > hi) return kReplacement;  // the bad byte starts the next sequence
    cp = (cp << 6) | (next & 0x3F);
    ++i;
  }
  return cp;
}

void append_python_string(std::string_view s, std::string& out) {
  out.push_back('"');
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t run = detail::printable_ascii_prefix(s.data() + i, s.size() - i);
    out.append(s.data() + i, run);
    i += run;
    if (i >= s.size()) break;
    const unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; ++i; continue;
      case '\\': out += "\\\\"; ++i; continue;
      case '\b': out += "\\b"; ++i; continue;
      case '\f': out += "\\f"; ++i; continue;
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      default: break;
    }
    append_code_point_escaped(next_code_point(s, i), out);
  }
  out.push_back('"');
}

template <typename Integer>
void append_integer(Integer value, std::string& out) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

// Python repr(float): the shortest digits that round-trip (std::to_chars gives the same digits as
// Python's dtoa mode 0), laid out as Python does: positional when the decimal exponent is in
// [-4, 16), else d[.ddd]e±XX with at least two exponent digits; positional values always have a
// fractional part (".0").
void append_python_float(double d, std::string& out) {
  if (std::isnan(d)) { out += "NaN"; return; }
  if (std::isinf(d)) { out += d > 0 ? "Infinity" : "-Infinity"; return; }
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, d, std::chars_format::scientific);
  std::string_view sci(buffer, static_cast<std::size_t>(result.ptr - buffer));  // -d.ddde±XX
  const bool negative = sci.front() == '-';
  if (negative) sci.remove_prefix(1);
  const std::size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos))
    if (c != '.') digits.push_back(c);
  int exponent = 0;
  std::string_view exp_text = sci.substr(e_pos + 1);
  if (exp_text.front() == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);

  if (negative) out.push_back('-');
  const int point = exponent + 1;  // digits before the decimal point, in positional form
  if (exponent >= -4 && exponent < 16) {
    if (point <= 0) {
      out += "0.";
      out.append(static_cast<std::size_t>(-point), '0');
      out += digits;
    } else if (static_cast<std::size_t>(point) >= digits.size()) {
      out += digits;
      out.append(static_cast<std::size_t>(point) - digits.size(), '0');
      out += ".0";
    } else {
      out.append(digits, 0, static_cast<std::size_t>(point));
      out.push_back('.');
      out.append(digits, static_cast<std::size_t>(point));
    }
    return;
  }
  out.push_back(digits[0]);
  if (digits.size() > 1) {
    out.push_back('.');
    out.append(digits, 1);
  }
  out.push_back('e');
  out.push_back(exponent < 0 ? '-' : '+');
  const int magnitude = exponent < 0 ? -exponent : exponent;
  if (magnitude < 10) out.push_back('0');
  out += std::to_string(magnitude);
}

std::string_view string_of(const rapidjson::Value& v) {
  return {v.GetString(), v.GetStringLength()};
}

void append_python_object(const rapidjson::Value& object, std::string& out);

void append_python_value(const rapidjson::Value& v, std::string& out) {
  switch (v.GetType()) {
    case rapidjson::kNullType: out += "null"; return;
    case rapidjson::kFalseType: out += "false"; return;
    case rapidjson::kTrueType: out += "true"; return;
    case rapidjson::kStringType: append_python_string(string_of(v), out); return;
    case rapidjson::kNumberType:
      if (v.IsInt64()) append_integer(v.GetInt64(), out);
      else if (v.IsUint64()) append_integer(v.GetUint64(), out);
      else append_python_float(v.GetDouble(), out);
      return;
    case rapidjson::kArrayType: {
      out.push_back('[');
      bool first = true;
      for (const auto& element : v.GetArray()) {
        if (!first) out += ", ";
        first = false;
        append_python_value(element, out);
      }
      out.push_back(']');
      return;
    }
    case rapidjson::kObjectType: append_python_object(v, out); return;
  }
}

// A cheap summary of a key: equal keys have equal fingerprints (length and up to 8 leading bytes).
std::uint64_t key_fingerprint(std::string_view key) {
  std::uint64_t head = 0;
  std::memcpy(&head, key.data(), std::min<std::size_t>(key.size(), 7));
  return head ^ (static_cast<std::uint64_t>(key.size()) << 56);
}

// Python's dict keeps a repeated key at its first position with its last value. Objects rarely
// repeat a key: fingerprints rule that out without comparing the keys themselves.
bool has_repeated_key(const rapidjson::Value& object) {
  constexpr rapidjson::SizeType kMaxFingerprinted = 64;
  const rapidjson::SizeType count = object.MemberCount();
  if (count < 2) return false;
  if (count > kMaxFingerprinted) return true;  // take the general path
  std::uint64_t prints[kMaxFingerprinted];
  rapidjson::SizeType n = 0;
  for (auto member = object.MemberBegin(); member != object.MemberEnd(); ++member) {
    const std::uint64_t print = key_fingerprint(string_of(member->name));
    for (rapidjson::SizeType k = 0; k < n; ++k)
      if (prints[k] == print) return true;  // maybe: the general path compares the keys
    prints[n++] = print;
  }
  return false;
}

void append_python_object(const rapidjson::Value& object, std::string& out) {
  out.push_back('{');
  const auto begin = object.MemberBegin(), end = object.MemberEnd();
  bool first = true;
  if (!has_repeated_key(object)) {
    for (auto member = begin; member != end; ++member) {
      if (!first) out += ", ";
      first = false;
      append_python_string(string_of(member->name), out);
      out += ": ";
      append_python_value(member->value, out);
    }
    out.push_back('}');
    return;
  }
  for (auto member = begin; member != end; ++member) {
    const std::string_view key = string_of(member->name);
    // A repeated key was already written at its first position (with its last value).
    bool seen_before = false;
    for (auto earlier = begin; earlier != member && !seen_before; ++earlier)
      seen_before = string_of(earlier->name) == key;
    if (seen_before) continue;
    auto last = member;
    for (auto later = member + 1; later != end; ++later)
      if (string_of(later->name) == key) last = later;
    if (!first) out += ", ";
    first = false;
    append_python_string(key, out);
    out += ": ";
    append_python_value(last->value, out);
  }
  out.push_back('}');
}

}  // namespace

void append_python_dumps(const rapidjson::Value& value, std::string& out) {
  append_python_value(value, out);
}

std::string python_dumps(const rapidjson::Value& value) {
  std::string out;
  append_python_value(value, out);
  return out;
}

void write_dry_run_lines(const Bundle& stage, std::ostream& out) {
  // Lines are gathered and written some 64 KiB at a time: a stream write per line (a million lines
  // for 100k indicators) cost more than formatting the short ones.
  constexpr std::size_t kChunk = 64 * 1024;
  std::string lines;
  lines.reserve(2 * kChunk);
  for (const auto& object : stage.objects.GetArray()) {
    append_python_value(object, lines);
    lines.push_back('\n');
    if (lines.size() < kChunk) continue;
    out.write(lines.data(), static_cast<std::streamsize>(lines.size()));
    lines.clear();
  }
  out.write(lines.data(), static_cast<std::streamsize>(lines.size()));
}

namespace {

// Compact JSON written straight from the tree, byte for byte what RapidJSON 1.1's Writer writes
// (Value::Accept into Writer<StringBuffer>) without its SAX layer (a level stack, a separator
// decision and a buffer check per token were most of the writing once strings were fast):
//  - structure: '{' key ':' value (',' key ':' value)* '}', '[' value (',' value)* ']', no spaces;
//  - null, true, false; integers through RapidJSON's own i32toa/u32toa/i64toa/u64toa and doubles
//    through its dtoa (324 decimal places at most), chosen as Accept chooses: double, int, unsigned,
//    int64, uint64;
//  - a NaN or infinite double stops the writing where it is, as the Writer does by default (what
//    was written stays: the callers get the same bytes RapidJSON would have left);
//  - strings: bytes below 0x20, '"' and '\\' escaped as RapidJSON does (short escapes, else \u00XX
//    with upper-case hex), every other byte (UTF-8 included) copied.
// One buffer per thread is reused, so its capacity is not regrown for every bundle.
class CompactText {
 public:
  static CompactText& reusable() {
    thread_local CompactText text;
    text.size_ = 0;
    return text;
  }

  // False when a NaN or an infinity stopped it.
  bool value(const rapidjson::Value& value) {
    switch (value.GetType()) {
      case rapidjson::kNullType:
        put("null", 4);
        return true;
      case rapidjson::kFalseType:
        put("false", 5);
        return true;
      case rapidjson::kTrueType:
        put("true", 4);
        return true;
      case rapidjson::kObjectType: {
        put('{');
        bool first = true;
        for (auto member = value.MemberBegin(); member != value.MemberEnd(); ++member) {
          if (!first) put(',');
          first = false;
          string(member->name.GetString(), member->name.GetStringLength());
          put(':');
          if (!this->value(member->value)) return false;
        }
        put('}');
        return true;
      }
      case rapidjson::kArrayType: {
        put('[');
        bool first = true;
        for (const auto& element : value.GetArray()) {
          if (!first) put(',');
          first = false;
          if (!this->value(element)) return false;
        }
        put(']');
        return true;
      }
      case rapidjson::kStringType:
        string(value.GetString(), value.GetStringLength());
        return true;
      case rapidjson::kNumberType:
        return number(value);
    }
    return true;
  }

  void string(const char* text, std::size_t length) {
    static constexpr char kUpperHex[] = "0123456789ABCDEF";
    char* out = room(2 + length * 6);  // the worst case: every byte as \u00XX
    *out++ = '"';
    for (std::size_t i = 0;;) {
      const std::size_t plain = detail::plain_prefix(text + i, length - i);
      std::memcpy(out, text + i, plain);
      out += plain;
      i += plain;
      if (i == length) break;
      const auto c = static_cast<unsigned char>(text[i++]);
      *out++ = '\\';
      switch (c) {
        case '"': *out++ = '"'; break;
        case '\\': *out++ = '\\'; break;
        case 0x08: *out++ = 'b'; break;
        case 0x09: *out++ = 't'; break;
        case 0x0A: *out++ = 'n'; break;
        case 0x0C: *out++ = 'f'; break;
        case 0x0D: *out++ = 'r'; break;
        default:
          *out++ = 'u';
          *out++ = '0';
          *out++ = '0';
          *out++ = kUpperHex[c >> 4];
          *out++ = kUpperHex[c & 0x0F];
      }
    }
    *out++ = '"';
    size_ = static_cast<std::size_t>(out - buffer_.data());
  }

  void put(char c) {
    *room(1) = c;
    ++size_;
  }
  void put(const char* text, std::size_t length) {
    std::memcpy(room(length), text, length);
    size_ += length;
  }

  std::string_view view() const { return {buffer_.data(), size_}; }

 private:
  bool number(const rapidjson::Value& value) {
    char* out = room(25);  // dtoa's most
    char* end;
    if (value.IsDouble()) {
      const double d = value.GetDouble();
      if (!std::isfinite(d)) return false;
      end = rapidjson::internal::dtoa(d, out, rapidjson::Writer<rapidjson::StringBuffer>::kDefaultMaxDecimalPlaces);
    } else if (value.IsInt()) {
      end = rapidjson::internal::i32toa(value.GetInt(), out);
    } else if (value.IsUint()) {
      end = rapidjson::internal::u32toa(value.GetUint(), out);
    } else if (value.IsInt64()) {
      end = rapidjson::internal::i64toa(value.GetInt64(), out);
    } else {
      end = rapidjson::internal::u64toa(value.GetUint64(), out);
    }
    size_ = static_cast<std::size_t>(end - buffer_.data());
    return true;
  }

  // Where `length` more bytes go; the size is moved past them by the caller.
  char* room(std::size_t length) {
    if (buffer_.size() - size_ < length) buffer_.resize(std::max(2 * buffer_.size(), size_ + length + 4096));
    return buffer_.data() + size_;
  }

  std::string buffer_;  // its size is the capacity in use; size_ the bytes written
  std::size_t size_ = 0;
};

}  // namespace

void append_compact_json(const rapidjson::Value& value, std::string& out) { out += compact_json_view(value); }

std::string_view compact_json_view(const rapidjson::Value& value) {
  auto& text = CompactText::reusable();
  text.value(value);
  return text.view();
}

std::string compact_json(const rapidjson::Value& value) { return std::string(compact_json_view(value)); }

std::string_view compact_bundle_json_view(const Bundle& bundle) {
  auto& text = CompactText::reusable();
  constexpr std::string_view kHead = R"({"type":"bundle","id":)";
  text.put(kHead.data(), kHead.size());
  text.string(bundle.id.data(), bundle.id.size());
  constexpr std::string_view kMiddle = R"(,"spec_version":"2.1","objects":)";
  text.put(kMiddle.data(), kMiddle.size());
  text.value(bundle.objects);
  text.put('}');  // also after a NaN stopped the objects: RapidJSON's Writer closes the object then too
  return text.view();
}

void append_compact_bundle_json(const Bundle& bundle, std::string& out) { out += compact_bundle_json_view(bundle); }

std::string compact_bundle_json(const Bundle& bundle) {
  std::string out;
  append_compact_bundle_json(bundle, out);
  return out;
}

}  // namespace kfc::stix
