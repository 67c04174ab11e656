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

// Python's json.dumps written through a cursor into a growable buffer. Each string makes room once
// for its worst case (6 output bytes per input byte: an invalid byte becomes \ufffd) and is then
// written with plain stores, so the per-byte and per-token work is no more than a compare and a
// store; std::string::append per run and per separator was most of the dry run's printing cost.
class PythonWriter {
 public:
  explicit PythonWriter(std::string& out) : out_(out), cursor_(out.data() + out.size()), end_(cursor_) {}
  PythonWriter(const PythonWriter&) = delete;
  PythonWriter& operator=(const PythonWriter&) = delete;
  ~PythonWriter() { out_.resize(used()); }

  void value(const rapidjson::Value& v);
  void newline() { *room(1) = '\n'; ++cursor_; }
  std::string_view text() const { return {out_.data(), used()}; }
  void clear() { cursor_ = out_.data(); }

 private:
  std::size_t used() const { return static_cast<std::size_t>(cursor_ - out_.data()); }
  // At least n writable bytes at the cursor. The buffer grows geometrically and is never shrunk
  // while writing, so the zero-fill of std::string::resize is paid once per growth, not per token.
  char* room(std::size_t n) {
    if (static_cast<std::size_t>(end_ - cursor_) < n) grow(n);
    return cursor_;
  }
  void grow(std::size_t n) {
    const std::size_t written = used();
    out_.resize(std::max({written + n, 2 * out_.size(), std::size_t{256}}));
    cursor_ = out_.data() + written;
    end_ = out_.data() + out_.size();
  }
  template <std::size_t N>
  void literal(const char (&text)[N]) {
    std::memcpy(room(N - 1), text, N - 1);
    cursor_ += N - 1;
  }
  void string(std::string_view s) {
    if (!short_plain_string(s)) string_escaped(s);
  }
  bool short_plain_string(std::string_view s);
  void string_escaped(std::string_view s);
  void object(const rapidjson::Value& object);
  void array(const rapidjson::Value& array);
  void member(std::string_view key, const rapidjson::Value& value, bool first);
  template <typename Integer>
  void integer(Integer value);
  void floating(double d);

  std::string& out_;
  char* cursor_;  // the next byte to write, inside out_
  char* end_;     // the end of out_: the room left is end_ - cursor_
};

constexpr char kHex[] = "0123456789abcdef";
constexpr char32_t kReplacement = 0xFFFD;

char* put_u_escape(std::uint32_t unit, char* o) {
  const char escape[6] = {'\\', 'u', kHex[(unit >> 12) & 0xF], kHex[(unit >> 8) & 0xF],
                          kHex[(unit >> 4) & 0xF], kHex[unit & 0xF]};
  std::memcpy(o, escape, sizeof escape);
  return o + sizeof escape;
}

char* put_code_point_escaped(char32_t cp, char* o) {
  if (cp < 0x10000) return put_u_escape(cp, o);
  const std::uint32_t v = cp - 0x10000;  // UTF-16 surrogate pair, as Python's ensure_ascii writes it
  return put_u_escape(0xDC00 | (v & 0x3FF), put_u_escape(0xD800 | (v >> 10), o));
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

// The short escapes of json.dumps; 0 for a byte written as \uXXXX.
char short_escape(unsigned char c) {
  switch (c) {
    case '"': return '"';
    case '\\': return '\\';
    case '\b': return 'b';
    case '\f': return 'f';
    case '\n': return 'n';
    case '\r': return 'r';
    case '\t': return 't';
    default: return 0;
  }
}

// Most strings of STIX objects are plain keys and values of up to 16 bytes: the escape scan copies
// them (two overlapping words at most) inline, without a call. False (nothing kept) for any other.
inline bool PythonWriter::short_plain_string(std::string_view s) {
  const std::size_t n = s.size();
  if (n > 16) return false;
  char* const o = room(2 + 6 * n);  // string_escaped's room: it writes over what is left here
  if (detail::copy_printable_ascii(s.data(), n, o + 1) != n) return false;
  o[0] = '"';
  o[n + 1] = '"';
  cursor_ = o + n + 2;
  return true;
}

void PythonWriter::string_escaped(std::string_view s) {
  char* o = room(2 + 6 * s.size());
  *o++ = '"';
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t run = detail::copy_printable_ascii(s.data() + i, s.size() - i, o);
    o += run;
    i += run;
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (const char e = short_escape(c)) {
      o[0] = '\\', o[1] = e;
      o += 2;
      ++i;
      continue;
    }
    o = put_code_point_escaped(next_code_point(s, i), o);
  }
  *o++ = '"';
  cursor_ = o;
}

template <typename Integer>
void PythonWriter::integer(Integer value) {
  char* const o = room(24);
  cursor_ = std::to_chars(o, o + 24, value).ptr;
}

