// The bounded JSON reader (README.md): RapidJSON's iterative SAX reader drives the document through
// a builder that counts nesting, cuts items that nest too deeply, repairs strings and attributes
// every repair to its item. The text is never modified; the rare inputs RapidJSON itself refuses
// but that can be repaired (a lone high surrogate escape, a number beyond a double) are patched in
// a copy, and that copy is parsed again.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <optional>

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/encodedstream.h>
#include <rapidjson/reader.h>

#include "kfc/json/untrusted.h"

namespace kfc::json {
namespace {

using Stream = rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream>;
using InsituStream = rapidjson::InsituStringStream;
constexpr unsigned kFlags = rapidjson::kParseIterativeFlag;
// Re-parses allowed for numbers RapidJSON refuses one at a time (after the bulk pass missed them).
constexpr int kMaxNumberRounds = 16;

enum class PatchKind { Unicode, Number };
struct Patch {
  std::size_t offset;
  PatchKind kind;
};

// Builds the document from SAX events, within the limits of ParseOptions.
template <class Stream>
class Builder {
 public:
  Builder(rapidjson::Document& document, const ParseOptions& options, Stream& stream,
          const std::vector<Patch>& patches, ParseReport& report)
      : document_(document), options_(options), stream_(stream), patches_(patches), report_(report) {}

  bool Null() { return skipping() || (scalar_starts(), document_.Null()); }
  bool Bool(bool b) { return skipping() || (scalar_starts(), document_.Bool(b)); }
  bool Int(int i) { return skipping() || (scalar_starts(), document_.Int(i)); }
  bool Uint(unsigned u) { return skipping() || (scalar_starts(), document_.Uint(u)); }
  bool Int64(std::int64_t i) { return skipping() || (scalar_starts(), document_.Int64(i)); }
  bool Uint64(std::uint64_t u) { return skipping() || (scalar_starts(), document_.Uint64(u)); }
  bool Double(double d) {
    if (skipping()) return true;
    scalar_starts();
    if (std::isfinite(d)) return document_.Double(d);
    // RapidJSON's fast number path can round a number just beyond a double to infinity without
    // refusing it; a document must never hold a value JSON cannot write back, so it becomes null.
    count(PatchKind::Number, 1);
    return document_.Null();
  }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) { return String(s, n, copy); }

  bool String(const char* s, rapidjson::SizeType n, bool copy) {
    if (skipping()) return true;
    scalar_starts();
    return string(s, n, copy, false);
  }

  bool Key(const char* s, rapidjson::SizeType n, bool copy) {
    if (skipping()) return true;
    attribute_patches();
    const std::size_t level = frames_.size();  // the key belongs to the object at this depth
    key_on_path_ = frames_.back().on_path && level <= options_.item_path.size() &&
                   std::string_view(s, n) == options_.item_path[level - 1];
    return string(s, n, copy, true);
  }

  bool StartObject() { return open(true); }
  bool StartArray() { return open(false); }
  bool EndObject(rapidjson::SizeType members) { return close() ? true : document_.EndObject(members); }
  bool EndArray(rapidjson::SizeType elements) { return close() ? true : document_.EndArray(elements); }

  // Set when the handler stopped the parse because the document nests too deeply.
  std::optional<std::size_t> too_deep_at() const { return too_deep_at_; }

 private:
  struct Frame {
    bool on_path = false;  // on the member path leading to the item array
    bool items = false;    // this is the item array
  };

  bool skipping() const { return skip_level_ > 0; }
  bool inside_item() const { return items_depth_ != 0 && frames_.size() >= items_depth_; }

  // Every value (scalar or container) starts here: the item it opens, the patches it covers.
  bool value_starts() {
    if (items_depth_ != 0 && frames_.size() == items_depth_) current_item_ = item_count_++;
    attribute_patches();
    const bool on_path = frames_.empty() ? !options_.item_path.empty() : key_on_path_;
    key_on_path_ = false;
    return on_path;
  }
  void scalar_starts() { value_starts(); }

  bool open(bool object) {
    if (skipping()) {
      ++skip_level_;
      return true;
    }
    const bool on_path = value_starts();
    const std::size_t depth = frames_.size() + 1;
    if (inside_item()) {
      if (depth - items_depth_ > static_cast<std::size_t>(std::max(1, options_.max_item_depth))) {
        note().too_deep = true;
        skip_level_ = 1;  // the whole subtree becomes one null
        return true;
      }
    } else if (depth > static_cast<std::size_t>(std::max(1, options_.max_depth))) {
      too_deep_at_ = stream_.Tell();
      return false;
    }
    Frame frame;
    frame.on_path = on_path;
    frame.items = on_path && !object && !items_seen_ && depth == options_.item_path.size() + 1;
    if (frame.items) {
      items_seen_ = true;  // a second array under the same key (duplicate member) has no items
      items_depth_ = depth;
    }
    frames_.push_back(frame);
    return object ? document_.StartObject() : document_.StartArray();
  }

