#pragma once
// Parsing JSON that crosses a trust boundary: TAXII pages, listen-queue messages, GraphQL and OpenTIP
// answers, the entity export, the state and cache files. The rules (README.md in this folder):
//  - no recursion: a document nested 1,000,000 levels deep is an error for that document (or that
//    item, below), never a stack overflow; nothing deeper than the limit is ever built, so the code
//    that later walks the document recursively (copies, writers, comparisons) stays bounded too;
//  - text that is not valid Unicode (invalid UTF-8, lone UTF-16 surrogate escapes) is kept with
//    U+FFFD in place of each bad sequence, and counted;
//  - a number too large for a double becomes null, and is counted;
//  - items: the elements of one array of the document (e.g. a TAXII envelope's `objects`) can be
//    judged one by one — an item nested too deeply is cut off (its deep part becomes null) and
//    flagged instead of failing the whole document, and every repair is attributed to its item.
#include <cstddef>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

namespace kfc::json {

inline constexpr int kDefaultMaxDepth = 64;

struct ParseOptions {
  // Containers open at once, the root counting as 1. Deeper: the document is refused.
  int max_depth = kDefaultMaxDepth;
  // Member names leading from the root object to the array whose elements are items ({"objects"}
  // for a TAXII envelope). Empty: the document has no items.
  std::vector<std::string_view> item_path;
  // Nesting allowed inside one item, the item itself counting as 1. Deeper: the item is flagged.
  int max_item_depth = kDefaultMaxDepth;
};

// What was repaired or cut in one item (only items with something to report are listed).
struct ItemNote {
  std::size_t index = 0;              // position in the item array
  std::size_t unicode_repairs = 0;    // bad sequences replaced by U+FFFD
  std::size_t numbers_replaced = 0;   // numbers out of range replaced by null
  bool too_deep = false;              // nested deeper than max_item_depth: its deep part is null
};

struct ParseReport {
  std::size_t unicode_repairs = 0;    // in the whole document
  std::size_t numbers_replaced = 0;
  std::vector<ItemNote> items;        // by ascending index

  // The note of item `index`, or nullptr when it parsed as sent.
  const ItemNote* note(std::size_t index) const;
  bool repaired() const { return unicode_repairs > 0 || numbers_replaced > 0; }
};

struct ParseError {
  std::string message;  // "invalid JSON at byte 12: Missing a comma …", "nested deeper than 64 levels at byte 9"
  std::size_t offset = 0;
};

// Parses `text` into `document` (which keeps its own copy of every string: `text` may go away).
// On error `document` is left null.
std::expected<ParseReport, ParseError> parse(rapidjson::Document& document, std::string_view text,
                                             const ParseOptions& options = {});

// The same, in situ for speed: strings of `document` point into `text`, which must outlive it and is
// overwritten (on an error it is restored).
std::expected<ParseReport, ParseError> parse_in_place(rapidjson::Document& document, std::string& text,
                                                      const ParseOptions& options = {});

// `text` with every invalid UTF-8 sequence (including an encoded UTF-16 surrogate) replaced by
// U+FFFD; returns how many were replaced (0: `out` is left untouched).
std::size_t repair_utf8(std::string_view text, std::string& out);
bool is_valid_utf8(std::string_view text);

}  // namespace kfc::json