// Python repr(float): the shortest digits that round-trip (std::to_chars gives the same digits as
// Python's dtoa mode 0), laid out as Python does: positional when the decimal exponent is in
// [-4, 16), else d[.ddd]e±XX with at least two exponent digits; positional values always have a
// fractional part (".0"). Floats are rare in STIX objects: this path favours clarity.
void PythonWriter::floating(double d) {
  if (std::isnan(d)) return literal("NaN");
  if (std::isinf(d)) return d > 0 ? literal("Infinity") : literal("-Infinity");
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

  std::string text;
  if (negative) text.push_back('-');
  const int point = exponent + 1;  // digits before the decimal point, in positional form
  if (exponent >= -4 && exponent < 16) {
    if (point <= 0) {
      text += "0.";
      text.append(static_cast<std::size_t>(-point), '0');
      text += digits;
    } else if (static_cast<std::size_t>(point) >= digits.size()) {
      text += digits;
      text.append(static_cast<std::size_t>(point) - digits.size(), '0');
      text += ".0";
    } else {
      text.append(digits, 0, static_cast<std::size_t>(point));
      text.push_back('.');
      text.append(digits, static_cast<std::size_t>(point));
    }
  } else {
    text.push_back(digits[0]);
    if (digits.size() > 1) {
      text.push_back('.');
      text.append(digits, 1);
    }
    text.push_back('e');
    text.push_back(exponent < 0 ? '-' : '+');
    const int magnitude = exponent < 0 ? -exponent : exponent;
    if (magnitude < 10) text.push_back('0');
    text += std::to_string(magnitude);
  }
  std::memcpy(room(text.size()), text.data(), text.size());
  cursor_ += text.size();
}

std::string_view string_of(const rapidjson::Value& v) {
  return {v.GetString(), v.GetStringLength()};
}

void PythonWriter::value(const rapidjson::Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType: return literal("null");
    case rapidjson::kFalseType: return literal("false");
    case rapidjson::kTrueType: return literal("true");
    case rapidjson::kStringType: return string(string_of(v));
    case rapidjson::kNumberType:
      if (v.IsInt64()) return integer(v.GetInt64());
      if (v.IsUint64()) return integer(v.GetUint64());
      return floating(v.GetDouble());
    case rapidjson::kArrayType: return array(v);
    case rapidjson::kObjectType: return object(v);
  }
}

void PythonWriter::array(const rapidjson::Value& array) {
  literal("[");
  bool first = true;
  for (const auto& element : array.GetArray()) {
    if (!first) literal(", ");
    first = false;
    value(element);
  }
  literal("]");
}

// A cheap summary of a key: equal keys have equal fingerprints (length, first, middle and last
// bytes), read without a call to memcpy.
std::uint64_t key_fingerprint(std::string_view key) {
  const std::size_t n = key.size();
  if (n == 0) return 0;
  const auto byte = [&](std::size_t k) { return static_cast<std::uint64_t>(static_cast<unsigned char>(key[k])); };
  return n | byte(0) << 32 | byte(n / 2) << 40 | byte(n - 1) << 48 | (n > 1 ? byte(1) : 0) << 56;
}

// Python's dict keeps a repeated key at its first position with its last value. Objects rarely
// repeat a key, and a filter of 1024 bits indexed by a hash of each key's fingerprint rules that out
// in one pass; only when two fingerprints land on the same bit are the keys compared.
bool has_repeated_key(const rapidjson::Value& object) {
  if (object.MemberCount() < 2) return false;
  std::uint64_t seen[16] = {};
  for (auto member = object.MemberBegin(); member != object.MemberEnd(); ++member) {
    const std::uint64_t bit = (key_fingerprint(string_of(member->name)) * 0x9E3779B97F4A7C15ULL) >> 54;
    std::uint64_t& word = seen[bit >> 6];
    const std::uint64_t mask = std::uint64_t{1} << (bit & 63);
    if (word & mask) return true;  // maybe: the caller compares the keys themselves
    word |= mask;
  }
  return false;
}

void PythonWriter::member(std::string_view key, const rapidjson::Value& member_value, bool first) {
  if (!first) literal(", ");
  string(key);
  literal(": ");
  value(member_value);
}

void PythonWriter::object(const rapidjson::Value& object) {
  literal("{");
  const auto begin = object.MemberBegin(), end = object.MemberEnd();
  bool first = true;
  if (!has_repeated_key(object)) {
    for (auto m = begin; m != end; ++m, first = false) member(string_of(m->name), m->value, first);
    return literal("}");
  }
  for (auto m = begin; m != end; ++m) {
    const std::string_view key = string_of(m->name);
    // A repeated key was already written at its first position (with its last value).
    bool seen_before = false;
    for (auto earlier = begin; earlier != m && !seen_before; ++earlier)
      seen_before = string_of(earlier->name) == key;
    if (seen_before) continue;
    auto last = m;
    for (auto later = m + 1; later != end; ++later)
      if (string_of(later->name) == key) last = later;
    member(key, last->value, first);
    first = false;
  }
  literal("}");
}

}  // namespace

void append_python_dumps(const rapidjson::Value& value, std::string& out) { PythonWriter(out).value(value); }

std::string python_dumps(const rapidjson::Value& value) {
  std::string out;
  append_python_dumps(value, out);
  return out;
}

void write_dry_run_lines(const Bundle& stage, std::ostream& out) {
  // Lines are gathered and written some 64 KiB at a time: a stream write per line (a million lines
  // for 100k indicators) cost more than formatting the short ones.
  constexpr std::size_t kChunk = 64 * 1024;
  std::string buffer;
  buffer.reserve(2 * kChunk);
  PythonWriter lines(buffer);
  for (const auto& object : stage.objects.GetArray()) {
    lines.value(object);
    lines.newline();
    if (lines.text().size() < kChunk) continue;
    out.write(lines.text().data(), static_cast<std::streamsize>(lines.text().size()));
    lines.clear();
  }
  out.write(lines.text().data(), static_cast<std::streamsize>(lines.text().size()));
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
      const std::size_t plain = detail::copy_plain(text + i, length - i, out);
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