  // True when the end event belongs to a skipped subtree (then nothing else is to be done).
  bool close() {
    if (skipping()) {
      if (--skip_level_ == 0) document_.Null();
      return true;
    }
    if (frames_.back().items) items_depth_ = 0;
    frames_.pop_back();
    return false;
  }

  bool string(const char* s, rapidjson::SizeType n, bool copy, bool key) {
    const std::string_view text(s, n);
    if (const std::size_t replaced = repair_utf8(text, repaired_); replaced > 0) {
      count(PatchKind::Unicode, replaced);
      const auto length = static_cast<rapidjson::SizeType>(repaired_.size());
      return key ? document_.Key(repaired_.data(), length, true) : document_.String(repaired_.data(), length, true);
    }
    return key ? document_.Key(s, n, copy) : document_.String(s, n, copy);
  }

  void attribute_patches() {
    while (next_patch_ < patches_.size() && patches_[next_patch_].offset < stream_.Tell()) {
      count(patches_[next_patch_].kind, 1);
      ++next_patch_;
    }
  }

  void count(PatchKind kind, std::size_t n) {
    (kind == PatchKind::Unicode ? report_.unicode_repairs : report_.numbers_replaced) += n;
    if (!inside_item()) return;
    (kind == PatchKind::Unicode ? note().unicode_repairs : note().numbers_replaced) += n;
  }

  ItemNote& note() {
    if (report_.items.empty() || report_.items.back().index != current_item_) {
      report_.items.push_back(ItemNote{.index = current_item_});
    }
    return report_.items.back();
  }

  rapidjson::Document& document_;
  const ParseOptions& options_;
  Stream& stream_;
  const std::vector<Patch>& patches_;
  ParseReport& report_;
  std::vector<Frame> frames_;
  bool key_on_path_ = false;
  bool items_seen_ = false;
  std::size_t items_depth_ = 0;  // depth of the open item array, 0: none open
  std::size_t item_count_ = 0;
  std::size_t current_item_ = 0;
  int skip_level_ = 0;
  std::size_t next_patch_ = 0;
  std::optional<std::size_t> too_deep_at_;
  std::string repaired_;
};

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// The code unit of the \uXXXX escape at text[i], if there is one.
std::optional<unsigned> escape_at(std::string_view text, std::size_t i) {
  if (i + 6 > text.size() || text[i] != '\\' || text[i + 1] != 'u') return std::nullopt;
  unsigned value = 0;
  for (std::size_t k = i + 2; k < i + 6; ++k) {
    if (!is_hex(text[k])) return std::nullopt;
    value = value * 16 + static_cast<unsigned>(text[k] <= '9' ? text[k] - '0' : (text[k] | 0x20) - 'a' + 10);
  }
  return value;
}

// Rewrites every \uXXXX escape of a UTF-16 surrogate that is not part of a pair as \uFFFD (same
// length, so offsets stay). Escapes are read pairwise from each backslash, so an escaped backslash
// followed by "ud800" is left alone.
void patch_lone_surrogates(std::string& text, std::vector<Patch>& patches) {
  for (std::size_t i = text.find('\\'); i != std::string::npos && i < text.size(); i = text.find('\\', i)) {
    const auto unit = escape_at(text, i);
    if (!unit) {
      i += 2;
      continue;
    }
    if (*unit >= 0xD800 && *unit <= 0xDBFF) {
      const auto next = escape_at(text, i + 6);
      if (next && *next >= 0xDC00 && *next <= 0xDFFF) {
        i += 12;
        continue;
      }
    } else if (*unit < 0xDC00 || *unit > 0xDFFF) {
      i += 6;
      continue;
    }
    text.replace(i, 6, "\\uFFFD");
    patches.push_back({i, PatchKind::Unicode});
    i += 6;
  }
}

bool number_char(char c) { return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'; }

// Replaces the number token at `offset` by `null` padded with spaces (same length).
bool patch_number(std::string& text, std::size_t offset, std::vector<Patch>& patches) {
  std::size_t end = offset;
  while (end < text.size() && number_char(text[end])) ++end;
  if (end - offset < 4) return false;  // cannot happen for a number beyond a double
  text.replace(offset, end - offset, std::string("null") + std::string(end - offset - 4, ' '));
  patches.push_back({offset, PatchKind::Number});
  return true;
}

// Every number outside strings that overflows a double, patched in one pass (then one re-parse
// usually suffices).
void patch_big_numbers(std::string& text, std::vector<Patch>& patches) {
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    if (c != '-' && (c < '0' || c > '9')) continue;
    std::size_t end = i;
    while (end < text.size() && number_char(text[end])) ++end;
    const std::string token = text.substr(i, end - i);
    char* stop = nullptr;
    errno = 0;
    const double value = std::strtod(token.c_str(), &stop);
    if (errno == ERANGE && (value > 1.0 || value < -1.0)) patch_number(text, i, patches);
    i = end - 1;
  }
}

void sort_patches(std::vector<Patch>& patches) {
  std::sort(patches.begin(), patches.end(), [](const Patch& a, const Patch& b) { return a.offset < b.offset; });
}

std::string describe(rapidjson::ParseErrorCode code, std::size_t offset) {
  return "invalid JSON at byte " + std::to_string(offset) + ": " + rapidjson::GetParseError_En(code);
}

}  // namespace

const ItemNote* ParseReport::note(std::size_t index) const {
  auto it = std::lower_bound(items.begin(), items.end(), index,
                             [](const ItemNote& note, std::size_t i) { return note.index < i; });
  return it != items.end() && it->index == index ? &*it : nullptr;
}

std::expected<ParseReport, ParseError> parse_in_place(rapidjson::Document& document, std::string& text,
                                                      const ParseOptions& options) {
  // In situ, strings stay where they are in `text`. A failed in-situ parse has overwritten part of
  // the text, so a copy is kept for the rare document that needs patching (or to word the error).
  std::string original = text;
  InsituStream stream(text.data());
  ParseReport report;
  const std::vector<Patch> no_patches;
  Builder<InsituStream> builder(document, options, stream, no_patches, report);
  rapidjson::Reader reader;
  rapidjson::ParseResult result;
  auto generate = [&](rapidjson::Document&) {
    result = reader.Parse<kFlags | rapidjson::kParseInsituFlag>(stream, builder);
    return !result.IsError();
  };
  document.Populate(generate);
  if (!result.IsError() && stream.Tell() == original.size()) return report;
  document.SetNull();
  if (const auto at = builder.too_deep_at()) {
    return std::unexpected(ParseError{
        "nested deeper than " + std::to_string(options.max_depth) + " levels at byte " + std::to_string(*at), *at});
  }
  text = std::move(original);
  return parse(document, text, options);
}

std::expected<ParseReport, ParseError> parse(rapidjson::Document& document, std::string_view text,
                                             const ParseOptions& options) {
  std::string patched;  // a copy of `text`, made only when something must be patched
  std::vector<Patch> patches;
  bool surrogates_patched = false, numbers_patched = false;
  for (int round = 0;; ++round) {
    const std::string_view current = patched.empty() ? text : std::string_view(patched);
    rapidjson::MemoryStream memory(current.data(), current.size());
    Stream stream(memory);
    ParseReport report;
    Builder<Stream> builder(document, options, stream, patches, report);
    rapidjson::Reader reader;
    rapidjson::ParseResult result;
    auto generate = [&](rapidjson::Document&) {
      result = reader.Parse<kFlags>(stream, builder);
      return !result.IsError();
    };
    document.Populate(generate);
    if (!result.IsError()) {
      if (stream.Tell() < current.size()) {  // MemoryStream reads a NUL byte as the end of the text
        document.SetNull();
        return std::unexpected(ParseError{"invalid JSON at byte " + std::to_string(stream.Tell()) + ": a NUL byte",
                                          stream.Tell()});
      }
      return report;
    }
    document.SetNull();
    if (const auto at = builder.too_deep_at()) {
      return std::unexpected(ParseError{
          "nested deeper than " + std::to_string(options.max_depth) + " levels at byte " + std::to_string(*at), *at});
    }
    const auto code = result.Code();
    const std::size_t offset = result.Offset();
    if (patched.empty()) patched.assign(text);
    if (code == rapidjson::kParseErrorStringUnicodeSurrogateInvalid && !surrogates_patched) {
      surrogates_patched = true;
      patch_lone_surrogates(patched, patches);
    } else if (code == rapidjson::kParseErrorNumberTooBig && round < kMaxNumberRounds) {
      if (!numbers_patched) {
        numbers_patched = true;
        patch_big_numbers(patched, patches);
      }
      const bool covered = std::any_of(patches.begin(), patches.end(), [&](const Patch& p) { return p.offset == offset; });
      if (!covered && !patch_number(patched, offset, patches)) return std::unexpected(ParseError{describe(code, offset), offset});
    } else {
      return std::unexpected(ParseError{describe(code, offset), offset});
    }
    sort_patches(patches);
  }
}

}  // namespace kfc::json
